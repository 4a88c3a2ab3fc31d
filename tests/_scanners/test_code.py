"""CodeScanner: capabilities of repository Python, when they run, aliases and obfuscation."""

from __future__ import annotations

import base64
import codecs
import time
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _scanners.archive_factory import Run, run
from helpers.code_samples import (
    CONFIGURATION,
    MARKER,
    MODELING,
    b64,
    bz2_b64,
    layered_exec,
    zlib_b64,
)
from modeltrust import scan
from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners.code import MAX_SOURCE, CodeScanner
from modeltrust._source.interface import Limits
from modeltrust.findings import Severity

SCANNER = CodeScanner()
C, H, M, L, INFO = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW,
                 Severity.INFO)


def check(source: str, name: str = "modeling_x.py") -> Run:
    return run(SCANNER, name, source.encode(), Format.PYTHON)


def real(r: Run) -> list[tuple[str, Severity, int | None]]:
    """(rule, severity, line) of every finding except the informational listing."""
    return sorted((f.rule_id, f.severity, f.location.line) for f in r.findings
                  if f.rule_id != "MT-CODE-022")


def only(r: Run, rule_id: str) -> list:
    return [f for f in r.findings if f.rule_id == rule_id]


def test_realistic_modeling_file_is_at_most_info() -> None:
    r = check(MODELING)
    assert all(f.severity is INFO for f in r.findings), r.findings
    assert [f.rule_id for f in r.findings] == ["MT-CODE-022"]
    assert "torch" in r.findings[0].evidence and "transformers" in r.findings[0].evidence
    assert r.result.coverage is Coverage.ANALYSED
    assert dict(r.result.properties)["code.imports"] == "math,os,torch,transformers,typing"
    assert real(check(CONFIGURATION)) == []


def test_import_time_process_is_critical_with_line_and_evidence() -> None:
    r = check(f"import os\n\nos.system({MARKER!r})\n")
    assert real(r) == [("MT-CODE-001", C, 3)]
    f = only(r, "MT-CODE-001")[0]
    assert f.location.detail == "runs at import time"
    assert f.evidence == f"calls os.system: os.system({MARKER!r})"


@pytest.mark.parametrize("source", [
    f"import os as o\no.system({MARKER!r})\n",
    f"from os import system as s\ns({MARKER!r})\n",
    f"import subprocess as sp\nsp.run([{MARKER!r}], shell=True)\n",
    f"from subprocess import *\nPopen({MARKER!r}, shell=True)\n",
    f"__import__('os').system({MARKER!r})\n",
    f"import importlib\nimportlib.import_module('os').popen({MARKER!r})\n",
    f"import os\nrunner = os.system\nrunner({MARKER!r})\n",
    f"import pty\npty.spawn({MARKER!r})\n",
    f"import os\nos.execvp('sh', ['sh', '-c', {MARKER!r}])\n",
])
def test_process_through_aliases(source: str) -> None:
    r = check(source)
    procs = only(r, "MT-CODE-001")
    assert procs and all(f.severity is C for f in procs), r.findings


def test_getattr_with_computed_name() -> None:
    r = check(f'import os\ngetattr(os, "sys" + "tem")({MARKER!r})\n')
    assert ("MT-CODE-008", H, 2) in real(r)
    assert ("MT-CODE-001", C, 2) in real(r)
    assert "resolving to os.system" in only(r, "MT-CODE-008")[0].evidence


def test_getattr_with_unknown_name_is_high() -> None:
    r = check("import os, sys\nname = sys.argv[1]\ngetattr(os, name)('x')\n")
    assert real(r) == [("MT-CODE-008", H, 3)]


def test_harmless_getattr_literal_is_silent() -> None:
    assert real(check("import sys, os\nf = getattr(sys, 'frozen', False)\n"
                      "n = getattr(os, 'sep')\n")) == []


@pytest.mark.parametrize("source", [
    f"import os\nvars(os)['system']({MARKER!r})\n",
    f"import os\nos.__dict__['system']({MARKER!r})\n",
    f"__builtins__['exec'](\"import os; os.system({MARKER!r})\")\n",
    "globals()['__builtins__']['eval']('1')\n",
])
def test_namespace_dictionary_lookups(source: str) -> None:
    r = check(source)
    assert only(r, "MT-CODE-008"), r.findings
    assert only(r, "MT-CODE-001") or only(r, "MT-CODE-002")


