# Regenerates the malformed model files of this folder and expected.json (run: python3 make_bad_models.py).
import json, copy, os
os.chdir(os.path.dirname(os.path.abspath(__file__)))
base = {
  "schema": "osteogrn-model/1",
  "name": "bad",
  "references": {"ref1": "Someone (2001) Journal 1:1"},
  "inputs": {"dex": {"default": 0, "unit": "nM"}},
  "species": {"Runx2": {"initial": 0.1}, "Sp7": {"initial": 0}},
  "parameters": {
    "k": {"value": 1, "min": 0, "max": 10, "source": "ref1"},
    "d": {"value": 0.5, "source": "assumed: illustrative"}
  },
  "expressions": {"drive": "k * dex / (1 + dex)"},
  "odes": {"Runx2": "drive - d * Runx2", "Sp7": "Runx2 - d * Sp7"},
  "observables": {"total": "Runx2 + Sp7"}
}
cases = {}
def case(fname, mutate, typ, pointer, contains=(), error_file=None, raw=None):
    if raw is None:
        m = copy.deepcopy(base)
        mutate(m)
        text = json.dumps(m, indent=2)
    else:
        text = raw
    open(fname, 'w').write(text if text.endswith('\n') else text + '\n')
    e = {"type": typ, "pointer": pointer}
    if contains: e["contains"] = list(contains)
    if error_file: e["file"] = error_file
    cases[fname] = e

def delete(key):
    return lambda m: m.pop(key)
def setp(path, value):
    def f(m):
        d = m
        for k in path[:-1]: d = d[k]
        d[path[-1]] = value
    return f
def many(*fs):
    def f(m):
        for g in fs: g(m)
    return f

