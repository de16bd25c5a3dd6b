"""og.SolverOptions: one options object bound from C++ (defaults stated once, in simulate.hpp),
accepted by simulate, simulate_batch and fit with keywords as overrides; the stub _core.pyi
matches the binding."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

import osteogrn as og
from osteogrn import _core
from osteogrn.fitting.fit import FIT_SOLVER_DEFAULTS, make_problem

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "bindings" / "python" / "osteogrn"
FIELDS = ["method", "rtol", "atol", "max_steps", "max_step", "linear_solver", "record_steps",
          "raise_on_failure", "sensitivities"]


def test_fields_and_values_come_from_cpp():
    opts = og.SolverOptions()
    assert list(opts.to_dict()) == FIELDS
    # The C++ defaults (simulate.hpp) as Python values; names of enums as str.
    assert opts.to_dict() == dict(method="cvode_bdf", rtol=1e-6, atol=1e-9, max_steps=100_000,
                                  max_step=0.0, linear_solver="dense", record_steps=False,
                                  raise_on_failure=True, sensitivities=())
    assert isinstance(opts.method, str) and isinstance(opts.max_steps, int)


def test_keyword_construction_replace_equality_repr_pickle():
    a = og.SolverOptions(method="cvode_adams", rtol=1e-8, sensitivities="k")
    assert a.method == "cvode_adams" and a.rtol == 1e-8 and a.sensitivities == ("k",)
    assert a.atol == og.SolverOptions().atol  # untouched fields keep the default
    b = a.replace(rtol=1e-6)
    assert b.rtol == 1e-6 and a.rtol == 1e-8  # immutable: replace returns a copy
    assert b != a and b.replace(rtol=1e-8) == a and a != "cvode_adams"
    with pytest.raises(AttributeError):
        a.rtol = 1.0  # type: ignore[misc]
    assert repr(a).startswith("SolverOptions(method='cvode_adams', rtol=1e-08, ")
    assert "sensitivities=('k',)" in repr(a)
    for copy in (pickle.loads(pickle.dumps(a)), og.SolverOptions(**a.to_dict())):
        assert copy == a and copy is not a
    assert og.SolverOptions(max_steps=1e5).max_steps == 100_000  # an integral float is fine


def test_enums_take_names_and_print_as_names():
    assert [m.value for m in og.Method] == list(_core.Method.__members__) == list(og.METHODS)
    assert [s.value for s in og.LinearSolver] == list(_core.LinearSolver.__members__)
    assert str(og.Method.dopri5) == "dopri5" and f"{og.LinearSolver.klu}" == "klu"
    assert og.Method.dopri5 == "dopri5" and og.Method("rosenbrock4") is og.Method.rosenbrock4
    for method in (og.Method.cvode_adams, "cvode_adams", _core.Method.cvode_adams):
        assert og.SolverOptions(method=method).method == og.Method.cvode_adams
    assert og.SolverOptions(linear_solver=og.LinearSolver.klu).linear_solver == "klu"
    assert pickle.loads(pickle.dumps(og.Method.dopri5)) is og.Method.dopri5


@pytest.mark.parametrize("changes, field", [
    (dict(rtol=0), "rtol"),
    (dict(rtol="tight"), "rtol"),
    (dict(atol=-1.0), "atol"),
    (dict(max_steps=0), "max_steps"),
    (dict(max_steps=1.5), "max_steps"),
    (dict(max_steps=2**70), "max_steps"),
    (dict(max_steps="many"), "max_steps"),
    (dict(max_step=float("nan")), "max_step"),
    (dict(method="rk45"), "method"),
    (dict(method=3), "method"),
    (dict(linear_solver="lu"), "linear_solver"),
    (dict(linear_solver="klu", method="dopri5"), "linear_solver"),
    (dict(sensitivities=5), "sensitivities"),
    (dict(sensitivities=["a", 1]), "sensitivities"),
    (dict(sensitivities=["a", "a"]), "sensitivities"),
    (dict(sensitivities=["a"], method="dopri5"), "sensitivities"),
    (dict(tolerance=1e-3), "tolerance"),
])
def test_bad_values_are_option_errors_naming_the_field(changes, field):
    with pytest.raises(og.OptionError, match=field):
        og.SolverOptions(**changes)
    with pytest.raises(og.OptionError, match=field):
        og.SolverOptions().replace(**changes)


def test_simulate_takes_options_and_keywords_override_them(small_model, dex_protocol):
    few = og.SolverOptions(max_steps=5, raise_on_failure=False)
    res = og.simulate(small_model, dex_protocol, options=few)
    assert res.status == og.ReturnCode.max_steps and res.stats["steps"] == 5
    # A keyword overrides the options object's field; the others stay.
    res = og.simulate(small_model, dex_protocol, options=few, max_steps=100_000)
    assert res.success
    with pytest.raises(og.SolverError):
        og.simulate(small_model, dex_protocol, options=few, raise_on_failure=True)
    same = og.simulate(small_model, dex_protocol, options=og.SolverOptions(method="dopri5"))
    kw = og.simulate(small_model, dex_protocol, method="dopri5")
    assert res.method == "cvode_bdf" and same.method == kw.method == "dopri5"
    np.testing.assert_array_equal(same.species, kw.species)
    # A mapping of fields works too; anything else is an OptionError.
    assert og.simulate(small_model, dex_protocol, options={"method": "dopri5"}).method == "dopri5"
    with pytest.raises(og.OptionError, match="options must be"):
        og.simulate(small_model, dex_protocol, options=3)


def test_simulate_batch_takes_options_and_keywords_override_them(small_model, dex_protocol):
    opts = og.SolverOptions(method="dopri5", max_steps=5)
    b = og.simulate_batch(small_model, dex_protocol, options=opts, threads=1)
    assert b.failed.all() and (b.codes == og.ReturnCode.max_steps).all()
    assert b.solver_options == opts
    b = og.simulate_batch(small_model, dex_protocol, options=opts, max_steps=100_000, threads=1)
    assert not b.failed.any() and b.solver_options == opts.replace(max_steps=100_000)
    serial = og.simulate(small_model, dex_protocol, method="dopri5")
    np.testing.assert_array_equal(b.values[0, 0], np.hstack([serial.species, serial.observables]))
    with pytest.raises(og.OptionError, match="sensitivities"):
        og.simulate_batch(small_model, dex_protocol, sensitivities=["k_alp"])
    with pytest.raises(og.OptionError, match="sensitivities"):
        og.simulate_batch(small_model, dex_protocol,
                          options=og.SolverOptions(sensitivities=["k_alp"]))


def _problem(model, protocol, gradient="auto", options=None, **kw):
    data = {"condition": ["c"] * 2, "time": [1.0, 2.0], "observable": ["ALP"] * 2,
            "value": [1.0, 2.0]}
    import pandas as pd
    return make_problem(model, pd.DataFrame(data), {"c": protocol}, {"k_alp": (0.5, 2.0)}, None,
                        True,
                        gradient, 1e-4, kw, options)


def test_fit_overrides_are_documented_overrides_of_the_one_options_object(small_model,
                                                                          dex_protocol):
    sens = _problem(small_model, dex_protocol)
    fd = _problem(small_model, dex_protocol, gradient="fd")
    base = og.SolverOptions().to_dict()
    for pb, grad in ((sens, "sensitivities"), (fd, "fd")):
        expect = {k: v for k, v in base.items()
                  if k not in ("sensitivities", "raise_on_failure", "record_steps")}
        expect.update(FIT_SOLVER_DEFAULTS[grad])
        assert pb.solver_options == expect
    # Keywords override the fitting overrides; an explicit options object is used as given.
    assert _problem(small_model, dex_protocol, rtol=1e-5).solver_options["rtol"] == 1e-5
    given = og.SolverOptions(rtol=1e-4, max_steps=777)
    pb = _problem(small_model, dex_protocol, options=given)
    assert pb.solver_options["rtol"] == 1e-4 and pb.solver_options["max_steps"] == 777
    assert pb.solver_options["atol"] == given.atol
    with pytest.raises(og.OptionError, match="record_steps"):
        _problem(small_model, dex_protocol, record_steps=True)
    with pytest.raises(og.OptionError, match="method"):
        _problem(small_model, dex_protocol, method="rk45")


def test_defaults_are_stated_once():
    """No file but simulate.hpp restates a solver default."""
    files = [PKG / "simulation.py", PKG / "batch.py", PKG / "fitting" / "fit.py",
             PKG / "_core.pyi", ROOT / "bindings" / "bind_simulate.cpp",
             ROOT / "bindings" / "bind_batch.cpp"]
    field = r"(rtol|atol|max_steps|max_step|method|linear_solver)"
    pattern = re.compile(field + r"\b[^,\n]*?=\s*(1e-0?6|1e-0?9|100_?000|\"cvode_bdf\"|"
                         r"\"dense\"|0\.0)(?![\w.])|py::arg\(\"" + field + r"\"\)\s*=")
    for path in files:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0] if path.suffix in (".py", ".pyi") else line.split("//")[0]
            assert not pattern.search(code), f"{path.name}:{n} restates a default: {line}"


# -- the stub matches the binding ------------------------------------------------------
def _stub() -> ast.Module:
    return ast.parse((PKG / "_core.pyi").read_text())


def _stub_class(name: str) -> ast.ClassDef:
    for node in _stub().body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    pytest.fail(f"_core.pyi has no class {name}")


def _stub_function(name: str) -> ast.FunctionDef:
    for node in _stub().body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    pytest.fail(f"_core.pyi has no function {name}")


def _binding_parameters(func) -> list:
    """Parameter names from pybind11's signature line 'name(a: T, b: U = ...) -> R'."""
    line = func.__doc__.splitlines()[0]
    inner = line[line.index("(") + 1:line.rindex(") ->")]
    names, depth, current = [], 0, ""
    for ch in inner + ",":
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            names.append(current.split(":")[0].strip())
            current = ""
        else:
            current += ch
    return [n for n in names if n]


