"""Seeded synthetic gene-regulatory networks for the model-size benchmark (issue #6, item 3c).

``generate(n, seed)`` returns an osteogrn-model/1 dict with n genes g0..g{n-1}:

    dg_i/dt = v_i * (b_i + sum_a w_ia hill(g_a, K_ia, n_ia)) * prod_r hill_rep(g_r, K_ir, n_ir)
              - d_i * g_i

with 1-3 regulators per gene drawn at random (sparse: the Jacobian has about 3n non-zeros),
literal Hill exponents 1, 2 or 4, degradation rates spread over two decades (0.2-20 /day: a
stiff system, like the osteogenic model) and three media inputs (s1 stable, s2 and s3 decaying)
each activating about 5% of the genes. Production is bounded and every gene degrades, so every
trajectory stays bounded and positive. ``protocol(seed)`` is a 21-day protocol with 7 media
changes (every 2.625 days) for those inputs; s3 is only in the medium for the first 7 days.

    python benchmarks/grn_generator.py 100 --seed 1 -o grn100.json --protocol proto.json
"""

from __future__ import annotations

import argparse
import json
import random
from typing import Any, Dict

INPUTS = {"s1": None, "s2": 2.0, "s3": 0.5}  # name -> half-life in days (None: stable)


def generate(n: int, seed: int = 0) -> Dict[str, Any]:
    if n < 3:
        raise ValueError("a synthetic GRN needs at least 3 genes")
    rng = random.Random(seed * 1_000_003 + n)
    src = "assumed: synthetic benchmark network (benchmarks/grn_generator.py)"
    species: Dict[str, Any] = {}
    params: Dict[str, Any] = {}
    odes: Dict[str, str] = {}

    def p(name: str, value: float) -> str:
        params[name] = {"value": round(value, 6), "unit": "1", "source": src}
        return name

    for i in range(n):
        g = f"g{i}"
        species[g] = {"initial": round(rng.uniform(0.05, 1.0), 4), "unit": "au"}
        # Regulators j != i: sampling from range(n - 1) and skipping i draws exactly what
        # sampling the list of the other genes drew, without building an n-list per gene
        # (which made the 10,000-gene network take minutes to generate).
        regs = [j + (j >= i) for j in rng.sample(range(n - 1), k=rng.randint(1, min(3, n - 1)))]
        act, rep = [], []
        for j in regs:
            exp = rng.choice([1, 2, 2, 4])
            k = p(f"K_{i}_{j}", rng.uniform(0.2, 1.0))
            if rng.random() < 0.6:
                w = p(f"w_{i}_{j}", rng.uniform(0.5, 2.0))
                act.append(f"{w} * hill(g{j}, {k}, {exp})")
            else:
                rep.append(f"hill_rep(g{j}, {k}, {min(exp, 2)})")
        for u in INPUTS:
            if rng.random() < 0.05:
                w = p(f"w_{i}_{u}", rng.uniform(0.5, 2.0))
                act.append(f"{w} * hill({u}, {p(f'K_{i}_{u}', rng.uniform(5.0, 50.0))}, 1)")
        b = p(f"b_{i}", rng.uniform(0.05, 0.3))
        d = p(f"d_{i}", 10 ** rng.uniform(-0.7, 1.3))
        v = p(f"v_{i}", params[d]["value"] * rng.uniform(0.5, 1.5))
        drive = " + ".join([b] + act)
        odes[g] = f"{v} * ({drive})" + "".join(f" * {r}" for r in rep) + f" - {d} * {g}"
    return {
        "schema": "osteogrn-model/1",
        "name": f"grn{n}_seed{seed}",
        "description": f"Synthetic GRN, {n} genes, seed {seed} (benchmarks/grn_generator.py)",
        "time_unit": "day",
        "inputs": {u: {"default": 0.0, "unit": "nM", "description": "medium component"}
                   for u in INPUTS},
        "species": species,
        "parameters": params,
        "odes": odes,
        "observables": {"mean_expression": {"expression": " + ".join(
            f"g{i}" for i in range(min(n, 10))) + f" / {min(n, 10)}", "unit": "au"}},
    }


def protocol(seed: int = 0) -> Dict[str, Any]:
    comps: Dict[str, Any] = {}
    for u, hl in INPUTS.items():
        c: Dict[str, Any] = {"concentration": 20.0 + 10.0 * len(comps), "unit": "nM"}
        if hl:
            c["half_life"] = hl
        if u == "s3":
            c["from"], c["until"] = 0, 7
        comps[u] = c
    return {
        "schema": "osteogrn-protocol/1",
        "name": "grn_21d_7changes",
        "description": "21 days, medium changed every 2.625 days (7 changes)",
        "duration": 21,
        "media_changes": {"every": 2.625},
        "components": comps,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", default="-")
    ap.add_argument("--protocol", help="also write the matching protocol to this file")
    a = ap.parse_args()
    text = json.dumps(generate(a.n, a.seed), indent=1)
    if a.output == "-":
        print(text)
    else:
        open(a.output, "w").write(text)
    if a.protocol:
        open(a.protocol, "w").write(json.dumps(protocol(a.seed), indent=1))


if __name__ == "__main__":
    main()