case("missing_schema.json", delete("schema"), "ModelError", "/schema", ["missing"])
case("wrong_schema.json", setp(["schema"], "osteogrn-model/2"), "ModelError", "/schema", ["osteogrn-model/2"])
case("schema_not_string.json", setp(["schema"], 1), "ModelError", "/schema", ["must be a string"])
case("missing_name.json", delete("name"), "ModelError", "/name", ["missing"])
case("unknown_top_key.json", setp(["specis"], {}), "ModelError", "/specis", ["unknown key 'specis'", "valid keys"])
case("unknown_species_key.json", setp(["species", "Sp7"], {"inital": 0}), "ModelError", "/species/Sp7/inital", ["unknown key 'inital'"])
case("species_not_object.json", setp(["species"], ["Runx2", "Sp7"]), "ModelError", "/species", ["must be an object"])
case("initial_wrong_type.json", setp(["species", "Sp7", "initial"], [0]), "ModelError", "/species/Sp7/initial", ["must be a number or an expression"])
case("initial_missing.json", setp(["species", "Sp7"], {"unit": "au"}), "ModelError", "/species/Sp7/initial", ["missing"])
case("initial_boolean.json", setp(["species", "Sp7", "initial"], True), "ModelError", "/species/Sp7/initial", ["must be a number"])
case("empty_species.json", many(setp(["species"], {}), setp(["odes"], {})), "ModelError", "/species", ["non-empty"])
case("time_unit_hours.json", setp(["time_unit"], "hour"), "ModelError", "/time_unit", ["hour"])
case("param_value_string.json", setp(["parameters", "k", "value"], "1.0"), "ModelError", "/parameters/k/value", ["must be a number"])
case("param_out_of_bounds.json", setp(["parameters", "k", "value"], 20), "ModelError", "/parameters/k/value", ["outside its bounds"])
case("param_negative_default_min.json", setp(["parameters", "d", "value"], -0.5), "ModelError", "/parameters/d/value", ["outside its bounds"])
case("param_min_gt_max.json", setp(["parameters", "k"], {"value": 1, "min": 5, "max": 2, "source": "ref1"}), "ModelError", "/parameters/k", ["min > max"])
case("param_missing_source.json", setp(["parameters", "k"], {"value": 1}), "ModelError", "/parameters/k/source", ["missing source"])
case("param_unknown_reference.json", setp(["parameters", "k", "source"], "ref2"), "ModelError", "/parameters/k/source", ["'ref2'", "did you mean 'ref1'"])
case("assumed_without_reason.json", setp(["parameters", "d", "source"], "assumed:  "), "ModelError", "/parameters/d/source", ["reason"])
case("param_missing_value.json", setp(["parameters", "k"], {"source": "ref1"}), "ModelError", "/parameters/k/value", ["missing value"])
raw_inf = json.dumps(base, indent=2).replace('"value": 0.5', '"value": 1e999')
case("nonfinite_value.json", None, "ModelError", "/parameters/d/value", ["finite"], raw=raw_inf)
raw_inf2 = json.dumps(base, indent=2).replace('"default": 0', '"default": -1e999')
case("nonfinite_default.json", None, "ModelError", "/inputs/dex/default", ["finite"], raw=raw_inf2)
case("unknown_name_in_ode.json", many(setp(["species"], {"Runx2": {"initial": 0.1}, "Sp7": {"initial": 0}}), setp(["odes", "Sp7"], "Runx - d * Sp7")), "ModelError", "/odes/Sp7", ["unknown name 'Runx'", "did you mean 'Runx2'"])
case("unknown_name_in_expression.json", setp(["expressions", "drive"], "k * dexa"), "ModelError", "/expressions/drive", ["unknown name 'dexa'", "did you mean 'dex'"])
case("unknown_name_in_observable.json", setp(["observables", "total"], {"expression": "Runx2 + Osx", "unit": "au"}), "ModelError", "/observables/total/expression", ["unknown name 'Osx'"])
case("observable_uses_observable.json", setp(["observables", "twice"], "2 * total"), "ModelError", "/observables/twice", ["observable"])
case("ode_for_unknown_species.json", setp(["odes", "Osx"], "1 - Osx"), "ModelError", "/odes/Osx", ["not a species"])
case("ode_for_parameter.json", setp(["odes", "k"], "1"), "ModelError", "/odes/k", ["parameter, not a species"])
case("species_without_ode.json", lambda m: m["odes"].pop("Sp7"), "ModelError", "/odes/Sp7", ["species 'Sp7' has no ODE"])
case("missing_odes.json", delete("odes"), "ModelError", "/odes", ["missing"])
case("ode_not_string.json", setp(["odes", "Sp7"], 1.5), "ModelError", "/odes/Sp7", ["must be a string"])
case("expression_cycle.json", many(setp(["expressions", "e1"], "e2 + 1"), setp(["expressions", "e2"], "drive * e1")), "ModelError", "/expressions/e1", ["cycle"])
case("expression_self_cycle.json", setp(["expressions", "drive"], "k * drive"), "ModelError", "/expressions/drive", ["cycle"])
case("parse_error.json", setp(["odes", "Runx2"], "drive - d * * Runx2"), "ParseError", "/odes/Runx2", ["position"])
case("parse_error_unbalanced.json", setp(["expressions", "drive"], "k * (dex / (1 + dex)"), "ParseError", "/expressions/drive", ["position"])
case("invalid_json.json", None, "ModelError", "", ["invalid JSON", "line 4"], raw='{\n  "schema": "osteogrn-model/1",\n  "name": "bad",\n  "species": {"A": {"initial": 1,}}\n}\n')
case("top_level_array.json", None, "ModelError", "", ["must be an object"], raw='[1, 2, 3]\n')
case("reserved_word_species.json", many(setp(["species", "t"], {"initial": 1}), setp(["odes", "t"], "-t")), "ModelError", "/species/t", ["reserved word"])
case("reserved_function_name.json", setp(["parameters", "exp"], {"value": 1, "source": "ref1"}), "ModelError", "/parameters/exp", ["reserved word"])
case("bad_identifier.json", setp(["parameters", "2k"], {"value": 1, "source": "ref1"}), "ModelError", "/parameters/2k", ["not a valid name"])
case("bad_identifier_dash.json", setp(["inputs", "bmp-2"], {"default": 0}), "ModelError", "/inputs/bmp-2", ["not a valid name"])
case("duplicate_name.json", setp(["parameters", "Sp7"], {"value": 1, "source": "ref1"}), "ModelError", "/parameters/Sp7", ["already declared at /species/Sp7"])
case("duplicate_across_modules.json", many(setp(["imports"], ["lib_runx"]), lambda m: m["species"].update({"Osx": {"initial": 0}}), lambda m: m["odes"].update({"Osx": "-Osx"})), "ModelError", "/species/Osx", ["module 'lib_runx'", "module 'bad'"])
case("import_cycle.json", setp(["imports"], ["cyc_a"]), "ModelError", "/imports/0", ["import cycle", "cyc_a -> cyc_b -> cyc_a"], error_file="lib/cyc_b.json")
case("missing_import.json", setp(["imports"], ["no_such_module"]), "ModelError", "/imports/0", ["cannot find module 'no_such_module'", "lib"])
case("import_name_mismatch.json", setp(["imports"], ["misnamed"]), "ModelError", "/name", ["imported as 'misnamed'"], error_file="lib/misnamed.json")
case("imports_not_array.json", setp(["imports"], "lib_runx"), "ModelError", "/imports", ["must be an array"])
case("input_named_like_parameter.json", many(setp(["imports"], ["lib_runx"]), setp(["inputs", "k_osx"], {"default": 1})), "ModelError", "/inputs/k_osx", ["ports bind only to species or expressions"])
case("connect_unknown_input.json", many(setp(["imports"], ["lib_runx"]), setp(["connect"], {"sgnal": "Runx2"})), "ModelError", "/connect/sgnal", ["not an input", "did you mean 'signal'"])
case("connect_unknown_name.json", many(setp(["imports"], ["lib_runx"]), setp(["connect"], {"signal": "Runx3 * 2"})), "ModelError", "/connect/signal", ["unknown name 'Runx3'"])
case("perturbation_unknown_species.json", setp(["perturbations"], [{"knockout": "Sp8"}]), "ModelError", "/perturbations/0/knockout", ["unknown species 'Sp8'", "did you mean 'Sp7'"])
case("perturbation_bad_window.json", setp(["perturbations"], [{"knockout": "Sp7", "from": 5, "until": 2}]), "ModelError", "/perturbations/0/until", ["greater"])
case("perturbation_unknown_kind.json", setp(["perturbations"], [{"inhibit": "Sp7"}]), "ModelError", "/perturbations/0", ["knockout"])
# Read by the protocols' codec and rules since issue 10 (these used to differ between the two).
case("perturbation_clamp_without_value.json", setp(["perturbations"], [{"clamp": "Sp7"}]), "ModelError", "/perturbations/0", ["a clamp needs a 'value'"])
case("perturbation_knockout_with_value.json", setp(["perturbations"], [{"knockout": "Sp7", "value": 1}]), "ModelError", "/perturbations/0/value", ["takes no value"])
case("perturbation_empty_target.json", setp(["perturbations"], [{"knockout": ""}]), "ModelError", "/perturbations/0/knockout", ["must not be empty"])
case("perturbation_negative_from.json", setp(["perturbations"], [{"parameter": "k", "scale": 2, "from": -1}]), "ModelError", "/perturbations/0/from", ["must be >= 0, got -1"])
case("observable_missing_expression.json", setp(["observables", "total"], {"unit": "au"}), "ModelError", "/observables/total/expression", ["missing"])
case("expression_not_string.json", setp(["expressions", "drive"], {"text": "k"}), "ModelError", "/expressions/drive", ["must be a string"])

