"""osteogrn against its peers: one command, one table of ratios measured in the same run.

    python benchmarks/run.py            # all parts (about 10 minutes on 2 cores)
    python benchmarks/run.py --reps 5 --sizes 10,100 --skip rhs   # a quick look

a. per simulation: `osteogenic` under `osteogenic_medium` (21 days, 6 media changes, 7 segments),
   rtol 1e-6, atol 1e-9: osteogrn (cvode_bdf, rosenbrock4, dopri5) against scipy solve_ivp (BDF,
   LSODA) on a Python/numpy right-hand side generated from the same model JSON
   (model_codegen.py), driven segment by segment with the same closed-form inputs, and
   libRoadRunner and AMICI on the model as SBML with the media changes as events (one run each,
   as their users run a protocol; peers.py).
a2. the same with forward sensitivities for six parameters: osteogrn against AMICI (and
   libRoadRunner's forward sensitivity solver, timed only where its answer agrees).
b. right-hand-side cost: the compiled tape against hand-written C++ (bench_rhs, Google Benchmark).
c. model size: synthetic GRNs (grn_generator.py) of 10-1000 genes (--sizes; 5,000 and 10,000
   with --sizes 5000,10000), 21 days, 7 media changes: load+compile time and simulate time,
   dense LU (up to --dense-max genes), KLU (up to --klu-max) and GMRES + ILU(0).
d. batch throughput: og.simulate_batch of 10,000 parameter sets of osteogenic under
   osteogenic_medium on 1 and 2 threads (sets per second and the scaling ratio).
e. imported SBML models (sbml_models.py): SBML Test Suite cases and published models of the
   PEtab benchmark collection in osteogrn (og.import_sbml), libRoadRunner and AMICI, same
   document, tolerances and output times, agreement checked at rtol 1e-10 before timing.

Timings are medians of interleaved repetitions (the contenders alternate inside one loop, in
a rotating order); parts a, a2 and e (single-threaded contenders) time the process's CPU time,
c and d wall time. Every contender's final state is checked against a tight-tolerance osteogrn
reference (rtol 1e-10): a disagreement above 1e-4 relative aborts the run. Nothing here asserts
an absolute time; the tables report ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import grn_generator  # noqa: E402
import model_codegen  # noqa: E402
import osteogrn as og  # noqa: E402

RTOL, ATOL = 1e-6, 1e-9
AGREE = 1e-4
# Sensitivities at rtol 1e-6 carry the error of the solution they differentiate, amplified
# by the staggered corrector: checked to 1e-3 relative (on the same 1e-6-of-largest floor).
SENS_AGREE = 1e-3
# The SBML Test Suite and the PEtab benchmark problems sit in shared/ beside the checkout;
# the environment variables name other copies.
SUITE = Path(os.environ.get("SBML_TEST_SUITE_CASES",
                            ROOT.parent / "shared" / "sbml-test-suite" / "cases"))
PETAB = Path(os.environ.get("PETAB_BENCHMARKS", ROOT.parent / "shared" / "petab-benchmarks"))
SUITE_CASES = "00024,01395,01047"  # 01047: two events
PETAB_PROBLEMS = ("Boehm_JProteomeRes2014,Crauste_CellSystems2017,Elowitz_Nature2000,"
                  "Borghans_BiophysChem1997,Bruno_JExpBot2016,Sneyd_PNAS2002,Brannmark_JBC2010")


def rel_error(y, ref) -> float:
    """Largest per-species relative difference; values below 1e-6 of the largest species
    are compared on that absolute scale (a species that decays to ~0 has no relative digits)."""
    y, ref = np.asarray(y, float), np.asarray(ref, float)
    scale = np.maximum(np.abs(ref), 1e-6 * np.max(np.abs(ref)))
    return float(np.max(np.abs(y - ref) / scale))


def interleaved(contenders: dict, reps: int, clock=time.perf_counter) -> dict:
    """Runs every contender `reps` times, alternating them in a rotating order; returns
    name -> (median seconds, final state of the last run).

    ``clock=time.process_time`` measures the process's CPU time instead of wall time: the
    fair measure for single-threaded contenders on a shared machine, where a run longer than
    a scheduler time slice waits for the CPU (at load 15 on 2 cores a 7 ms-CPU run took 35 ms
    of wall time) and a short one mostly does not, so wall-time ratios would favour whoever
    is faster anyway."""
    times = {k: [] for k in contenders}
    last = {}
    names = list(contenders)
    for r in range(reps):
        for k in names[r % len(names):] + names[:r % len(names)]:
            t0 = clock()
            last[k] = contenders[k]()
            times[k].append(clock() - t0)
    return {k: (statistics.median(v), last[k]) for k, v in times.items()}


def cpu_interleaved(contenders: dict, reps: int) -> dict:
    """:func:`interleaved` on CPU time (single-threaded contenders: parts a, a2 and e)."""
    return interleaved(contenders, reps, clock=time.process_time)


def segments(model: og.Model, proto: og.Protocol):
    """[(t0, t1, c0)]: the inputs at each segment start (after the change), plus the decay
    rate of each input; the closed form c0 exp(-k (t - t0)) is checked against osteogrn's
    Schedule inside every segment."""
    sched = og._core.Schedule(proto._core, model._core)
    comps = proto.components
    names = model.inputs
    rates = []
    for u in names:
        hl = comps.get(u, {}).get("half_life")
        rates.append(math.log(2.0) / hl if hl else 0.0)
    bps = list(sched.breakpoints)
    segs = []
    for t0, t1 in zip(bps[:-1], bps[1:]):
        c0 = np.asarray(sched.inputs_at(t0, len(names)), float)
        for frac in (0.37, 0.99):
            t = t0 + frac * (t1 - t0)
            want = np.asarray(sched.inputs_at(t, len(names)), float)
            got = c0 * np.exp(-np.asarray(rates) * (t - t0))
            if not np.allclose(got, want, rtol=1e-12, atol=0):
                raise SystemExit(f"closed-form inputs disagree with the Schedule at t={t}")
        segs.append((t0, t1, c0))
    return segs, rates


# ---------------------------------------------------------------------------------------------
SENS_PARAMS = ["k_commit", "k_mat", "d_alp", "k_min", "w_smad", "K_dex"]  # fit_benchmark's six


def osteogenic_sbml(model: og.Model, proto: og.Protocol, flat: dict, rates, segs):
    """[(label, SBML text)] of the model with the protocol's media changes as events.

    ``Model.to_sbml(protocol=...)`` first where the installed osteogrn has it; always also
    model_codegen's SBML (one event per media change, Hill terms with ``max(x, 0)`` where the
    export writes ``piecewise(x, x > 0, 0)``): the same equations, checked against osteogrn by
    every caller, which a peer that mishandles the export's piecewise can still be timed on."""
    out = []
    if hasattr(model, "to_sbml"):
        out.append(("`Model.to_sbml`", model.to_sbml(protocol=proto)))
    out.append(("`model_codegen`", model_codegen.sbml(flat, rates, segs)))
    return out


