"""safetensors and shard-index differentials and hostile headers beyond the basic rules.

Duplicate keys spelled differently, aliasing spans, padding tricks, JSON that costs far more
memory than its size, and shard indexes that name one file several ways.
"""

from __future__ import annotations

import json
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _scanners.test_safetensors import (
    check,
    ids,
    raw,
    rules_of,
    saved,
    scan,
    u8,
    write_index,
    write_sharded,
)
from modeltrust._report.model import Coverage
from modeltrust._scanners.safetensors import MAX_JSON_ITEMS, read_header
from modeltrust.findings import Severity

np = pytest.importorskip("numpy")
st_numpy = pytest.importorskip("safetensors.numpy")


# ---- duplicate keys ------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    '{"w": %s, "\\u0077": %s}',                      # the same key, escaped
    '{"w": %s, "__metadata__": {"a": "1", "a": "2"}, "x": %s}',
])
def test_duplicate_keys_however_spelled(text: str) -> None:
    a, b = json.dumps(u8(0, 2)), json.dumps(u8(2, 4))
    r = scan(raw(text % (a, b), b"\0" * 4))
    assert "MT-SFT-002" in rules_of(r)


def test_duplicate_field_inside_an_entry() -> None:
    text = '{"w": {"dtype": "U8", "dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'
    r = scan(raw(text, b"\0" * 4))
    assert r.by_rule("MT-SFT-002")[0].severity is Severity.HIGH
    assert "'dtype'" in r.by_rule("MT-SFT-002")[0].evidence


# ---- aliasing spans ------------------------------------------------------------------------


def test_two_tensors_on_the_same_bytes() -> None:
    r = scan(raw({"a": u8(0, 4), "b": u8(0, 4)}, b"\0" * 4))
    assert rules_of(r) == {"MT-SFT-007"}


def test_empty_tensor_inside_another() -> None:
    r = scan(raw({"a": u8(0, 4), "z": u8(2, 2)}, b"\0" * 4))
    out = r.by_rule("MT-SFT-007")
    assert len(out) == 1 and out[0].location.tensor == "z"


def test_empty_tensors_at_a_boundary_are_fine() -> None:
    assert scan(raw({"a": u8(0, 4), "z": u8(4, 4), "y": u8(0, 0)}, b"\0" * 4)).findings == []


def test_library_file_with_a_tensor_aliasing_another() -> None:
    data = saved({"x": np.zeros(4, np.float32), "y": np.ones(4, np.float32)})
    n = struct.unpack_from("<Q", data)[0]
    header = json.loads(data[8 : 8 + n])
    header["z"] = dict(header["x"])
    r = scan(raw(header, data[8 + n :]))
    assert "MT-SFT-007" in rules_of(r)


# ---- padding and encoding tricks -----------------------------------------------------------


@pytest.mark.parametrize(("text", "rule"), [
    ("\ufeff{}", "MT-SFT-001"),          # a byte-order mark before the object
    ("{}\0\0\0\0\0\0", "MT-SFT-001"),    # NUL padding
    ("{}\n\n\n\n\n\n", "MT-SFT-010"),    # newline padding
    ("\t{}", "MT-SFT-010"),
])
def test_padding_and_encoding_tricks(text: str, rule: str) -> None:
    r = scan(raw(text, b"", pad=False))
    assert rules_of(r) == {rule}


@pytest.mark.parametrize("value", ["1e400", "9" * 5000, "-0", "1.0", "true"])
def test_odd_numbers_in_offsets(value: str) -> None:
    text = '{"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, ' + value + "]}}"
    r = scan(raw(text, b"\0\0"))
    assert rules_of(r) & {"MT-SFT-001", "MT-SFT-004", "MT-SFT-008"}


def test_nested_metadata_is_a_finding() -> None:
    r = scan(raw({"__metadata__": {"format": "pt", "cfg": {"a": "b"}}}, b""))
    assert rules_of(r) == {"MT-SFT-009"} and "dict" in r.findings[0].evidence


def test_metadata_properties_escape_control_characters() -> None:
    r = scan(raw({"__metadata__": {"n\u0000te": "a\u0000b\u001b"}}, b""))
    assert dict(r.result.properties)["safetensors.metadata.n\\x00te"] == "a\\x00b\\x1b"


# ---- memory bound --------------------------------------------------------------------------


@pytest.mark.parametrize("item", ["{}", "[]", "0", '"a"'])
def test_json_costing_gigabytes_is_refused_before_parsing(item: str) -> None:
    text = '{"__metadata__": {}, "x": [' + ",".join([item] * (MAX_JSON_ITEMS + 1)) + "]}"
    r = scan(raw(text, b""))
    assert [f.rule_id for f in r.findings] == ["MT-SFT-001"]
    assert "exceed the limit" in r.findings[0].evidence
    assert r.result.coverage is Coverage.NOT_ANALYSED


