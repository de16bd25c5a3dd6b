"""Copies the SBML Test Suite's semantic cases into the repository, for the runner and CI.

Per case, only what ``run_suite.py`` reads: the SBML file (the highest level/version the source
keeps), ``NNNNN-results.csv`` and ``NNNNN-settings.txt``, unchanged. The tags of each case's
description (``NNNNN-model.m``: ``componentTags``, ``testTags``, ``testType``) go into one
table, ``index.csv``, instead of the descriptions themselves. The suite's licence (LGPL 2.1)
sits in the destination's parent folder.

Usage::

    python tests/sbml_suite/copy_suite.py SOURCE_CASES [--to tests/data/sbml_suite/cases]

where SOURCE_CASES is the ``cases`` folder of a copy of the suite (sbmlteam/sbml-test-suite,
``cases/semantic``, or a copy with one level/version per case).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path
from typing import List, Optional

HERE = Path(__file__).resolve().parent
DEFAULT_TO = HERE.parent / "data" / "sbml_suite" / "cases"


def _tags(model_m: Path) -> List[str]:
    """componentTags, testTags (space-separated) and testType of a case description."""
    comp, test, kind = "", "", ""
    for line in model_m.read_text(errors="replace").splitlines():
        key, _, value = line.partition(":")
        words = " ".join(x.strip() for x in value.split(",") if x.strip())
        if key == "componentTags":
            comp = words
        elif key == "testTags":
            test = words
        elif key == "testType":
            kind = value.strip()
    return [comp, test, kind]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="the suite's cases folder")
    parser.add_argument("--to", type=Path, default=DEFAULT_TO)
    args = parser.parse_args(argv)
    cases = sorted(p for p in args.source.iterdir() if p.is_dir() and p.name.isdigit())
    if not cases:
        print(f"no case folders in {args.source}", file=sys.stderr)
        return 1
    args.to.mkdir(parents=True, exist_ok=True)
    rows = []
    for case in cases:
        cid = case.name
        models = sorted(case.glob(f"{cid}-sbml-l*v*.xml"))
        if not models:
            print(f"{cid}: no SBML file, skipped", file=sys.stderr)
            continue
        dest = args.to / cid
        dest.mkdir(exist_ok=True)
        # the runner takes the last file of the sorted names: the highest level/version
        for src in (models[-1], case / f"{cid}-results.csv", case / f"{cid}-settings.txt"):
            shutil.copyfile(src, dest / src.name)
        rows.append([cid] + _tags(case / f"{cid}-model.m"))
    with open(args.to / "index.csv", "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["case", "component_tags", "test_tags", "test_type"])
        writer.writerows(rows)
    print(f"copied {len(rows)} cases to {args.to}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