def _sbml_peers(texts, model: og.Model, T, rtol, atol, sens=()):
    """name -> callable for libRoadRunner (on the first document of ``texts``) and AMICI (on
    each), returning the final state (and the final sensitivities with ``sens``); a peer that
    is not installed or refuses a document is left out and reported in the notes."""
    import peers

    out, notes = {}, []
    for n, (label, text) in enumerate(texts):
        hosu = peers.species_ids(text)
        conc = [s for s in model.species if s in hosu and not hosu[s]]
        tag = "SBML with events" + (f" ({label})" if len(texts) > 1 else "")
        if n == 0:
            try:
                rr = peers.RoadRunnerRun(text, model.species, T, rtol, atol, conc)
                name = f"libRoadRunner {rr.version}, {tag}"
                if sens:
                    rs = rr.sensitivities(sens, model.species)
                    out[name] = lambda rs=rs: (None, rs()[-1])
                else:
                    out[name] = lambda rr=rr: rr()[-1]
            except Exception as e:  # noqa: BLE001 - reported in the table's notes
                notes.append(f"libRoadRunner left out: {type(e).__name__}: {e}".splitlines()[0])
        try:
            am = peers.AmiciRun(text, f"{model.name}_events", model.species, T, rtol, atol,
                                sens)
            name = f"AMICI {am.version}, {tag}"
            if sens:
                out[name] = lambda am=am: tuple(a[-1] for a in am())
            else:
                out[name] = lambda am=am: am()[-1]
        except Exception as e:  # noqa: BLE001
            notes.append(f"AMICI on {label} left out: {type(e).__name__}: {e}".splitlines()[0])
    return out, notes