def test_import_module_of_sensitive_name() -> None:
    r = check("import importlib\nm = importlib.import_module('subprocess')\n")
    assert real(r) == [("MT-CODE-008", H, 2)]
    assert real(check("import importlib\nm = importlib.import_module('torch.nn')\n")) == []


# -- obfuscation ------------------------------------------------------------------------------


def payload() -> str:
    return f"import os\nos.system({MARKER!r})\n"


@pytest.mark.parametrize("source", [
    f"import base64\nexec(base64.b64decode({b64(payload())!r}))\n",
    f"import base64 as b, zlib\nexec(zlib.decompress(b.b64decode({zlib_b64(payload())!r})))\n",
    f"import base64, bz2\nexec(bz2.decompress(base64.b64decode({bz2_b64(payload())!r})))\n",
    f"exec(bytes.fromhex({payload().encode().hex()!r}).decode())\n",
    f"import codecs\nexec(codecs.decode({codecs.encode(payload(), 'rot13')!r}, 'rot13'))\n",
    f"from base64 import b64decode as d\nP = {b64(payload())!r}\nexec(d(P))\n",
    f"import base64\nexec(base64.b64decode({b64(payload())[::-1]!r}[::-1]))\n",
    f"import base64\nexec(compile(base64.b64decode({b64(payload())!r}), 'x', 'exec'))\n",
])
def test_obfuscated_payload_is_decoded_and_rescanned(source: str) -> None:
    r = check(source)
    obf = only(r, "MT-CODE-009")
    assert obf and all(f.severity is C for f in obf), r.findings
    assert any("touch /tmp/modeltrust-test-marker" in f.evidence for f in obf)
    inner = [f for f in only(r, "MT-CODE-001") if "decoded payload line 2" in f.evidence]
    assert inner and inner[0].severity is C and inner[0].location.line == source.count("\n")


def test_chr_join_payload() -> None:
    codes = [ord(c) for c in payload()]
    r = check(f"exec(''.join(map(chr, {codes})))\n")
    assert only(r, "MT-CODE-001")


def test_marshalled_code_object() -> None:
    r = check("import marshal\nexec(marshal.loads(b'\\xe3\\x00\\x00'))\n")
    obf = only(r, "MT-CODE-009")
    assert obf and "marshalled code object" in obf[0].evidence


def test_runtime_decoding_still_flagged() -> None:
    r = check("import base64, sys\nexec(base64.b64decode(sys.argv[1]))\n")
    obf = only(r, "MT-CODE-009")
    assert obf and "decoded at run time" in obf[0].evidence


def test_encoded_command_to_process() -> None:
    r = check(f"import os, base64\nos.system(base64.b64decode({b64(MARKER)!r}).decode())\n")
    obf = only(r, "MT-CODE-009")
    assert obf and MARKER in obf[0].evidence


def test_exec_of_literal_is_rescanned() -> None:
    r = check(f"exec(\"import subprocess; subprocess.call({MARKER!r}, shell=True)\")\n")
    assert ("MT-CODE-002", C, 1) in real(r) and ("MT-CODE-001", C, 1) in real(r)
    assert not only(r, "MT-CODE-009")


def test_payload_nesting_is_bounded() -> None:
    r = check(layered_exec(2))
    assert only(r, "MT-CODE-001")
    r = check(layered_exec(6))
    assert only(r, "MT-CODE-021") and only(r, "MT-CODE-009")


def test_decompression_bomb_is_bounded() -> None:
    bomb = base64.b64encode(zlib.compress(b"#" * (8 * 1024 * 1024))).decode()
    started = time.monotonic()
    r = check(f"import base64, zlib\nexec(zlib.decompress(base64.b64decode({bomb!r})))\n")
    assert time.monotonic() - started < 10
    assert only(r, "MT-CODE-009") and only(r, "MT-CODE-021")


def test_base64_data_not_executed_is_silent() -> None:
    blob = base64.b64encode(bytes(range(256)) * 4).decode()
    assert real(check(f"import base64\nTABLE = base64.b64decode({blob!r})\n")) == []


# -- when it runs -----------------------------------------------------------------------------


