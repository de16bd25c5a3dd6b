"""Overhead of og.sweep over the bare simulate_batch it runs.

A 10,000-point sweep (default: 100 BMP2 doses x 100 values of k_commit, so 100 protocols x
100 parameter sets in one batch; ``--scenario protocols``: 100 doses x 100 BMP2 windows, so
10,000 distinct protocols) is timed against ``osteogrn.simulate_batch`` called on the same
protocols, parameter sets, sample times and outputs. Both run in this process, alternately,
``--repeats`` times; the median of the per-repeat ratios sweep / batch is printed.

The sweep's extra work is building and validating the edited protocols, grouping points,
evaluating the readouts (numpy over the batch) and building the DataFrame.

Usage::

    python benchmarks/sweep_overhead.py [--repeats 3] [--threads N] [--scenario mixed|protocols]
"""

from __future__ import annotations

import argparse
import statistics
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

    def run_sweep():
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
          f"threads {args.threads or 'all'}")
    ratios = []
    for i in range(args.repeats):
        t0 = time.perf_counter()
        run_batch()
        t_batch = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_sweep()
        t_sweep = time.perf_counter() - t0
        ratios.append(t_sweep / t_batch)
        print(f"repeat {i + 1}: simulate_batch {t_batch:.2f} s, sweep {t_sweep:.2f} s, "
              f"ratio {t_sweep / t_batch:.3f}")
    ratio = statistics.median(ratios)
    print(f"median overhead ratio sweep/simulate_batch: {ratio:.3f} "
          f"({(ratio - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