def test_header_prefix_with_the_real_file_size() -> None:
    data = saved() + b"\0" * 8
    n = struct.unpack_from("<Q", data)[0]
    h = read_header(data[: 8 + n], len(data))
    assert [p.issue.name for p in h.problems] == ["GAP"]


# ---- shard indexes -------------------------------------------------------------------------


def test_one_shard_spelled_two_ways_is_not_a_false_positive(tmp_path: Path) -> None:
    index = write_sharded(tmp_path, n=2)
    wmap: dict[str, str] = index["weight_map"]  # type: ignore[assignment]
    wmap["l1.t0"] = "./" + wmap["l1.t0"]
    wmap["l2.t0"] = ".//" + wmap["l2.t0"]
    write_index(tmp_path, index)
    assert check(tmp_path) == []


def test_shards_present_but_the_index_maps_none(tmp_path: Path) -> None:
    write_sharded(tmp_path, n=2)
    write_index(tmp_path, {"weight_map": {}})
    found = check(tmp_path)
    assert ids(found) == ["MT-SFT-025", "MT-SFT-025"]


def test_dot_dot_through_a_symlink_is_an_escape(tmp_path: Path) -> None:
    outside = tmp_path / "outside" / "dir"
    outside.mkdir(parents=True)
    st_numpy.save_file({"w": np.zeros(2, np.float32)}, str(tmp_path / "outside" / "x.safetensors"))
    model = tmp_path / "model"
    model.mkdir()
    (model / "link").symlink_to(outside)
    write_index(model, {"weight_map": {"w": "link/../x.safetensors"}})
    assert ids(check(model)) == ["MT-SFT-022"]


def test_index_costing_gigabytes_is_malformed(tmp_path: Path) -> None:
    write_index(tmp_path, '{"weight_map": {}, "x": [' + ",".join(["{}"] * (MAX_JSON_ITEMS + 1))
                + "]}")
    found = check(tmp_path)
    assert ids(found) == ["MT-SFT-020"] and "exceed the limit" in found[0].evidence


def test_duplicate_tensor_in_the_weight_map(tmp_path: Path) -> None:
    write_sharded(tmp_path, n=2)
    text = (tmp_path / "model.safetensors.index.json").read_text()
    text = text.replace('"l1.t0": "model-00001-of-00002.safetensors"',
                        '"l1.t0": "model-00001-of-00002.safetensors", '
                        '"l1.t0": "model-00002-of-00002.safetensors"')
    write_index(tmp_path, text)
    assert "MT-SFT-020" in ids(check(tmp_path))


@pytest.mark.parametrize(("text", "flagged"), [
    ('{"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}', False),   # json.dumps
    ('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', False),           # compact
    ('{"a":{"dtype":"U8 \\t x","shape":[2],"data_offsets":[0,2]}}', False),  # inside a string
    ('{"a":{"dtype":"U8",\t"shape":[2],"data_offsets":[0,2]}}', True),
    ('{"a":{"dtype":"U8",  "shape":[2],"data_offsets":[0,2]}}', True),
    ('{\n  "a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}\n}', True),
    ('{"a" :{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', True),
    ('{"a": { "dtype":"U8","shape":[2],"data_offsets":[0,2]}}', True),
])
def test_whitespace_between_tokens(text: str, flagged: bool) -> None:
    r = scan(raw(text, b"\0\0"))
    assert ("MT-SFT-010" in rules_of(r)) is flagged


_NAMES = st.one_of(st.text(max_size=12), st.sampled_from([
    "model-00001-of-00002.safetensors", "./model-00002-of-00002.safetensors", "..", "/x",
    "a\x00b", "link/../x", "model-00003-of-00002.safetensors", ""]))


@settings(max_examples=100, deadline=None)
@given(st.one_of(
    st.dictionaries(st.text(max_size=6), _NAMES, max_size=6).map(
        lambda m: json.dumps({"metadata": {"total_size": 48}, "weight_map": m})),
    st.text(max_size=64),
    st.recursive(st.none() | st.integers() | st.text(max_size=4),
                 lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c,
                                                                    max_size=3)).map(json.dumps),
))
def test_any_index_never_raises(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        st_numpy.save_file({"a": np.zeros(2, np.float32)},
                           str(folder / "model-00001-of-00002.safetensors"))
        write_index(folder, text)
        for f in check(folder):
            assert f.rule_id.startswith("MT-SFT-02")