def test_contexts() -> None:
    src = f'''import os, subprocess

def helper():
    os.system({MARKER!r})

class Model:
    flag = os.popen("id")

    def __init__(self):
        subprocess.run(["true"])

    def forward(self, x):
        os.system("x")

def default(arg=os.system("d")):
    return arg

if __name__ == "__main__":
    os.system("main")
'''
    found = {(f.location.line, f.severity, f.location.detail) for f in check(src).findings
             if f.rule_id == "MT-CODE-001"}
    assert found == {
        (4, H, "runs when helper() is called"),
        (7, C, "runs at import time"),
        (10, H, "runs on instantiation (Model.__init__)"),
        (13, H, "runs when Model.forward() is called"),
        (15, C, "runs at import time"),
        (19, M, "runs only when the file is executed as a script"),
    }


def test_function_called_at_import_time() -> None:
    src = f"import os\n\ndef a():\n    b()\n\ndef b():\n    os.system({MARKER!r})\n\na()\n"
    f = only(check(src), "MT-CODE-001")[0]
    assert f.severity is C and f.location.line == 7
    assert f.location.detail == "runs at import time (via b, reached from line 9)"


def test_decorator_runs_at_import_time() -> None:
    src = ("import os\n\ndef register(fn):\n    os.system('x')\n    return fn\n\n"
           "@register\ndef model():\n    pass\n")
    assert only(check(src), "MT-CODE-001")[0].severity is C


def test_class_instantiated_at_import_time() -> None:
    src = "import os\n\nclass M:\n    def __init__(self):\n        os.system('x')\n\nM()\n"
    assert only(check(src), "MT-CODE-001")[0].severity is C


# -- capabilities ----------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "rule", "severity"), [
    ("import socket\nsocket.create_connection(('example.com', 80))\n", "MT-CODE-004", C),
    ("import requests\ndef f():\n    requests.post('http://x', data=b'')\n", "MT-CODE-004", M),
    ("import urllib.request\nurllib.request.urlopen('http://x')\n", "MT-CODE-004", C),
    ("from huggingface_hub import hf_hub_download\n"
     "def f():\n    hf_hub_download('other/repo', 'x.bin')\n", "MT-CODE-005", L),
    ("from huggingface_hub import snapshot_download\nsnapshot_download('o/r')\n",
     "MT-CODE-005", H),
    ("open('/tmp/x', 'w').write('1')\n", "MT-CODE-006", H),
    ("import shutil\ndef f():\n    shutil.rmtree('/tmp/x')\n", "MT-CODE-006", M),
    ("from pathlib import Path\ndef f(p):\n    Path(p).write_text('x')\n", "MT-CODE-006", M),
    ("import os\nT = os.environ['HF_TOKEN']\n", "MT-CODE-007", H),
    ("import os\ndef f():\n    return os.getenv('AWS_SECRET_ACCESS_KEY')\n", "MT-CODE-007", M),
    ("import os\nE = dict(os.environ)\n", "MT-CODE-007", H),
    ("KEY = open('~/.ssh/id_rsa').read()\n", "MT-CODE-007", H),
    ("import keyring\ndef f():\n    keyring.get_password('a', 'b')\n", "MT-CODE-007", M),
    ("import ctypes\nctypes.CDLL('./libx.so')\n", "MT-CODE-003", C),
    ("import pickle\ndef f(b):\n    return pickle.loads(b)\n", "MT-CODE-002", H),
    ("from transformers import AutoModel\n"
     "def f():\n    AutoModel.from_pretrained('o/r', trust_remote_code=True)\n",
     "MT-CODE-002", H),
    ("import torch\ntorch.hub.load('o/r', 'm')\n", "MT-CODE-002", C),
])
def test_capabilities(source: str, rule: str, severity: Severity) -> None:
    r = check(source)
    hits = only(r, rule)
    assert hits and hits[0].severity is severity, r.findings


@pytest.mark.parametrize("source", [
    "import os\nx = os.environ.get('CUDA_VISIBLE_DEVICES')\n",
    "import os\nos.environ['TOKENIZERS_PARALLELISM'] = 'false'\n",
    "data = open('vocab.txt').read()\n",
    "import re\np = re.compile('x')\n",
    "def f(model):\n    model.eval()\n    return model.compile()\n",
    "from requests.exceptions import HTTPError\ndef f():\n    raise HTTPError('x')\n",
    "import os\np = os.path.join(os.path.dirname(__file__), 'x')\nos.makedirs(p, exist_ok=True)\n",
    '"""Reads ~/.ssh/config in docs only."""\n',
])
def test_benign_patterns(source: str) -> None:
    assert real(check(source)) == []


# -- parsing, limits, end to end --------------------------------------------------------------


