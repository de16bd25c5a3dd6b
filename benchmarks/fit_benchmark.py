"""Benchmark (not a test): the parameter-recovery problem of tests/python/test_fit_recovery.py
(6 parameters of `osteogenic`, 3 conditions, ALP/OCN/mineral on 6 days in triplicate, 5 %
log-normal noise) with 20 starts, fitted with sensitivity Jacobians and with finite differences.

    python benchmarks/fit_benchmark.py [--starts 20] [--threads N]

For each variant prints wall time, the og.simulate calls the fit made (counted by wrapping the
function the objective calls; a simulation with sensitivities counts as one call) and how many of
them carried sensitivities, least-squares evaluations, best cost, starts that reached the best
cost and the largest relative error against the truth; then the ratios FD / sensitivities.
Variants: "sensitivities" and "fd" each at the fitting default tolerances (rtol 1e-7 and 1e-8),
and "sensitivities" at FD's rtol 1e-8 for a like-for-like comparison.
"""

from __future__ import annotations

import argparse
import threading
import time

import osteogrn as og
import osteogrn.fitting.objective as objective
from osteogrn.fitting import simulate_data

TRUTH = {"k_commit": 0.5, "k_mat": 0.2, "d_alp": 0.6, "k_min": 1.5, "w_smad": 25.0,
         "K_dex": 15.0}
BOUNDS = {"k_commit": (0.04, 4.0), "k_mat": (0.025, 2.5), "d_alp": (0.05, 5.0),
          "k_min": (0.1, 10.0), "w_smad": (3.0, 50.0), "K_dex": (1.0, 100.0)}


class CountingSimulate:
    """Wraps og.simulate as the fitting objective sees it; thread-safe counts."""

    def __init__(self, inner):
        self.inner, self.lock = inner, threading.Lock()
        self.calls = self.with_sens = 0

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.calls += 1
            self.with_sens += bool(kwargs.get("sensitivities"))
        return self.inner(*args, **kwargs)


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
    variants = [("sensitivities", "sensitivities", {}), ("fd", "fd", {}),
                ("sensitivities rtol 1e-8", "sensitivities", {"rtol": 1e-8, "atol": 1e-12})]
    rows = {}
    original = objective.simulate
    for label, gradient, opts in variants:
        counter = CountingSimulate(original)
        objective.simulate = counter
        try:
            t0 = time.perf_counter()
            res = og.fit(model, data, protocols=protocols, estimate=BOUNDS,
                         observations="lognormal", n_starts=args.starts, seed=0,
                         threads=args.threads, progress=False, gradient=gradient, **opts)
            wall = time.perf_counter() - t0
        finally:
            objective.simulate = original
        ok = res.starts["cost"] < res.cost + 1e-3 * max(1.0, res.cost)
        err = max(abs(res.parameters[k] - v) / v for k, v in TRUTH.items())
        rows[label] = (wall, counter.calls)
        print(f"{label:>24}: wall {wall:6.1f} s  simulate calls {counter.calls:6d} "
              f"(with sensitivities {counter.with_sens}; fit counted {res.n_simulations})  "
              f"evaluations {int(res.starts['n_evals'].sum()):4d}  best cost {res.cost:.4f}  "
              f"starts at best {int(ok.sum())}/{args.starts}  max rel. error {err:.3f}")
    fd_wall, fd_sims = rows["fd"]
    for label in ("sensitivities", "sensitivities rtol 1e-8"):
        wall, sims = rows[label]
        print(f"FD / {label}: simulations {fd_sims / sims:.2f}x, wall time {fd_wall / wall:.2f}x")


if __name__ == "__main__":
    main()