case("input_conflict.json", many(setp(["imports"], ["lib_runx"]), setp(["inputs", "signal"], {"default": 2})), "ModelError", "/inputs/signal", ["different unit or default", "lib_runx"])
case("source_wrong_type.json", setp(["parameters", "k", "source"], ["ref1"]), "ModelError", "/parameters/k/source", ["must be a string"])
raw_dup = json.dumps(base, indent=2).replace('"Sp7": {\n      "initial": 0\n    }', '"Sp7": {\n      "initial": 0\n    },\n    "Runx2": {"initial": 3}')
assert raw_dup.count('"Runx2": {"initial": 3}') == 1
case("duplicate_json_key.json", None, "ModelError", "/species/Runx2", ["duplicate key 'Runx2'"], raw=raw_dup)
raw_arr = json.dumps(dict(base, perturbations=[{"knockout": "Sp7"}, {"parameter": "k", "value": "HUGE"}]), indent=2).replace('"HUGE"', '1e400')
case("nonfinite_in_array.json", None, "ModelError", "/perturbations/1/value", ["out of range"], raw=raw_arr)
case("connect_cycle.json", many(setp(["imports"], ["lib_runx"]), setp(["connect"], {"signal": "drive + 0.1 * Osx"}), setp(["expressions", "drive"], "k * signal")), "ModelError", "/expressions/drive", ["cycle", "drive -> signal -> drive"])
json.dump(cases, open("expected.json", "w"), indent=2, sort_keys=True)
print(len(cases))
