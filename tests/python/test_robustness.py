"""Hundreds of malformed or mutated models and protocols run through the API in a subprocess:
the subprocess must survive every one (no segfault, no hang: a time limit per input), and every
failure must be one of osteogrn's typed user errors — never og.InternalError (a bug), a
MemoryError or another exception type."""

from __future__ import annotations

import copy
import json
import os
import random
import select
import subprocess
import sys
import time
from pathlib import Path

import osteogrn as og
from conftest import DATA, make_dex_protocol

SEED = 20240611
N_MODELS, N_PROTOCOLS = 150, 110
TIME_LIMIT = 30.0  # seconds per input (the machine is shared; a healthy case takes milliseconds)
WORKER = Path(__file__).with_name("robustness_worker.py")

ODD_VALUES = [None, True, False, "", "NaN", "nan", "Infinity", "-inf", "1e999", "🦴 Rünx2 ∂",
              "\u0000", 0, -1, -1e308, 1e308, 1e-320, 2**63, -(2**63), [], {}, [1, 2],
              {"a": {"b": {}}}, "x" * 5000, 3.5, "R\ud800x"]
GARBAGE_EXPRESSIONS = ["((", "x ^^ 2", "hill(", "hill(Runx2)", "piecewise(1)", "1 / 0",
                       "log(-1)", "exp(1e6)", "Runx2 ^ 1e10", "sqrt(-Runx2 - 1)", "", " ",
                       "nan * Runx2", "inf", "1e999", "Rünx2 + 1", "a b c", ")", "2 $ 3",
                       "max()", "min(1)", "pow(1, 2, 3)", "not not not", "t t", "1 < < 2",
                       "-" * 3000 + "1", "(" * 3000 + "1" + ")" * 3000,
                       "+".join(["Runx2"] * 3000), "hill(" * 500 + "1" + ", 1, 2)" * 500,
                       "abs(" * 2000 + "t" + ")" * 2000, "\u00e9\u0301", "1..2", "0x1F",
                       "exp(exp(exp(exp(t))))", "piecewise(1, t > 1, -1e300, t > 2, 1e300)",
                       "Runx2 / (Runx2 - Runx2)", "1e-400 * Runx2", "d_runx2 ^ -1e308"]
DEEP = "@@DEEP@@"


def _paths(node, prefix=()):
    """Every (path, value) inside a JSON document."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _set(doc, path, value):
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _delete(doc, path):
    for key in path[:-1]:
        doc = doc[key]
    del doc[path[-1]]


def mutate(doc, rng: random.Random) -> str:
    """One to three random structural mutations, then maybe a textual one."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        paths = [p for p, _ in _paths(doc) if p]
        if not paths:
            break
        path = rng.choice(paths)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        value = parent[path[-1]]
        op = rng.choice(["delete", "odd", "odd", "expression", "rename", "deep", "huge",
                         "duplicate"])
        if op == "delete":
            _delete(doc, path)
        elif op == "odd":
            _set(doc, path, copy.deepcopy(rng.choice(ODD_VALUES)))
        elif op == "expression":
            strings = [p for p, v in _paths(doc) if p and isinstance(v, str)]
            target = rng.choice(strings) if strings else path
            _set(doc, target, rng.choice(GARBAGE_EXPRESSIONS))
        elif op == "rename" and isinstance(parent, dict):
            new = rng.choice(["", " ", "t", "exp", "Runx2", "é", "a/b", "~0", "1x", "x" * 300,
                              "dex", "hill", "and", "\udcff"])
            parent[new] = parent.pop(path[-1])
        elif op == "deep":
            _set(doc, path, DEEP)
        elif op == "huge" and isinstance(value, (int, float)) and not isinstance(value, bool):
            _set(doc, path, rng.choice([1e308, -1e308, 1e-308, 5e-324, 1e15, 10**30]))
        elif op == "duplicate" and isinstance(parent, dict):
            parent[path[-1] + "_copy"] = copy.deepcopy(value)
    text = json.dumps(doc, ensure_ascii=rng.random() < 0.5)
    depth = rng.choice([10, 1000, 100_000])
    text = text.replace(json.dumps(DEEP), "[" * depth + "1" + "]" * depth, 1)
    roll = rng.random()
    if roll < 0.08:
        text = text[: rng.randint(0, len(text))]  # truncated file
    elif roll < 0.14:
        i = rng.randint(0, len(text))
        text = text[:i] + rng.choice(["NaN", "Infinity", "\x00", "\ufffd", "}", "{{", "\"", "-"]) \
            + text[i:]
    elif roll < 0.17:
        text = rng.choice(["", "null", "[]", "0", "\"model\"", "{}", "{\"schema\": 1}"])
    return text