def _drop_wrong(contenders: dict, check, notes: list) -> None:
    """Runs each peer once and drops (with a note) those whose answer ``check`` rejects: a
    wrong answer is not timed."""
    for k in list(contenders):
        why = check(contenders[k]())
        if why:
            notes.append(f"{k} left out: {why}")
            del contenders[k]


def per_simulation(reps: int):
    from scipy.integrate import solve_ivp

    model = og.load_model("osteogenic")
    proto = og.load_protocol("osteogenic_medium")
    flat = json.loads(model.to_json())
    segs, rates = segments(model, proto)
    T = [0.0, proto.duration]
    ref = og.simulate(model, proto, t=T, rtol=1e-10, atol=1e-14).species[-1]
    y0 = model.initial_state()
    rhs, _ = model_codegen.python_rhs(flat, rates)
    if np.max(np.abs(rhs(0.0, y0, segs[0][2], 0.0) - model.rhs(0.0, y0, segs[0][2]))) > 0:
        raise SystemExit("generated Python RHS differs from osteogrn's")

    contenders = {}
    for method in ("cvode_bdf", "rosenbrock4", "dopri5"):
        contenders[f"osteogrn {method}"] = (
            lambda method=method: og.simulate(model, proto, t=T, method=method, rtol=RTOL,
                                              atol=ATOL).species[-1])

    def scipy_run(method):
        y = y0.copy()
        for t0, t1, c0 in segs:
            sol = solve_ivp(rhs, (t0, t1), y, method=method, rtol=RTOL, atol=ATOL,
                            args=(tuple(c0), t0))
            if not sol.success:
                raise RuntimeError(sol.message)
            y = sol.y[:, -1]
        return y

    contenders["scipy BDF, segment by segment"] = lambda: scipy_run("BDF")
    contenders["scipy LSODA, segment by segment"] = lambda: scipy_run("LSODA")

    texts = osteogenic_sbml(model, proto, flat, rates, segs)
    sbml_runs, notes = _sbml_peers(texts, model, T, RTOL, ATOL)

    def check(y):
        err = rel_error(y, ref)
        return None if err <= AGREE else (f"its final state differs from osteogrn's rtol 1e-10 "
                                          f"one by {err:.1e}")
    _drop_wrong(sbml_runs, check, notes)
    contenders.update(sbml_runs)

    res = cpu_interleaved(contenders, reps)
    base = res["osteogrn cvode_bdf"][0]
    rows = []
    for k, (t, y) in res.items():
        err = rel_error(y, ref)
        if not err <= AGREE:
            raise SystemExit(f"{k}: final state differs from the reference by {err:.2e}")
        rows.append((k, t * 1e3, t / base, err))
    return rows, notes


