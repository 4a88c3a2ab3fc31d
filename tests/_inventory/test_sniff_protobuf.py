"""Protobuf formats have no magic: ONNX without a single NUL byte is still ONNX, text is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.onnx_models import TensorProto, helper, model, onnx, with_external
from modeltrust import scan
from modeltrust._inventory.formats import Format
from modeltrust._inventory.sniff import sniff


def _nul_free(location: str) -> bytes:
    """A ModelProto with external data and an unset opset domain: no NUL byte anywhere."""
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4],
                    data_location=TensorProto.EXTERNAL)
    entry = t.external_data.add()
    entry.key, entry.value = "location", location
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    graph = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "g", [], [y],
                              initializer=[t])
    m = onnx.ModelProto(ir_version=7, producer_name="pytorch", producer_version="0.3")
    m.graph.CopyFrom(graph)
    m.opset_import.add().version = 13
    data: bytes = m.SerializeToString()
    assert b"\x00" not in data  # the premise: text-like bytes
    return data


@pytest.mark.parametrize("ext", [".onnx", "", ".bin", ".model"])
def test_onnx_without_nul_bytes_is_onnx(ext: str) -> None:
    assert sniff(_nul_free("weights.bin"), ext).format is Format.ONNX


def test_nul_free_onnx_with_traversal_is_analysed(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(_nul_free("../../../../../../etc/hostname"))
    report = scan(tmp_path / "model.onnx")
    assert [f.rule_id for f in report.findings] == ["MT-ONX-002"]
    assert report.files[0].format == "onnx"


@pytest.mark.parametrize("text", [b"hello", b"hi", b"hi there\n", b":\x05hello", b"(x",
                                  b"\x08\x07\x12\x01a"])
def test_text_named_onnx_stays_text_and_is_a_mismatch(tmp_path: Path, text: bytes) -> None:
    assert sniff(text, ".onnx").format is Format.TEXT
    (tmp_path / "model.onnx").write_bytes(text)
    assert [f.rule_id for f in scan(tmp_path).findings] == ["MT-REPO-011"]


def test_onnx_with_fields_out_of_writer_order_is_onnx() -> None:
    m = onnx.load_from_string(model())
    graph = m.graph.SerializeToString()
    reordered = b"\x3a" + _varint(len(graph)) + graph + b"\x08\x08"  # graph, then ir_version
    assert onnx.load_from_string(reordered).graph.node  # the premise: onnx takes it
    assert sniff(reordered, ".onnx").format is Format.ONNX


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes([*out, n])


def test_nul_containing_onnx_keeps_its_detection() -> None:
    data = with_external("weights.bin")
    assert b"\x00" in data
    assert sniff(data, ".onnx").format is Format.ONNX
    assert sniff(data, "").format is Format.ONNX


def test_onnx_own_backend_models_are_onnx() -> None:
    root = Path(onnx.__file__).parent / "backend" / "test" / "data"
    files = sorted(root.glob("**/*.onnx"))[:300]
    if not files:
        pytest.skip("onnx ships no backend test data")
    wrong = [f for f in files if sniff(f.read_bytes(), ".onnx").format is not Format.ONNX]
    assert wrong == []


@pytest.mark.parametrize("data", [b"\x80\x04K\x01.", b"cos\nsystem\n(S'x'\ntR."])
def test_pickle_named_onnx_is_still_a_pickle(data: bytes) -> None:
    assert sniff(data, ".onnx").format is Format.PICKLE
