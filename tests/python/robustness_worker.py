"""Worker for test_robustness.py: reads one JSON job per line on stdin, runs it through the API,
and answers one JSON line per job on stdout. Expected failures are osteogrn's typed user errors
("error:<class>"); og.InternalError (a bug) is "internal:<C++ type>", a MemoryError or any other
exception "other:<type>" — the parent fails on both (and sees a crash or hang itself)."""

from __future__ import annotations

import json
import sys

import osteogrn as og

BASE_MODEL = og.Model.from_json(sys.argv[1])
BASE_PROTOCOL = og.Protocol.from_json(sys.argv[2])


def run(job: dict) -> str:
    try:
        if job["kind"] == "raise":  # the parent checks that escapes are reported as such
            if job["text"] == "MemoryError":
                raise MemoryError("on purpose")
            from osteogrn import _core
            _core._raise_for_test(job["text"], "on purpose")
        if job["kind"] == "model":
            model = og.Model.from_json(job["text"], source="<mutant>")
            model.to_json()
            res = og.simulate(model, BASE_PROTOCOL, max_steps=20_000)
        else:
            proto = og.Protocol.from_json(job["text"], source="<mutant>")
            proto.to_json()
            res = og.simulate(BASE_MODEL, proto, max_steps=20_000)
        res.to_frame(tidy=True)
        return "ok"
    except og.InternalError as e:  # a bug, even though it is an OsteogrnError
        return f"internal:{e.cpp_type}: {str(e)[:300]}"
    except og.OsteogrnError as e:
        str(e)
        return f"error:{type(e).__name__}"
    except Exception as e:  # the test fails on these (MemoryError included)
        return f"other:{type(e).__name__}: {str(e)[:300]}"


for line in sys.stdin:
    job = json.loads(line)
    print(json.dumps({"id": job["id"], "outcome": run(job)}), flush=True)
