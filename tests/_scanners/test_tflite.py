"""TFLite: flatbuffer bounds, custom ops and Flex (TensorFlow) ops."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modeltrust
from _scanners.archive_factory import Run, run
from helpers import tflitefb as fb
from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners.tflite import TfliteScanner, read_model
from modeltrust.findings import Severity

SCANNER = TfliteScanner()


def scan(data: bytes) -> Run:
    return run(SCANNER, "model.tflite", data, Format.TFLITE)


def test_benign_model_is_clean() -> None:
    r = scan(fb.benign())
    assert r.findings == []
    assert r.result.coverage is Coverage.ANALYSED
    assert r.result.detail == "TFLite v3: 1 subgraphs, 3 operators, 2 op codes"


def test_reader_sees_op_codes_and_uses() -> None:
    model, error = read_model(fb.with_custom_and_flex())
    assert error is None
    assert model.opcodes == [(0, None), (32, "MyVendorOp"), (32, "FlexReadFile"),
                             (32, "FlexMatMul")]
    assert model.uses == {0: 1, 1: 1, 2: 1, 3: 1}
    assert model.description == "MLIR Converted."


def test_custom_and_flex_ops() -> None:
    r = scan(fb.with_custom_and_flex())
    flex = r.by_rule("MT-TFL-001")
    assert sorted((f.severity, f.evidence) for f in flex) == [
        (Severity.MEDIUM, "2 Flex ops: FlexMatMul x1, FlexReadFile x1"),
        (Severity.HIGH, "op code 2: FlexReadFile runs TensorFlow ReadFile, which reads or "
                        "lists files on the host"),
    ]
    custom = r.by_rule("MT-TFL-002")
    assert [(f.severity, f.evidence) for f in custom] == [(Severity.LOW, "1 custom ops: "
                                                                         "MyVendorOp")]


@pytest.mark.parametrize(("op", "severity"), [("FlexPyFunc", Severity.CRITICAL),
                                              ("FlexEagerPyFunc", Severity.CRITICAL),
                                              ("FlexWriteFile", Severity.HIGH),
                                              ("FlexRpc", Severity.HIGH),
                                              ("FlexDebugIdentity", Severity.MEDIUM)])
def test_dangerous_flex_ops(op: str, severity: Severity) -> None:
    r = scan(fb.model([fb.opcode(fb.CUSTOM, op)], [0]))
    assert max(f.severity for f in r.by_rule("MT-TFL-001")) is severity


def test_well_known_custom_op_is_info() -> None:
    r = scan(fb.model([fb.opcode(fb.CUSTOM, "TFLite_Detection_PostProcess")], [0]))
    assert [(f.rule_id, f.severity) for f in r.findings] == [("MT-TFL-002", Severity.INFO)]


def test_builtin_code_above_127_uses_new_field() -> None:
    r = scan(fb.model([fb.opcode(150)], [0]))
    assert r.findings == []


def _malformed(data: bytes) -> Run:
    r = scan(data)
    assert [f.rule_id for f in r.findings] == ["MT-TFL-003"], r.findings
    assert r.result.coverage is Coverage.PARTIAL
    return r


def test_truncated() -> None:
    data = fb.benign()
    for cut in (8, 20, len(data) // 2, len(data) - 4):
        _malformed(data[:cut])


def test_bad_identifier() -> None:
    data = bytearray(fb.benign())
    data[4:8] = b"XXXX"
    assert "TFL3" in _malformed(bytes(data)).findings[0].evidence


def test_root_offset_outside() -> None:
    data = bytearray(fb.benign())
    struct.pack_into("<I", data, 0, 0x7FFFFFF0)
    _malformed(bytes(data))


def test_vtable_outside() -> None:
    data = bytearray(fb.benign())
    root = struct.unpack_from("<I", data, 0)[0]
    struct.pack_into("<i", data, root, -0x100000)
    _malformed(bytes(data))


def test_huge_vector_length() -> None:
    data = bytearray(fb.benign())
    needle = struct.pack("<I", 2) + struct.pack("<I", 12)  # operator_codes: count 2, ...
    at = data.find(struct.pack("<I", 2), 8)
    assert at > 0 and needle
    struct.pack_into("<I", data, at, 0x7FFFFFFF)
    r = scan(bytes(data))
    assert r.by_rule("MT-TFL-003")


def test_opcode_index_out_of_range() -> None:
    r = _malformed(fb.model([fb.opcode(0)], [0, 7]))
    assert "operator code index 7 of 1" in r.findings[0].evidence


def test_buffer_offset_outside_file() -> None:
    tensors = [fb.Table({2: ("<I", 0)})]
    sub = fb.Table({0: tensors, 3: [fb.Table({0: ("<I", 0)})]})
    bufs = [fb.Table({1: ("<Q", 1 << 40), 2: ("<Q", 16)})]
    data = fb.finish(fb.Table({0: ("<I", 3), 1: [fb.opcode(0)], 2: [sub], 4: bufs}))
    assert "lies past the end" in _malformed(data).findings[0].evidence


def test_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(fb.with_custom_and_flex())
    report = modeltrust.scan(path)
    assert report.files[0].format == "tflite"
    assert {f.rule_id for f in report.findings} == {"MT-TFL-001", "MT-TFL-002"}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes(data: bytes) -> None:
    start = time.monotonic()
    r = scan(b"\x10\x00\x00\x00TFL3" + data)
    assert r.result.format is Format.TFLITE
    assert time.monotonic() - start < 5


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_model(data: st.DataObject) -> None:
    raw = bytearray(fb.with_custom_and_flex())
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    r = scan(bytes(raw[: data.draw(st.integers(1, len(raw)))]))
    assert all(f.rule_id.startswith("MT-TFL-") for f in r.findings)


# --- unseen variants: Flex NodeDefs, look-alike names, indices, huge vectors -----------------

from helpers import tfproto as tp  # noqa: E402


def test_flex_nodedef_runs_a_different_op_than_its_name() -> None:
    """The Flex delegate runs the NodeDef's op: a FlexMatMul code can carry WriteFile."""
    nodedef = tp.node("w", "WriteFile", ["p", "c"])
    data = fb.model_with_operators(
        [fb.opcode(fb.CUSTOM, "FlexMatMul")],
        [fb.operator(0, custom_options=fb.flex_options("MatMul", nodedef))])
    r = scan(data)
    assert r.result.coverage is Coverage.ANALYSED
    hits = [f for f in r.by_rule("MT-TFL-001") if f.severity is Severity.HIGH]
    assert any("different TensorFlow op, WriteFile" in f.evidence for f in hits)
    assert any("writes to the file system" in f.evidence for f in hits)


