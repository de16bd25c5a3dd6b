"""Benchmark (not a test): the parameter-recovery problem of tests/python/test_fit_recovery.py
with 20 starts, fitted with sensitivity Jacobians and with finite differences.

    python benchmarks/fit_benchmark.py [--starts 20] [--threads N]

Prints wall time, simulations used (one per condition per evaluation; a simulation with
sensitivities counts as one) and the ratio of simulations FD / sensitivities.
"""

from __future__ import annotations

import argparse
import time

import osteogrn as og
from osteogrn.fitting import simulate_data

TRUTH = {"k_commit": 0.5, "k_mat": 0.2, "d_alp": 0.6, "k_min": 1.5, "w_smad": 25.0,
         "K_dex": 15.0}
BOUNDS = {"k_commit": (0.04, 4.0), "k_mat": (0.025, 2.5), "d_alp": (0.05, 5.0),
          "k_min": (0.1, 10.0), "w_smad": (3.0, 50.0), "K_dex": (1.0, 100.0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    model = og.load_model("osteogenic")
    om = og.load_protocol("osteogenic_medium")
    protocols = {"OM": om, "OM+BMP2": og.load_protocol("om_bmp2"),
                 "OM dex 10 nM": om.with_component("dex", concentration=10)}
    data = simulate_data(model.with_parameters(TRUTH), protocols, [4, 7, 10, 14, 17, 21],
                         ["ALP", "OCN", "mineral"], noise="lognormal", cv=0.05, replicates=3,
                         seed=11)
    rows = {}
    for gradient in ("sensitivities", "fd"):
        t0 = time.perf_counter()
        try:
            res = og.fit(model, data, protocols=protocols, estimate=BOUNDS,
                         observations="lognormal", n_starts=args.starts, seed=0,
                         threads=args.threads, progress=False, gradient=gradient)
        except og.OptionError as e:
            print(f"{gradient:>13}: unavailable ({e})")
            continue
        wall = time.perf_counter() - t0
        ok = res.starts["cost"] < res.cost + 1e-3 * max(1.0, res.cost)
        rows[gradient] = res.n_simulations
        err = max(abs(res.parameters[k] - v) / v for k, v in TRUTH.items())
        print(f"{gradient:>13}: wall {wall:7.1f} s  simulations {res.n_simulations:6d}  "
              f"evaluations {int(res.starts['n_evals'].sum()):5d}  best cost {res.cost:.4f}  "
              f"starts at best {int(ok.sum())}/{args.starts}  max rel. error {err:.3f}")
    if len(rows) == 2:
        print(f"simulations FD / sensitivities: {rows['fd'] / rows['sensitivities']:.2f}x")


if __name__ == "__main__":
    main()