def _base_models():
    docs = [json.loads((DATA / "models" / "grn_small.json").read_text()),
            json.loads((DATA / "models" / "function_zoo.json").read_text())]
    for name in og.list_models():
        doc = json.loads((og.models_dir() / f"{name}.json").read_text())
        if not doc.get("imports"):
            docs.append(doc)
    return docs


def _base_protocols():
    dex = make_dex_protocol().to_dict()
    variant = make_dex_protocol(media_changes=[1, 2.5, 8], replace_fraction=0.25,
                                perturbations=[{"clamp": "Runx2", "value": 0.3, "until": 4},
                                               {"parameter": "k_alp", "scale": 2.0, "from": 5},
                                               {"parameter": "K_dex", "value": 20}]).to_dict()
    files = [json.loads(p.read_text()) for p in sorted((DATA / "protocols").glob("*.json"))]
    return [dex, variant] + files


def generate_cases():
    rng = random.Random(SEED)
    models, protocols = _base_models(), _base_protocols()
    cases = [("model", mutate(rng.choice(models), rng)) for _ in range(N_MODELS)]
    cases += [("protocol", mutate(rng.choice(protocols), rng)) for _ in range(N_PROTOCOLS)]
    return cases


class Worker:
    def __init__(self):
        base_model = (DATA / "models" / "grn_small.json").read_text()
        base_protocol = json.dumps({"schema": "osteogrn-protocol/1", "name": "base",
                                    "duration": 3, "media_changes": {"every": 1},
                                    "components": {"dex": {"concentration": 10, "unit": "nM",
                                                           "optional": True}}})
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONFAULTHANDLER="1")
        self.proc = subprocess.Popen([sys.executable, str(WORKER), base_model, base_protocol],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env, bufsize=1)

    def ask(self, job):
        """The worker's answer, or "hang" / "crash: <how>"."""
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + TIME_LIMIT
        while True:
            ready, _, _ = select.select([self.proc.stdout], [], [],
                                        max(0.0, deadline - time.monotonic()))
            if not ready:
                self.proc.kill()
                self.proc.wait()
                self._close_pipes()
                return "hang"
            line = self.proc.stdout.readline()
            if not line:
                code = self.proc.wait()
                message = self.proc.stderr.read()[:300]
                self._close_pipes()
                return f"crash: exit status {code}: {message}"
            answer = json.loads(line)
            assert answer["id"] == job["id"]
            return answer["outcome"]

    def _close_pipes(self):
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                pipe.close()
            except OSError:  # stdin of a dead process: broken pipe on flush
                pass

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        self._close_pipes()
        return self.proc.returncode


def passed(outcome: str) -> bool:
    """A run that worked, or failed with a typed user error (not InternalError)."""
    return outcome == "ok" or outcome.startswith("error:")


def test_worker_counts_internal_and_memory_errors_as_escapes():
    worker = Worker()
    outcomes = {kind: worker.ask({"id": i, "kind": "raise", "text": kind})
                for i, kind in enumerate(["ModelError", "std", "InternalError", "bad_alloc",
                                          "MemoryError"])}
    assert worker.close() == 0
    assert outcomes["ModelError"] == "error:ModelError" and passed(outcomes["ModelError"])
    assert outcomes["std"].startswith("internal:std::out_of_range")
    assert outcomes["InternalError"].startswith("internal:osteogrn::InternalError")
    assert outcomes["bad_alloc"].startswith("other:MemoryError")
    assert outcomes["MemoryError"].startswith("other:MemoryError")
    assert not any(passed(outcomes[k]) for k in ("std", "InternalError", "bad_alloc",
                                                 "MemoryError"))


def test_mutated_inputs_never_crash_hang_or_escape(tmp_path):
    cases = generate_cases()
    assert len(cases) >= 200
    outcomes = []
    worker = Worker()
    for i, (kind, text) in enumerate(cases):
        outcome = worker.ask({"id": i, "kind": kind, "text": text})
        outcomes.append(outcome)
        if outcome == "hang" or outcome.startswith("crash"):
            (tmp_path / f"case_{i}.json").write_text(text, errors="surrogatepass")
            worker = Worker()  # go on with the remaining cases
    assert worker.close() == 0  # the last worker exits normally

    bad = [(i, cases[i][0], o[:160]) for i, o in enumerate(outcomes) if not passed(o)]
    for i, _, _ in bad:
        (tmp_path / f"case_{i}.json").write_text(cases[i][1], errors="surrogatepass")
    assert not bad, f"{len(bad)} inputs escaped (saved under {tmp_path}): {bad[:5]}"
    # The generator really exercises both paths: most mutants fail, some still run.
    errors = sum(o.startswith("error:") for o in outcomes)
    assert errors >= len(cases) // 3
    assert sum(o == "ok" for o in outcomes) >= 5
    kinds = {o for o in outcomes if o.startswith("error:")}
    assert {"error:ModelError", "error:ProtocolError", "error:ParseError"} <= kinds