def test_flex_nodedef_with_python_op_is_critical() -> None:
    nodedef = tp.node("p", "EagerPyFunc", attrs={"token": tp.attr_s("pyfunc_7")}) + b"x" * 300
    data = fb.model_with_operators(
        [fb.opcode(fb.CUSTOM, "FlexEagerPyFunc")],
        [fb.operator(0, custom_options=fb.flex_options("EagerPyFunc", nodedef))])
    worst = max(f.severity for f in scan(data).findings)
    assert worst is Severity.CRITICAL


def test_flex_nodedef_matching_its_name_is_not_a_mismatch() -> None:
    data = fb.model_with_operators(
        [fb.opcode(fb.CUSTOM, "FlexMatMul")],
        [fb.operator(0, custom_options=fb.flex_options("MatMul", tp.node("m", "MatMul")))])
    r = scan(data)
    assert [f.severity for f in r.findings] == [Severity.MEDIUM]  # the Flex listing only


@pytest.mark.parametrize(("name", "severity"), [
    ("flexReadFile", Severity.HIGH), ("FLEXPyFunc", Severity.CRITICAL),
    ("ReadFile", Severity.HIGH), ("Addons>WriteFile", Severity.HIGH),
])
def test_custom_ops_named_like_tensorflow_side_effect_ops(name: str,
                                                          severity: Severity) -> None:
    r = scan(fb.model([fb.opcode(fb.ADD), fb.opcode(fb.CUSTOM, name)], [0, 1]))
    assert max(f.severity for f in r.findings) is severity


def test_operator_tensor_index_out_of_range() -> None:
    data = fb.model_with_operators([fb.opcode(fb.ADD)], [fb.operator(0, inputs=[0, 7])])
    r = scan(data)
    assert r.rules() == ["MT-TFL-003"] and "tensor index 7" in r.findings[0].evidence
    ok = fb.model_with_operators([fb.opcode(fb.ADD)], [fb.operator(0, inputs=[-1, 0])])
    assert scan(ok).findings == []


def test_operator_vector_past_the_item_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables are walked lazily and every item counts against the bound."""
    from modeltrust._scanners import tflite

    monkeypatch.setattr(tflite, "MAX_ITEMS", 10)
    r = scan(fb.model([fb.opcode(fb.ADD)], [0] * 40))
    assert r.rules() == ["MT-TFL-004"] and r.result.coverage is Coverage.PARTIAL


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_embedded_node_search_arbitrary_bytes(raw: bytes) -> None:
    from modeltrust._scanners.tflite import embedded_nodes

    for op, strings in embedded_nodes(raw):
        assert isinstance(op, str) and all(isinstance(s, str) for s in strings)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.text(max_size=20))
def test_embedded_nodes_in_real_flexbuffers(node: bytes, op: str) -> None:
    """Any payload in a well-formed options vector decodes or is skipped, never raises."""
    from modeltrust._scanners.tflite import embedded_nodes

    for name, strings in embedded_nodes(fb.flex_options(op, node)):
        assert isinstance(name, str) and all(isinstance(s, str) for s in strings)


def test_binary_nodedef_in_a_blob_is_read() -> None:
    from modeltrust._scanners.tflite import embedded_nodes

    nodedef = tp.node("w", "WriteFile") + b"\x2a\x02\xff\xfe"  # a non-UTF-8 attr payload
    assert [op for op, _ in embedded_nodes(fb.flex_options("MatMul", nodedef))] == ["WriteFile"]
