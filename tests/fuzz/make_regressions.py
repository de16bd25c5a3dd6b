"""Writes the fuzz regression inputs that are too large to commit (each is a past finding).

Usage: python3 tests/fuzz/make_regressions.py OUT_DIR

Creates OUT_DIR/{expression,model,protocol}/regress_* files; .ci/run then runs every file once
through its fuzz target, together with the committed corpus/*/regress_* files. The inputs are
deterministic, so the same findings are re-checked on every run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEPTH = 100_000  # JSON nesting that once overflowed the stack of the recursive JSON readers
CHAIN = 10_000   # named expressions e_i = e_{i-1} + 0.5*x: the simplifier recursed per level


def deep_array(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def deep_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def expression_chain_model(n: int) -> str:
    expressions = {"e_0": "x"}
    expressions.update({f"e_{i}": f"e_{i - 1} + 0.5*x" for i in range(1, n)})
    return json.dumps({
        "schema": "osteogrn-model/1", "name": "expression_chain",
        "species": {"x": {"initial": 1.0}},
        "parameters": {"k": {"value": 1e-4, "source": "assumed: fuzz regression"}},
        "expressions": expressions,
        "odes": {"x": f"-k * e_{n - 1}"},
    })


def expression_depth_limit_model(n: int = 101, terms: int = 1000) -> str:
    """e_i = e_{i-1} + x + ... + x (terms additions): e_100 is 100,001 levels deep once inlined,
    one more than kMaxExpressionDepth, so loading it must give a ModelError (never a crash)."""
    plus = " + x" * terms
    expressions = {"e_0": "x"}
    expressions.update({f"e_{i}": f"e_{i - 1}{plus}" for i in range(1, n)})
    return json.dumps({
        "schema": "osteogrn-model/1", "name": "expression_depth_limit",
        "species": {"x": {"initial": 1.0}},
        "expressions": expressions,
        "odes": {"x": f"-e_{n - 1}"},
    })


def main(out: Path) -> None:
    files = {
        "model/regress_deep_array_100000.json":
            '{"schema": "osteogrn-model/1", "name": "deep", "species": ' + deep_array(DEPTH) + "}",
        "model/regress_deep_object_100000.json":
            '{"schema": "osteogrn-model/1", "name": "deep", "odes": ' + deep_object(DEPTH) + "}",
        "model/regress_deep_top_level_100000.json": deep_array(DEPTH),
        "model/regress_expression_chain_10000.json": expression_chain_model(CHAIN),
        "model/regress_expression_depth_limit.json": expression_depth_limit_model(),
        "protocol/regress_deep_array_100000.json":
            '{"schema": "osteogrn-protocol/1", "name": "deep", "duration": 1, "components": '
            + deep_array(DEPTH) + "}",
        "protocol/regress_deep_object_100000.json":
            '{"schema": "osteogrn-protocol/1", "name": "deep", "duration": 1, "components": '
            + deep_object(DEPTH) + "}",
        "expression/regress_deep_parentheses_100000": "(" * DEPTH + "x" + ")" * DEPTH,
        "expression/regress_deep_unary_minus_100000": "-" * DEPTH + "x",
        "expression/regress_long_sum_100000": "+".join(["x"] * DEPTH),
        "expression/regress_deep_calls_30000": "exp(" * 30_000 + "x" + ")" * 30_000,
    }
    for name, text in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(files)} regression inputs under {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
