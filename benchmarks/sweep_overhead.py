"""Overhead of og.sweep over the bare simulate_batch it runs.

A 10,000-point sweep (default: 100 BMP2 doses x 100 values of k_commit, so 100 protocols x
100 parameter sets in one batch; ``--scenario protocols``: 100 doses x 100 BMP2 windows, so
10,000 distinct protocols) is timed against ``osteogrn.simulate_batch`` called on the same
protocols, parameter sets, sample times and outputs. Both run in this process, alternately,
``--repeats`` times (alternating which goes first); the medians of the per-repeat ratios
sweep / batch are printed, of wall time and of process CPU time (all threads; steadier than
wall time on a shared machine), and a third ratio that does not depend on two runs taking
equally long: the sweep's wall time over the time spent inside the simulate_batch calls it
makes (1 + its own work / the batch).

The sweep's extra work is building and validating the edited protocols, grouping points,
evaluating the readouts (numpy over the batch) and building the DataFrame.

Usage::

    python benchmarks/sweep_overhead.py [--repeats 3] [--threads N] [--scenario mixed|protocols]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

import osteogrn as og
from osteogrn.design.sweep import sweep

READOUTS = ["mineral@21", "max(ALP)", "time_to(mineral, 0.5)", "auc(OCN, 0, 21)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--side", type=int, default=100, help="values per axis (side^2 points)")
    parser.add_argument("--scenario", choices=("mixed", "protocols"), default="mixed")
    args = parser.parse_args()

    model = og.load_model("osteogenic")
    template = og.load_protocol("om_bmp2")
    doses = np.geomspace(1.0, 1000.0, args.side)
    if args.scenario == "mixed":
        k = model.parameters["k_commit"]
        grid = {"bmp2.concentration": doses,
                "parameters.k_commit": np.linspace(0.5 * k, 2.0 * k, args.side)}
    else:
        grid = {"bmp2.concentration": doses, "bmp2.until": np.linspace(1.0, 21.0, args.side)}

    # Time spent inside simulate_batch during a sweep, so that the sweep's own work (building
    # protocols, grouping, readouts, the frame) is measured directly as well.
    module = sys.modules["osteogrn.design.sweep"]
    inside = []
    real_batch = module.simulate_batch

    def timed_batch(*a, **kw):
        t0 = time.perf_counter()
        try:
            return real_batch(*a, **kw)
        finally:
            inside.append(time.perf_counter() - t0)

    module.simulate_batch = timed_batch

    def run_sweep():
        inside.clear()
        return sweep(model, template, grid, readouts=READOUTS, threads=args.threads)

    frame = run_sweep()  # warm-up; also gives the batch's inputs
    protocols = list(frame.attrs["protocols"].values())
    t = frame.attrs["t"]
    outputs = list(dict.fromkeys(o for r in frame.attrs["readouts"] for o in r.outputs))
    if args.scenario == "mixed":
        sets = np.unique(frame["parameters.k_commit"].to_numpy())
        batch_kw = dict(parameters=sets, param_names=["k_commit"])
    else:
        batch_kw = {}

    def run_batch():
        return og.simulate_batch(model, protocols, t=t, outputs=outputs, threads=args.threads,
                                 **batch_kw)

    b = run_batch()
    n_tasks = b.values.shape[0] * b.values.shape[1]
    print(f"{len(frame)} points, {len(protocols)} protocols x {b.values.shape[0]} sets = "
          f"{n_tasks} tasks, {len(t)} sample times, outputs {', '.join(outputs)}, "
          f"threads {args.threads or 'all'}", flush=True)
    wall, cpu, own = [], [], []

    def timed(fn):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        return time.perf_counter() - w0, time.process_time() - c0

    for i in range(args.repeats):
        # alternate which goes first, so that a drift in the machine's load favours neither
        order = [("batch", run_batch), ("sweep", run_sweep)]
        if i % 2:
            order.reverse()
        times = {name: timed(fn) for name, fn in order}
        (wb, cb), (ws, cs) = times["batch"], times["sweep"]
        wall.append(ws / wb)
        cpu.append(cs / cb)
        in_batch = sum(inside)
        own.append(1 + (ws - in_batch) / in_batch)
        print(f"repeat {i + 1}: simulate_batch {wb:.2f} s wall / {cb:.2f} s CPU, sweep "
              f"{ws:.2f} s wall / {cs:.2f} s CPU ({ws - in_batch:.2f} s outside its "
              f"simulate_batch); ratio wall {ws / wb:.3f}, CPU {cs / cb:.3f}, "
              f"own work {own[-1]:.3f}", flush=True)
    for label, ratios in (("wall", wall), ("CPU", cpu),
                          ("own work: sweep / its simulate_batch, wall", own)):
        ratio = statistics.median(ratios)
        print(f"median overhead ratio sweep/simulate_batch ({label} time): {ratio:.3f} "
              f"({(ratio - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