def with_sensitivities(reps: int):
    """osteogrn and AMICI (SBML with events), each plain and with forward sensitivities for
    the six parameters of fit_benchmark; final states and sensitivities checked against an
    osteogrn rtol 1e-10 run with sensitivities."""
    model = og.load_model("osteogenic")
    proto = og.load_protocol("osteogenic_medium")
    flat = json.loads(model.to_json())
    segs, rates = segments(model, proto)
    T = [0.0, proto.duration]
    ns = len(model.species)

    def og_sens(rtol, atol):
        r = og.simulate(model, proto, t=T, rtol=rtol, atol=atol, sensitivities=SENS_PARAMS)
        return r.species[-1], np.asarray(r.sensitivities)[-1, :ns, :]

    ref_y, ref_s = og_sens(1e-10, 1e-14)
    contenders = {
        "osteogrn cvode_bdf, plain": lambda: (og.simulate(model, proto, t=T, rtol=RTOL,
                                                          atol=ATOL).species[-1], None),
        "osteogrn cvode_bdf, 6 sensitivities": lambda: og_sens(RTOL, ATOL)}
    texts = osteogenic_sbml(model, proto, flat, rates, segs)
    plain, notes = _sbml_peers(texts, model, T, RTOL, ATOL)
    sens, notes2 = _sbml_peers(texts, model, T, RTOL, ATOL, SENS_PARAMS)
    peers_ = {k + ", plain": (lambda f=f: (f(), None)) for k, f in plain.items()}
    peers_.update({k + ", 6 sensitivities": f for k, f in sens.items()})

    # A peer whose answer disagrees with the reference is not timed: it is wrong (or
    # computes something else), and the note says by how much.
    def check(out):
        y, s = out
        err = 0.0 if y is None else rel_error(y, ref_y)
        serr = 0.0 if s is None else rel_error(np.ravel(s), np.ravel(ref_s))
        if err <= AGREE and serr <= SENS_AGREE:
            return None
        return (f"differs from osteogrn's rtol 1e-10 run by {err:.1e} (final state), "
                f"{serr:.1e} (sensitivities" + (
                    f"; largest |value| {np.max(np.abs(s)):.3g}, reference "
                    f"{np.max(np.abs(ref_s)):.3g})" if s is not None else ")"))
    _drop_wrong(peers_, check, notes2)
    contenders.update(peers_)
    res = cpu_interleaved(contenders, reps)
    rows = []
    for k, (t, (y, s)) in res.items():
        err = float("nan") if y is None else rel_error(y, ref_y)
        serr = float("nan") if s is None else rel_error(np.ravel(s), np.ravel(ref_s))
        if not (y is None or err <= AGREE):
            raise SystemExit(f"{k}: final state differs from the reference by {err:.2e}")
        rows.append((k, t * 1e3, err, serr))
    return rows, notes + notes2


def imported_models(reps: int, suite_cases, petab, rtol, atol, n_sens):
    """sbml_models.compare for every test-suite case and PEtab problem named."""
    import sbml_models

    rows = []
    jobs = [sbml_models.suite_case(SUITE / c) for c in suite_cases]
    jobs += [sbml_models.petab_problem(PETAB / p) for p in petab]
    for name, text, times, params in jobs:
        print(f"  {name} ...", file=sys.stderr, flush=True)
        rows.append(sbml_models.compare(name, text, times, rtol, atol, reps, cpu_interleaved,
                                        params[:n_sens]))
    return rows


# ---------------------------------------------------------------------------------------------
def bench_binary(build_dir: Path) -> Path:
    exe = build_dir / "benchmarks" / "bench_rhs"
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                    "-DOSTEOGRN_BUILD_BENCHMARKS=ON", "-DOSTEOGRN_BUILD_TESTS=OFF"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(build_dir), "-j", os.environ.get("OSTEOGRN_JOBS", "2"),
                    "--target", "bench_rhs"], check=True, stdout=subprocess.DEVNULL)
    return exe


