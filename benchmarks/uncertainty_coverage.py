"""How often new synthetic observations fall inside og.predict's 95 % bands.

Repeats the acceptance test of tests/python/test_uncertainty.py (the same synthetic model, truth,
noise, fitted and held-back conditions) over more synthetic experiments: each is fitted, sampled
(``FitResult.sample``), predicted with ``noise=True`` (and without, for contrast) for two doses and
six days no fit saw, and checked against fresh synthetic observations. Experiments 0-9 are the
test's. All data are synthetic (simulated from tests/data/models/grn_small.json), none measured.

    python benchmarks/uncertainty_coverage.py                       # 30 experiments, Laplace
    python benchmarks/uncertainty_coverage.py --method mcmc -n 4    # emcee, slower
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

import osteogrn as og

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))
import test_uncertainty as setup  # noqa: E402  (the acceptance test's configuration)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--experiments", type=int, default=30)
    ap.add_argument("--method", choices=["fisher", "mcmc"], default="fisher")
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--steps", type=int, default=600, help="MCMC steps after burn-in")
    ap.add_argument("--burn", type=int, default=200, help="MCMC burn-in steps")
    args = ap.parse_args(argv)
    model = og.load_model(REPO / "tests" / "data" / "models" / "grn_small.json")
    truth = model.with_parameters(setup.TRUTH)
    protocols = list(setup.HELD_PROTOCOLS.values())
    rows = []
    warnings.simplefilter("ignore", og.FitWarning)
    for exp in range(args.experiments):
        fit = setup.synthetic_fit(model, 1000 + exp, exp)
        new = setup.simulate_data(truth, setup.HELD_PROTOCOLS, setup.HELD_TIMES, setup.OBSERVED,
                                  noise="lognormal", cv=setup.CV, replicates=3, seed=2000 + exp)
        # Laplace: drawn inside predict from its seed, exactly as the test does.
        draws = args.draws if args.method == "fisher" else fit.sample(
            args.draws, method="mcmc", seed=exp, steps=args.steps, burn=args.burn)
        band = og.predict(fit, protocols, samples=draws, t=setup.HELD_TIMES, noise=True,
                          seed=exp)
        mean = og.predict(fit, protocols, samples=draws, t=setup.HELD_TIMES, seed=exp)
        rows.append((setup.coverage(band, new), setup.coverage(mean, new), len(new)))
        print(f"experiment {exp:3d}: noise=True {rows[-1][0]:.3f}  noise=False "
              f"{rows[-1][1]:.3f}  ({len(new)} observations)", flush=True)
    r = np.array(rows)
    for label, part in (("experiments 0-9 (the test's)", r[:10]), ("the others", r[10:]),
                        ("all", r)):
        if len(part):
            print(f"{label}: pooled coverage of the 95 % bands {part[:, 0].mean():.4f} "
                  f"(noise=False: {part[:, 1].mean():.3f}), {int(part[:, 2].sum())} "
                  f"observations, {args.method}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
