"""Import time of a generated 1000-reaction SBML model (issue 13: under 1 s).

The model is synthetic (generated here, seeded): N species in one compartment and R mass-action
reactions, each converting one or two random species into one or two others, with a global rate
constant per reaction and a local parameter in every tenth. It is written with python-libsbml.

Timed, median of --repeats runs, each phase on its own:

* ``libsbml read``: python-libsbml parsing the document (a floor: every importer pays it);
* ``translate``: osteogrn.sbml.translate_sbml (read + translation to the model format);
* ``load``: compiling the translated document (tapes, sparse Jacobians);
* ``import_sbml``: the whole og.import_sbml, what a user calls;
* ``roadrunner``: libRoadRunner constructing its model from the same text (its LLVM JIT
  compile), when libroadrunner is installed — the peer a user would otherwise load it with.

Usage: python benchmarks/sbml_import.py [--reactions 1000] [--species 500] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import libsbml

import osteogrn as og
from osteogrn.sbml import translate_sbml


def generate(n_species: int, n_reactions: int, seed: int = 13) -> str:
    """SBML L3V2 text of a random mass-action network (synthetic)."""
    rng = random.Random(seed)
    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    m.setId(f"generated_{n_reactions}")
    c = m.createCompartment()
    c.setId("cell"), c.setSize(1.0), c.setConstant(True), c.setSpatialDimensions(3)
    for i in range(n_species):
        s = m.createSpecies()
        s.setId(f"S{i}"), s.setCompartment("cell"), s.setInitialConcentration(rng.uniform(0.1, 1))
        s.setHasOnlySubstanceUnits(False), s.setBoundaryCondition(False), s.setConstant(False)
    for r in range(n_reactions):
        p = m.createParameter()
        p.setId(f"k{r}"), p.setValue(rng.uniform(0.01, 1)), p.setConstant(True)
        rx = m.createReaction()
        rx.setId(f"R{r}"), rx.setReversible(False)
        reactants = rng.sample(range(n_species), rng.choice((1, 2)))
        products = rng.sample(range(n_species), rng.choice((1, 2)))
        for i in reactants:
            ref = rx.createReactant()
            ref.setSpecies(f"S{i}"), ref.setStoichiometry(1), ref.setConstant(True)
        for i in products:
            ref = rx.createProduct()
            ref.setSpecies(f"S{i}"), ref.setStoichiometry(1), ref.setConstant(True)
        law = rx.createKineticLaw()
        factor = f"k{r}"
        if r % 10 == 0:  # a local parameter too
            lp = law.createLocalParameter()
            lp.setId("scale"), lp.setValue(1.5)
            factor += " * scale"
        law.setMath(libsbml.parseL3Formula(
            "cell * " + factor + "".join(f" * S{i}" for i in reactants)))
    return libsbml.writeSBMLToString(doc)


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reactions", type=int, default=1000)
    ap.add_argument("--species", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    text = generate(args.species, args.reactions)
    doc = translate_sbml(text).document
    rows = [
        ("libsbml read", median_time(lambda: libsbml.readSBMLFromString(text), args.repeats)),
        ("translate", median_time(lambda: translate_sbml(text), args.repeats)),
        ("load", median_time(lambda: og.Model.from_json(json.dumps(doc)), args.repeats)),
        ("import_sbml", median_time(lambda: og.import_sbml(text), args.repeats)),
    ]
    try:
        import roadrunner
        rows.append(("roadrunner", median_time(lambda: roadrunner.RoadRunner(text),
                                               args.repeats)))
    except ImportError:
        pass
    print(f"generated SBML (synthetic): {args.species} species, {args.reactions} reactions, "
          f"{len(text) / 1e6:.1f} MB; median of {args.repeats}")
    whole = dict(rows)["import_sbml"]
    for name, seconds in rows:
        print(f"  {name:<14} {seconds:8.3f} s   {seconds / whole:6.2f} x import_sbml")
    model = og.import_sbml(text)
    res = og.simulate(model, t=[0, 1, 10])
    print(f"  simulated {len(model.species)} species to t = 10: ok={bool(res.success)}")


if __name__ == "__main__":
    main()