@pytest.mark.parametrize("name", ["Method", "LinearSolver", "ReturnCode"])
def test_stub_enums_match_the_binding(name):
    members = [node.target.id for node in _stub_class(name).body
               if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
               and not node.target.id.startswith("_") and node.target.id != "name"]
    assert members == list(getattr(_core, name).__members__)


def test_stub_solver_options_matches_the_binding():
    cls = _stub_class("SolverOptions")
    properties = [node.name for node in cls.body if isinstance(node, ast.FunctionDef)
                  and any(isinstance(d, ast.Name) and d.id == "property"
                          for d in node.decorator_list)]
    bound = [name for name, value in vars(_core.SolverOptions).items()
             if isinstance(value, property)]
    assert sorted(properties) == sorted(bound) and properties == FIELDS
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    assert [a.arg for a in init.args.kwonlyargs] == FIELDS
    # No default restated: every keyword's default is "...".
    assert all(isinstance(d, ast.Constant) and d.value is Ellipsis
               for d in init.args.kw_defaults)
    methods = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    assert {"replace", "to_dict"} <= methods
    assert all(callable(getattr(_core.SolverOptions, m)) for m in ("replace", "to_dict"))


@pytest.mark.parametrize("name", ["simulate", "simulate_batch", "check_batch", "default_times",
                                  "return_code_hint"])
def test_stub_functions_match_the_binding(name):
    stub = _stub_function(name)
    assert [a.arg for a in stub.args.args] == _binding_parameters(getattr(_core, name))
