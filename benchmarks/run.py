"""osteogrn against its peers: one command, one table of ratios measured in the same run.

    python benchmarks/run.py            # all three parts (about 10 minutes on 2 cores)
    python benchmarks/run.py --reps 5 --sizes 10,100 --skip rhs   # a quick look

a. per simulation: `osteogenic` under `osteogenic_medium` (21 days, 6 media changes, 7 segments),
   rtol 1e-6, atol 1e-9: osteogrn (cvode_bdf, rosenbrock4, dopri5) against scipy solve_ivp (BDF,
   LSODA) on a Python/numpy right-hand side generated from the same model JSON
   (model_codegen.py), and libRoadRunner on the same model exported as SBML; everyone integrates
   segment by segment with the same closed-form inputs and restarts at every media change.
b. right-hand-side cost: the compiled tape against hand-written C++ (bench_rhs, Google Benchmark).
c. model size: synthetic GRNs (grn_generator.py) of 10-1000 genes (--sizes; 5,000 and 10,000
   with --sizes 5000,10000), 21 days, 7 media changes: load+compile time and simulate time,
   dense LU (up to --dense-max genes), KLU (up to --klu-max) and GMRES + ILU(0).
d. batch throughput: og.simulate_batch of 10,000 parameter sets of osteogenic under
   osteogenic_medium on 1 and 2 threads (sets per second and the scaling ratio).

Timings are medians of interleaved repetitions (the contenders alternate inside one loop, in
a rotating order). Every contender's final state is checked against a tight-tolerance osteogrn
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


def rel_error(y, ref) -> float:
    """Largest per-species relative difference; values below 1e-6 of the largest species
    are compared on that absolute scale (a species that decays to ~0 has no relative digits)."""
    y, ref = np.asarray(y, float), np.asarray(ref, float)
    scale = np.maximum(np.abs(ref), 1e-6 * np.max(np.abs(ref)))
    return float(np.max(np.abs(y - ref) / scale))


def interleaved(contenders: dict, reps: int) -> dict:
    """Runs every contender `reps` times, alternating them in a rotating order; returns
    name -> (median seconds, final state of the last run)."""
    times = {k: [] for k in contenders}
    last = {}
    names = list(contenders)
    for r in range(reps):
        for k in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            last[k] = contenders[k]()
            times[k].append(time.perf_counter() - t0)
    return {k: (statistics.median(v), last[k]) for k, v in times.items()}


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

    contenders["scipy BDF"] = lambda: scipy_run("BDF")
    contenders["scipy LSODA"] = lambda: scipy_run("LSODA")

    rr_note = ""
    try:
        import roadrunner

        rr = roadrunner.RoadRunner(model_codegen.sbml(flat, rates))
        rr.integrator.relative_tolerance = RTOL
        rr.integrator.absolute_tolerance = ATOL
        rr.integrator.setValue("maximum_num_steps", 100000)
        species = model.species
        rr.timeCourseSelections = species
        c0_ids = [f"c0_{u}" for u in model.inputs]

        def rr_run():
            rr.reset()
            y = None
            for t0, t1, c0 in segs:
                for pid, v in zip(c0_ids, c0):
                    rr.setValue(pid, float(v))
                rr.setValue("t0", t0)
                y = rr.simulate(t0, t1, 2)[-1]
            return np.asarray(y, float)

        contenders["libRoadRunner " + roadrunner.__version__] = rr_run
    except ImportError as e:
        rr_note = f"libRoadRunner not installed ({e}); pip install -r benchmarks/requirements.txt"

    res = interleaved(contenders, reps)
    base = res["osteogrn cvode_bdf"][0]
    rows = []
    for k, (t, y) in res.items():
        err = rel_error(y, ref)
        if not err <= AGREE:
            raise SystemExit(f"{k}: final state differs from the reference by {err:.2e}")
        rows.append((k, t * 1e3, t / base, err))
    return rows, rr_note


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
    ap.add_argument("--skip", default="", help="comma list of parts to skip: sim,rhs,size,batch")
    ap.add_argument("--batch-sets", type=int, default=10_000,
                    help="parameter sets in the batch benchmark (default 10000)")
    ap.add_argument("--build-dir", default=str(ROOT / "build" / "bench"),
                    help="where bench_rhs is built (default build/bench)")
    a = ap.parse_args(argv)
    skip = set(filter(None, a.skip.split(",")))
    print(f"osteogrn benchmarks: {a.reps} interleaved repetitions, medians; "
          f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}\n")

    if "sim" not in skip:
        rows, note = per_simulation(a.reps)
        print("### a. Per simulation: osteogenic / osteogenic_medium, 21 d, rtol 1e-6, atol 1e-9\n")
        print("| contender | median ms | time / osteogrn cvode_bdf | final-state rel. error |")
        print("|---|---:|---:|---:|")
        for k, ms, ratio, err in rows:
            print(f"| {k} | {ms:.2f} | {ratio:.2f}x | {err:.1e} |")
        if note:
            print(f"\n{note}")
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