def rhs_cost(reps: int, build_dir: Path):
    exe = bench_binary(build_dir)
    out = subprocess.run([str(exe), f"--benchmark_repetitions={reps}",
                          "--benchmark_enable_random_interleaving=true",
                          "--benchmark_min_time=0.05", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
    header, _, body = out.partition("\n")
    data = json.loads(body)
    med = {b["run_name"]: b["cpu_time"] for b in data["benchmarks"]
           if b.get("aggregate_name") == "median"}
    return header.strip(), med


# ---------------------------------------------------------------------------------------------
def model_size(sizes, reps_for, dense_max=1000, klu_max=10_000):
    """Per GRN size: median load+compile and simulate times for each linear solver that runs at
    that size (None where skipped). The sparse solvers' final states must agree with dense LU
    where it runs, else KLU and GMRES with each other, to AGREE."""
    proto = og.Protocol.from_json(grn_generator.protocol(0))
    T = [0.0, proto.duration]
    rows = []
    for n in sizes:
        text = json.dumps(grn_generator.generate(n, 0))
        model = og.Model.from_json(text)
        solvers = [ls for ls, on in (("dense", n <= dense_max), ("klu", n <= klu_max),
                                     ("gmres", True)) if on]
        contenders = {"load+compile": lambda: og.Model.from_json(text)}
        for ls in solvers:
            contenders[ls] = lambda ls=ls: og.simulate(model, proto, t=T, rtol=RTOL, atol=ATOL,
                                                       linear_solver=ls)
        reps = reps_for(n)
        res = interleaved(contenders, reps)
        ref_name = solvers[0]
        ref = res[ref_name][1]
        for ls in solvers[1:]:
            err = rel_error(res[ls][1].species[-1], ref.species[-1])
            if not err <= AGREE:
                raise SystemExit(f"GRN {n}: {ls} and {ref_name} differ by {err:.2e}")
        rows.append((n, reps, res["load+compile"][0],
                     {ls: (res[ls][0] if ls in res else None) for ls in ("dense", "klu", "gmres")},
                     res["gmres"][1].stats))
    return rows


# ---------------------------------------------------------------------------------------------
def batch_throughput(n_sets: int, reps: int):
    """Sets per second of og.simulate_batch on 1 and 2 threads, interleaved; the two runs must
    agree exactly (a batch equals serial runs whatever the thread count)."""
    model = og.load_model("osteogenic")
    proto = og.load_protocol("osteogenic_medium")
    names = ["k_commit", "k_mat", "d_alp", "w_smad"]
    base = np.array([model.parameters[n] for n in names])
    rng = np.random.default_rng(0)
    sets = base * np.exp(rng.uniform(-0.2, 0.2, size=(n_sets, len(names))))  # within bounds
    T = [0.0, 7.0, 14.0, 21.0]
    runs = {th: (lambda th=th: og.simulate_batch(model, proto, sets, param_names=names, t=T,
                                                 threads=th))
            for th in (1, 2)}
    res = interleaved(runs, reps)
    one, two = res[1][1], res[2][1]
    if not np.array_equal(one.values, two.values, equal_nan=True):
        raise SystemExit("batch: 1 and 2 threads disagree")
    return {th: n_sets / res[th][0] for th in (1, 2)}, int(one.failed.sum())


# ---------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="osteogrn benchmarks against peers")
    ap.add_argument("--reps", type=int, default=20, help="interleaved repetitions (default 20)")
    ap.add_argument("--sizes", default="10,30,100,300,1000",
                    help="GRN sizes for part c (the scale target: --sizes 5000,10000)")
    ap.add_argument("--dense-max", type=int, default=1000,
                    help="largest GRN run with dense LU (default 1000; 10,000 would need 800 MB)")
    ap.add_argument("--klu-max", type=int, default=10_000,
                    help="largest GRN run with KLU (default 10000; that run alone takes minutes)")
    ap.add_argument("--skip", default="",
                    help="comma list of parts to skip: sim,sens,rhs,size,batch,sbml")
    ap.add_argument("--suite-cases", default=SUITE_CASES,
                    help=f"SBML Test Suite cases for part e (default {SUITE_CASES})")
    ap.add_argument("--petab", default=PETAB_PROBLEMS,
                    help="PEtab benchmark problems for part e (comma list of folder names)")
    ap.add_argument("--sbml-rtol", type=float, default=RTOL, help="part e rtol (default 1e-6)")
    ap.add_argument("--sbml-atol", type=float, default=ATOL, help="part e atol (default 1e-9)")
    ap.add_argument("--sbml-sens", type=int, default=6,
                    help="forward sensitivities in part e (first N estimated parameters; 0: none)")
    ap.add_argument("--batch-sets", type=int, default=10_000,
                    help="parameter sets in the batch benchmark (default 10000)")
    ap.add_argument("--build-dir", default=str(ROOT / "build" / "bench"),
                    help="where bench_rhs is built (default build/bench)")
    a = ap.parse_args(argv)
    skip = set(filter(None, a.skip.split(",")))
    print(f"osteogrn benchmarks: {a.reps} interleaved repetitions, medians; "
          f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}\n")

    if "sim" not in skip:
        rows, notes = per_simulation(a.reps)
        print("### a. Per simulation: osteogenic / osteogenic_medium, 21 d, rtol 1e-6, atol 1e-9\n")
        print("| contender | median CPU ms | time / osteogrn cvode_bdf | final-state rel. error |")
        print("|---|---:|---:|---:|")
        for k, ms, ratio, err in rows:
            print(f"| {k} | {ms:.2f} | {ratio:.2f}x | {err:.1e} |")
        print("\n" + "\n".join(f"- {n}" for n in notes) + "\n")
        sys.stdout.flush()

    if "sens" not in skip:
        rows, notes = with_sensitivities(a.reps)
        print("### a2. Forward sensitivities: osteogenic / osteogenic_medium, 6 parameters "
              f"({', '.join(SENS_PARAMS)}), rtol 1e-6, atol 1e-9\n")
        base = dict((k, ms) for k, ms, _, _ in rows)["osteogrn cvode_bdf, 6 sensitivities"]
        own = {k.rsplit(", ", 1)[0]: ms for k, ms, _, _ in rows if k.endswith(", plain")}
        print("| contender | median CPU ms | time / osteogrn with sensitivities | "
              "with sensitivities / own plain run | final-state rel. error | "
              "sensitivity rel. error |")
        print("|---|---:|---:|---:|---:|---:|")
        for k, ms, err, serr in rows:
            se = "—" if serr != serr else f"{serr:.1e}"
            e = "—" if err != err else f"{err:.1e}"
            stem = k.rsplit(", ", 1)[0]
            o = f"{ms / own[stem]:.2f}x" if stem in own and not k.endswith(", plain") else "—"
            print(f"| {k} | {ms:.2f} | {ms / base:.2f}x | {o} | {e} | {se} |")
        print("\n" + "\n".join(f"- {n}" for n in notes) + "\n")
        sys.stdout.flush()

    if "sbml" not in skip:
        suite = [c for c in a.suite_cases.split(",") if c]
        petab = [p for p in a.petab.split(",") if p]
        rows = imported_models(a.reps, suite, petab, a.sbml_rtol, a.sbml_atol, a.sbml_sens)
        print(f"### e. Imported SBML models: the same document in osteogrn (`og.import_sbml`), "
              f"libRoadRunner and AMICI, rtol {a.sbml_rtol:g}, atol {a.sbml_atol:g}\n")
        print("| model | species, sensitivity parameters | tight agreement (RR, AMICI) | "
              "osteogrn CPU ms | "
              "libRoadRunner / osteogrn | AMICI / osteogrn | rel. error (og, RR, AMICI) | "
              "with sensitivities: osteogrn CPU ms (rel. error) | AMICI / osteogrn "
              "(rel. error) |")
        print("|---|---:|---|---:|---:|---:|---|---:|---:|")
        notes = []
        def fmt(d, k):
            return f"{d[k]:.0e}" if k in d else "—"

        def ratio(d, k):
            return f"{d[k] / d['osteogrn']:.2f}x" if k in d and "osteogrn" in d else "—"

        for r in rows:
            t, st = r["times"], r["sens_times"]
            if "osteogrn" not in t:
                print(f"| {r['name']} | {r['n']} | not run (see below) | | | | | | |")
            else:
                ag, e = r.get("agree", {}), r["errors"]
                se = r["sens_errors"]
                sens = (f"{st['osteogrn'] * 1e3:.2f} ({fmt(se, 'osteogrn')}) | "
                        f"{ratio(st, 'AMICI')} ({fmt(se, 'AMICI')})" if "osteogrn" in st
                        else "— | —")
                print(f"| {r['name']} | {r['n']}, {r['n_sens']} | {fmt(ag, 'libRoadRunner')}, "
                      f"{fmt(ag, 'AMICI')} "
                      f"| {t['osteogrn'] * 1e3:.2f} | {ratio(t, 'libRoadRunner')} | "
                      f"{ratio(t, 'AMICI')} | {fmt(e, 'osteogrn')}, "
                      f"{fmt(e, 'libRoadRunner')}, {fmt(e, 'AMICI')} | {sens} |")
            notes += [f"{r['name']}: {w}" for w in r["skipped"]]
        if notes:
            print("\n" + "\n".join(f"- {n}" for n in notes))
        print()
        sys.stdout.flush()

    if "rhs" not in skip:
        header, med = rhs_cost(a.reps, Path(a.build_dir))
        print("### b. Right-hand side of osteogenic (19 species): ns per call (CPU time)\n")
        print(f"{header}\n")
        print("| code | ns / call | ratio to hand-written C++ |")
        print("|---|---:|---:|")
        hand = med["BM_hand_rhs"]
        for k, label in (("BM_hand_rhs", "hand-written C++ RHS"),
                         ("BM_tape_rhs_bound", "osteogrn tape (RHS, bound to the parameters: "
                                               "what the integrators call)"),
                         ("BM_tape_rhs", "osteogrn tape (RHS, eval with the parameters)"),
                         ("BM_tape_rhs_bind", "osteogrn tape bind (once per segment, for information)"),
                         ("BM_tape_jac_y", "osteogrn tape (Jacobian, for information)")):
            print(f"| {label} | {med[k]:.0f} | {med[k] / hand:.2f}x |")
        print()
        sys.stdout.flush()

    if "size" not in skip:
        sizes = [int(s) for s in a.sizes.split(",") if s]
        # Dense LU on 1000 genes costs seconds per run, KLU on 5,000+ tens of seconds to
        # minutes: fewer repetitions for the big ones.
        rows = model_size(sizes, lambda n: a.reps if n <= 100 else max(3, a.reps // 4)
                          if n <= 300 else 3 if n <= 1000 else 1, a.dense_max, a.klu_max)
        print("### c. Model size: synthetic GRNs, 21 d, 7 media changes, cvode_bdf rtol 1e-6\n")
        print("| genes | reps | load+compile ms | simulate, dense LU ms | simulate, KLU ms | "
              "simulate, GMRES+ILU(0) ms | KLU vs dense | GMRES vs KLU | steps (GMRES) |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        ms = lambda v: f"{v * 1e3:.1f}" if v is not None else "not run"  # noqa: E731
        ratio = lambda a, b: f"{a / b:.2f}x" if a and b else "n/a"  # noqa: E731
        for n, reps, tl, t, st in rows:
            print(f"| {n} | {reps} | {tl * 1e3:.1f} | {ms(t['dense'])} | {ms(t['klu'])} | "
                  f"{ms(t['gmres'])} | {ratio(t['dense'], t['klu'])} | "
                  f"{ratio(t['klu'], t['gmres'])} | {int(st.get('steps', 0))} |")
        print()

    if "batch" not in skip:
        # Each batch takes seconds: a few interleaved repetitions are enough for a median.
        rate, failed = batch_throughput(a.batch_sets, max(3, a.reps // 5))
        print(f"### d. Batch: {a.batch_sets} parameter sets of osteogenic / osteogenic_medium "
              f"(4 parameters varied ±20 %), cvode_bdf rtol 1e-6\n")
        print("| threads | sets / s | scaling vs 1 thread |")
        print("|---:|---:|---:|")
        for th in (1, 2):
            print(f"| {th} | {rate[th]:.0f} | {rate[th] / rate[1]:.2f}x |")
        print(f"\n{failed} failed sets; 1- and 2-thread results identical.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
