"""The pickle scanner catches each technique class of THREATS.md by mechanism.

Every sample is built here with a harmless marker command; scanning must never run it.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import modeltrust
from helpers import pickles as b
from modeltrust import Severity
from modeltrust._report.model import Report


def scan_bytes(tmp_path: Path, data: bytes, name: str = "sample.pkl") -> Report:
    path = tmp_path / name
    path.write_bytes(data)
    return modeltrust.scan(path)


def rule_ids(report: Report, at_least: Severity = Severity.INFO) -> set[str]:
    return {f.rule_id for f in report.findings if f.severity >= at_least}


def call_p4(module: str, name: str, arg: str = b.MARKER_CMD) -> bytes:
    return b.proto(4) + b.call1(b.stack_global(module, name), b.sbu(arg)) + b.stop()


# Callables that denylist scanners missed (THREATS.md, CVE-2025-1716 and picklescan GHSAs).
MISSED_BY_DENYLISTS = [
    ("runpy", "_run_code", "MT-PKL-001"),
    ("cProfile", "run", "MT-PKL-001"),
    ("timeit", "timeit", "MT-PKL-001"),
    ("pdb", "run", "MT-PKL-001"),
    ("code", "InteractiveInterpreter.runsource", "MT-PKL-001"),
    ("pty", "spawn", "MT-PKL-002"),
    ("ctypes", "CDLL", "MT-PKL-005"),
    ("asyncio.subprocess", "create_subprocess_shell", "MT-PKL-002"),
    ("logging", "FileHandler", "MT-PKL-006"),
    ("_io", "FileIO", "MT-PKL-006"),
    ("urllib.request", "urlopen", "MT-PKL-007"),
    ("ssl", "get_server_certificate", "MT-PKL-007"),
    ("dataclasses", "_create_fn", "MT-PKL-001"),
    ("multiprocessing.util", "spawnv_passfds", "MT-PKL-002"),
    ("trace", "Trace.run", "MT-PKL-001"),
    ("torch.hub", "load", None),
    ("types", "CodeType", "MT-PKL-001"),
    ("pip", "main", None),
    ("numpy.f2py", "compile", None),
    ("idlelib.pyshell", "ModifiedInterpreter.runcode", None),
]


@pytest.mark.parametrize(("module", "name", "rule"), MISSED_BY_DENYLISTS)
def test_dangerous_callables_are_critical_or_high(
    tmp_path: Path, module: str, name: str, rule: str | None
) -> None:
    report = scan_bytes(tmp_path, call_p4(module, name))
    assert report.max_severity is not None and report.max_severity >= Severity.HIGH
    if rule:
        assert rule in rule_ids(report, Severity.HIGH)


RESOLVERS = [("pkgutil", "resolve_name"), ("importlib", "import_module"), ("pydoc", "locate"),
             ("operator", "attrgetter"), ("operator", "methodcaller"), ("builtins", "getattr"),
             ("builtins", "__import__")]


@pytest.mark.parametrize(("module", "name"), RESOLVERS)
def test_string_to_callable_resolvers(tmp_path: Path, module: str, name: str) -> None:
    report = scan_bytes(tmp_path, call_p4(module, name, "os"))
    assert report.max_severity is Severity.CRITICAL
    assert "MT-PKL-003" in rule_ids(report, Severity.CRITICAL)


def test_unknown_third_party_callable_is_denied_by_default(tmp_path: Path) -> None:
    report = scan_bytes(tmp_path, call_p4("somepkg.helpers", "do_something", "x"))
    assert rule_ids(report) == {"MT-PKL-010"}
    assert report.max_severity is Severity.HIGH


def test_grade_rises_when_invoked(tmp_path: Path) -> None:
    referenced = b.proto(4) + b.stack_global("somepkg", "thing") + b"."
    report = scan_bytes(tmp_path, referenced)
    assert report.max_severity is Severity.MEDIUM
    referenced = b.proto(4) + b.stack_global("os", "system") + b"."
    assert scan_bytes(tmp_path, referenced).max_severity is Severity.HIGH


def test_dotted_name_reaches_os_system(tmp_path: Path) -> None:
    report = scan_bytes(tmp_path, call_p4("pathlib", "os.system"))
    assert "MT-PKL-002" in rule_ids(report, Severity.CRITICAL)


def test_builtins_dict_of_harmless_module(tmp_path: Path) -> None:
    data = b.proto(4) + b.stack_global("collections", "__builtins__") + b"."
    assert scan_bytes(tmp_path, data).max_severity >= Severity.HIGH  # type: ignore[operator]


def test_stack_global_operands_from_memo_still_resolved(tmp_path: Path) -> None:
    data = (b.proto(4) + b.sbu("os") + b.binput(1) + b.POP + b.sbu("system") + b.binput(2)
            + b.POP + b.binget(1) + b.binget(2) + b"\x93" + b.sbu(b.MARKER_CMD) + b"\x85R.")
    report = scan_bytes(tmp_path, data)
    ev = [f.evidence for f in report.findings if f.rule_id == "MT-PKL-002"]
    assert ev and "os.system" in ev[0] and "STACK_GLOBAL" in ev[0]


def test_stack_global_computed_at_runtime(tmp_path: Path) -> None:
    data = (b.proto(4) + b.stack_global("builtins", "str") + b.sbu("os") + b"\x85R"
            + b.sbu("system") + b"\x93" + b.sbu("x") + b"\x85R.")
    assert "MT-PKL-020" in rule_ids(scan_bytes(tmp_path, data), Severity.CRITICAL)


def test_payload_then_garbage_is_critical(tmp_path: Path) -> None:
    data = b.system_call_p4()[:-1] + b"\xff\xfe garbage"
    report = scan_bytes(tmp_path, data)
    broken = [f for f in report.findings if f.rule_id == "MT-PKL-030"]
    assert broken and broken[0].severity is Severity.CRITICAL
    assert "MT-PKL-002" in rule_ids(report, Severity.CRITICAL)


def test_payload_then_unset_memo_get(tmp_path: Path) -> None:
    data = b.system_call_p4()[:-1] + b.binget(77) + b"."
    report = scan_bytes(tmp_path, data)
    assert {"MT-PKL-002", "MT-PKL-030"} <= rule_ids(report, Severity.CRITICAL)


def test_payload_with_no_stop(tmp_path: Path) -> None:
    report = scan_bytes(tmp_path, b.system_call_p4()[:-1])
    assert {"MT-PKL-002", "MT-PKL-030"} <= rule_ids(report, Severity.CRITICAL)


@pytest.mark.parametrize("index", [1, 2, 3, 4])
def test_payload_in_any_stacked_pickle_of_legacy_torch(tmp_path: Path, index: int) -> None:
    parts = [pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2), pickle.dumps(1001, protocol=2),
             pickle.dumps({"little_endian": True}, protocol=2), pickle.dumps({}, protocol=2),
             pickle.dumps([], protocol=2)]
    parts[index] = b.proto(2) + b.call1(b.global0("os", "system"), b.sbu(b.MARKER_CMD)) + b"."
    report = scan_bytes(tmp_path, b"".join(parts) + b"\x00" * 64, "model.bin")
    assert "MT-PKL-002" in rule_ids(report, Severity.CRITICAL)
    assert report.files[0].format == "pytorch-legacy"


def test_legacy_magic_computed_with_eval(tmp_path: Path) -> None:
    first = b.proto(2) + b.call1(b.global0("builtins", "eval"), b.sbu("0x1950A86A20F9469CFC6C"))
    data = first + b"." + pickle.dumps(1001, protocol=2) + pickle.dumps({}, protocol=2)
    report = scan_bytes(tmp_path, data, "model.pt")
    assert {"MT-PKL-040", "MT-PKL-001"} <= rule_ids(report, Severity.CRITICAL)


def test_nested_pickle_loads_is_scanned(tmp_path: Path) -> None:
    inner = b.system_call_p4()
    data = (b.proto(4) + b.stack_global("pickle", "loads") + b"C" + bytes([len(inner)]) + inner
            + b"\x85R.")
    report = scan_bytes(tmp_path, data)
    nested = [f for f in report.findings if "!@loads@" in f.path]
    assert nested and nested[0].rule_id == "MT-PKL-002"
    assert "MT-PKL-004" in rule_ids(report, Severity.CRITICAL)


def test_pickle_hidden_in_data_is_scanned(tmp_path: Path) -> None:
    import base64

    inner = b.system_call_p4()
    data = pickle.dumps({"blob": base64.b64encode(inner).decode()}, protocol=4)
    report = scan_bytes(tmp_path, data)
    assert "MT-PKL-036" in rule_ids(report, Severity.HIGH)
    assert any(f.path.endswith("!@data@0x1c") or "!@data@" in f.path for f in report.findings)


def test_second_stage_loaders_of_other_files(tmp_path: Path) -> None:
    for module, name in [("torch", "load"), ("joblib", "load"), ("numpy", "load")]:
        report = scan_bytes(tmp_path, call_p4(module, name, "other.bin"))
        assert "MT-PKL-004" in rule_ids(report, Severity.CRITICAL), (module, name)


def test_budget_exhaustion_payload_after_many_opcodes(tmp_path: Path) -> None:
    filler = pickle.dumps(list(range(300_000)), protocol=4)[2:-1] + b"0"
    data = b.proto(4) + filler + b.call1(b.stack_global("os", "system"), b.sbu("x")) + b"."
    report = scan_bytes(tmp_path, data)
    assert "MT-PKL-002" in rule_ids(report, Severity.CRITICAL)


def test_limit_hit_is_reported_and_partial(tmp_path: Path) -> None:
    from modeltrust._source.interface import Limits

    path = tmp_path / "big.pkl"
    path.write_bytes(pickle.dumps(list(range(300_000)), protocol=4))
    report = modeltrust.scan(path, limits=Limits(max_opcodes=100_000))
    assert "MT-PKL-032" in rule_ids(report)
    assert report.files[0].coverage.value == "partial"


def test_mutating_an_imported_module(tmp_path: Path) -> None:
    data = (b.proto(4) + b.stack_global("torch", "_utils") + b"}" + b.sbu("_rebuild_tensor")
            + b.stack_global("builtins", "eval") + b"sb.")
    assert "MT-PKL-021" in rule_ids(scan_bytes(tmp_path, data), Severity.CRITICAL)


def test_polyglot_pickle_then_zip(tmp_path: Path) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", b.system_call_p4())
    data = pickle.dumps({"ok": 1}, protocol=4) + buf.getvalue()
    report = scan_bytes(tmp_path, data)
    assert "MT-PKL-035" in rule_ids(report)


@pytest.mark.parametrize("protocol", range(6))
def test_benign_builtin_values_have_no_findings(tmp_path: Path, protocol: int) -> None:
    import collections
    import datetime
    import decimal

    value = {"a": [1, 2.0, "x", b"y", None], "od": collections.OrderedDict(a=1),
             "d": datetime.datetime(2024, 1, 2, 3, 4, 5), "dec": decimal.Decimal("1.5"),
             "s": {1, 2}, "c": complex(1, 2)}
    report = scan_bytes(tmp_path, pickle.dumps(value, protocol=protocol))
    assert not [f for f in report.findings if f.severity >= Severity.MEDIUM], report.findings


def test_opcode_variety_protocol0_text(tmp_path: Path) -> None:
    inst = b"(" + b.string0(b.MARKER_CMD) + b"ios\nsystem\n."
    assert "MT-PKL-002" in rule_ids(scan_bytes(tmp_path, inst), Severity.CRITICAL)
    ext = b.proto(2) + b"\x82\x07" + b")R."
    assert "MT-PKL-023" in rule_ids(scan_bytes(tmp_path, ext), Severity.HIGH)


def test_empty_random_and_truncated_files_give_complete_reports(tmp_path: Path) -> None:
    import os

    for name, data in [("empty.pkl", b""), ("random.pkl", os.urandom(4096)),
                       ("trunc.pkl", pickle.dumps(list(range(1000)), protocol=2)[:-7]),
                       ("prot.pkl", b"\x80\x09junk")]:
        report = scan_bytes(tmp_path, data, name)
        assert len(report.files) == 1, name
