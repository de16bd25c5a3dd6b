"""Checks that the READMEs link only to files in the repository.

Sphinx checks the links of the pages under docs/ (a missing target is a warning, and the build
runs with -W); the READMEs are read on their own (on a forge, in a clone), so their relative
links are checked here: every Markdown link target that is not a URL must exist, and no text may
point outside the repository (``../shared/`` and the like). Exit status 1 lists the bad links.

Usage: python docs/check_links.py [FILE ...]   (default: every README.md in the repository)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# Paths written as code (`../x/y.md`) are read as directions too; outside the repository they
# cannot be followed from a clone.
OUTSIDE = re.compile(r"(?<![\w./])\.\./[\w./-]+")


def problems(path: Path) -> list[str]:
    """Returns one line per bad link of the Markdown file ``path``."""
    text = path.read_text(encoding="utf-8")
    out = []
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL or an anchor in the same page
        file_part = target.split("#", 1)[0]
        resolved = (path.parent / file_part).resolve()
        if ROOT not in resolved.parents and resolved != ROOT:
            out.append(f"{path.relative_to(ROOT)}: link '{target}' leaves the repository")
        elif not resolved.exists():
            out.append(f"{path.relative_to(ROOT)}: link '{target}' does not exist")
    for mention in OUTSIDE.findall(LINK.sub("", text)):
        resolved = (path.parent / mention).resolve()
        if ROOT not in resolved.parents:
            out.append(f"{path.relative_to(ROOT)}: '{mention}' points outside the repository")
    return out


def main(argv: list[str]) -> int:
    files = [Path(a).resolve() for a in argv] or sorted(
        p for p in ROOT.rglob("README.md") if not any(part.startswith(("build", ".")) for part in
                                                     p.relative_to(ROOT).parts))
    bad = [line for f in files for line in problems(f)]
    for line in bad:
        print(line, file=sys.stderr)
    print(f"checked the links of {len(files)} README files: {len(bad)} bad")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