def test_syntax_error_is_a_finding() -> None:
    r = check("print 'python 2'\n")
    assert real(r) == [("MT-CODE-020", M, 1)]
    assert r.result.coverage is Coverage.PARTIAL


def test_null_bytes_and_bad_encoding() -> None:
    r = run(SCANNER, "x.py", b"x = 1\x00\n", Format.PYTHON)
    assert [f.rule_id for f in r.findings] == ["MT-CODE-020"]
    r = run(SCANNER, "x.py", b"# -*- coding: nope -*-\nx = 1\n", Format.PYTHON)
    assert [f.rule_id for f in r.findings] == ["MT-CODE-020"]


def test_too_large_is_not_analysed() -> None:
    r = run(SCANNER, "x.py", b"#" * (MAX_SOURCE + 1), Format.PYTHON)
    assert [f.rule_id for f in r.findings] == ["MT-CODE-021"]
    assert r.result.coverage is Coverage.NOT_ANALYSED


def test_deep_expression_is_bounded() -> None:
    r = check("x = " + "-" * 50_000 + "1\n")
    assert {f.rule_id for f in r.findings} & {"MT-CODE-020", "MT-CODE-021"}


def test_many_findings_are_capped() -> None:
    r = check("import os\n" + "os.system('x')\n" * 300)
    assert len(only(r, "MT-CODE-001")) == 200 and only(r, "MT-CODE-021")


def test_end_to_end_folder(tmp_path: Path) -> None:
    (tmp_path / "modeling_example.py").write_text(MODELING)
    (tmp_path / "configuration_example.py").write_text(CONFIGURATION)
    evil = f'"""Custom code."""\nimport os\nos.system({MARKER!r})\n'
    (tmp_path / "modeling_evil.py").write_text(evil)
    report = scan(tmp_path)
    by_path = {e.path.rsplit("/", 1)[-1]: e for e in report.files}
    assert by_path["modeling_example.py"].format == "python"
    worst = {p: max((f.severity for f in report.findings if f.path.endswith(p)), default=None)
             for p in by_path}
    assert worst["modeling_example.py"] is INFO
    assert worst["configuration_example.py"] is INFO
    assert worst["modeling_evil.py"] is C
    assert scan(tmp_path).findings == report.findings


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_raises(text: str) -> None:
    r = check(text)
    assert all(f.rule_id.startswith("MT-CODE-") for f in r.findings)


_TOKENS = ["import os", "exec(", "eval(", "getattr(", "os.system", "(", ")", "'x'", "+",
           "base64.b64decode(", "\n", "def f():\n    ", "class A:\n    ", "__import__(",
           "vars(os)[", "]", ",", "[::-1]", "codecs.decode(", "'rot13'", "zlib.decompress("]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=40))
def test_token_soup_never_raises(tokens: list[str]) -> None:
    r = check("".join(tokens))
    assert all(f.rule_id.startswith("MT-CODE-") for f in r.findings)


def test_constant_doubling_is_bounded() -> None:
    lines = ["A0 = 'x'"] + [f"A{i} = A{i - 1} + A{i - 1}" for i in range(1, 60)]
    started = time.monotonic()
    r = check("\n".join(lines) + "\nexec(A59)\n")
    assert time.monotonic() - started < 10
    assert only(r, "MT-CODE-002")


def test_many_exec_payloads_stop_at_the_time_limit() -> None:
    bomb = base64.b64encode(zlib.compress(b"x = 1\n" * 150_000)).decode()
    src = "import base64, zlib\n" + (
        f"exec(zlib.decompress(base64.b64decode({bomb!r})))\n" * 100)
    started = time.monotonic()
    r = run(SCANNER, "x.py", src.encode(), Format.PYTHON, limits=Limits(max_seconds=2))
    assert time.monotonic() - started < 20
    assert only(r, "MT-CODE-009") and only(r, "MT-CODE-021")
    assert r.result.coverage is Coverage.PARTIAL


def test_source_starting_with_import_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "modeling_evil.py").write_text(f"import os\nos.system({MARKER!r})\n")
    report = scan(tmp_path)
    assert report.files[0].format == "python"
    assert report.max_severity is C


def test_writes_in_save_methods_are_low() -> None:
    src = ("class Tok:\n    def save_vocabulary(self, d):\n        open(d, 'w').write('x')\n"
           "    def encode(self, d):\n        open(d, 'w').write('x')\n")
    found = {(f.location.line, f.severity) for f in only(check(src), "MT-CODE-006")}
    assert found == {(3, L), (5, M)}
