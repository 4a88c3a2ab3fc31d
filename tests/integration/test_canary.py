"""Canaries: scanning hostile samples never runs them and never imports what they name.

Malicious fixtures carry a harmless marker command (``touch MARKER``). After scanning every
one of them (and the public corpora), the marker must not exist, no new file may appear
next to the samples, and none of the modules the payloads name may have been imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import pickles as b
from helpers.corpora import corpus_dir

MALICIOUS = {
    "p0.pkl": b.system_call_p0(),
    "p4.pkl": b.system_call_p4(),
    "inst.pkl": b"(" + b.string0(b.MARKER_CMD) + b"ios\nsystem\n.",
    "broken.pkl": b.system_call_p4()[:-1] + b"\xff",
    "nested.pkl": (b.proto(4) + b.stack_global("pickle", "loads") + b"C"
                   + bytes([len(b.system_call_p4())]) + b.system_call_p4() + b"\x85R."),
    "eval.pkl": b.proto(4) + b.call1(b.stack_global("builtins", "exec"),
                                     b.sbu(f"import os; os.system({b.MARKER_CMD!r})")) + b".",
}
NEVER_IMPORTED = {"idlelib", "pty", "pdb", "cProfile", "profile", "trace", "timeit", "pip",
                  "torch", "sklearn", "dill", "cloudpickle", "aiohttp", "requests", "imaplib",
                  "_aix_support", "_osx_support", "venv", "ensurepip", "doctest", "bdb",
                  "code", "runpy", "numpy", "joblib", "webbrowser",
                  "asyncio", "urllib.request"}


def test_scanning_never_runs_or_imports_payloads(tmp_path: Path) -> None:
    if os.path.exists(b.MARKER):
        os.remove(b.MARKER)
    target = tmp_path / "samples"
    target.mkdir()
    for name, data in MALICIOUS.items():
        (target / name).write_bytes(data)
    for corpus in ("picklescan", "modelaudit"):
        try:
            shutil.copytree(corpus_dir(corpus), target / corpus)
        except pytest.skip.Exception:
            continue
    before = sorted(p.relative_to(target) for p in target.rglob("*"))
    code = (
        "import sys, json; before = set(sys.modules); import modeltrust; "
        f"r = modeltrust.scan({str(target)!r}, jobs=1); "
        "print(json.dumps([sorted(set(sys.modules) - before), len(r.findings)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    imported, count = json.loads(out.stdout.strip().splitlines()[-1])
    assert count > 0
    roots = {m.split(".")[0] for m in imported}
    assert not roots & NEVER_IMPORTED, sorted(roots & NEVER_IMPORTED)
    assert not os.path.exists(b.MARKER)
    assert sorted(p.relative_to(target) for p in target.rglob("*")) == before
