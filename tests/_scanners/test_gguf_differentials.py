"""GGUF parser differentials and hostile layouts nobody wrote a sample for before.

Each test builds a file where llama.cpp (or gguf-py) would read something other than a naive
scanner: C-string keys, array-typed templates, wrongly typed alignment, data laid out out of
order or with bytes no tensor owns, and absurd counts in every integer width.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _scanners.test_gguf import (
    ARCH,
    MARKER_TEMPLATE,
    kv_str,
    kv_u32,
    raw_gguf,
    rules_of,
    s,
    scan,
    tinfo,
    u32,
    u64,
)
from _scanners.test_gguf import (
    write as write_gguf,
)
from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners._gguf import MAX_NESTED
from modeltrust.findings import Severity

np = pytest.importorskip("numpy")
gguf = pytest.importorskip("gguf")


def kv(key: str, vtype: int, payload: bytes) -> bytes:
    return s(key) + u32(vtype) + payload


# ---- keys and templates --------------------------------------------------------------------


def test_nul_truncated_template_key_is_handed_on() -> None:
    # llama.cpp's loader keys its metadata map by C string: this key *is* the chat template
    # there, and it wins over the benign one that follows (first insert wins).
    data = raw_gguf([ARCH, kv_str("tokenizer.chat_template\0hidden", MARKER_TEMPLATE),
                     kv_str("tokenizer.chat_template", "{{ messages }}")])
    r = scan(data)
    nul = r.by_rule("MT-GGUF-014")
    assert len(nul) == 1 and nul[0].severity is Severity.MEDIUM
    assert "'tokenizer.chat_template'" in nul[0].evidence
    handed = {c.path.split("!", 1)[1]: c._data for c in r.children}
    assert handed["tokenizer.chat_template\\0hidden.jinja"] == MARKER_TEMPLATE.encode()
    assert handed["tokenizer.chat_template.jinja"] == b"{{ messages }}"
    assert all("\0" not in c.path for c in r.children)
    assert "\0" not in "".join(k + v for k, v in r.result.properties)


def test_template_stored_as_string_array_is_handed_on_as_llama_text() -> None:
    items = [MARKER_TEMPLATE, 'say "hi"']
    payload = u32(8) + u64(len(items)) + b"".join(s(i) for i in items)
    r = scan(raw_gguf([ARCH, kv("tokenizer.chat_template.tool_use", 9, payload)]))
    assert rules_of(r) == {"MT-GGUF-015"}
    text = r.child_data("tokenizer.chat_template.tool_use.jinja")
    assert MARKER_TEMPLATE.encode() in text
    assert text.startswith(b'["') and text.endswith(b'say \\"hi\\""]')
    assert dict(r.result.properties)["gguf.chat_templates"] == "tokenizer.chat_template.tool_use"


def test_duplicate_template_keys_get_distinct_child_names() -> None:
    r = scan(raw_gguf([ARCH, kv_str("tokenizer.chat_template", "{{ a }}"),
                       kv_str("tokenizer.chat_template", "{{ b }}")]))
    assert sorted(r.names()) == ["tokenizer.chat_template#2.jinja",
                                 "tokenizer.chat_template.jinja"]


def test_non_utf8_keys_are_not_false_duplicates() -> None:
    r = scan(raw_gguf([ARCH, s(b"k\xff") + u32(4) + u32(1), s(b"k\xfe") + u32(4) + u32(1)]))
    assert rules_of(r) == {"MT-GGUF-011"}


def test_tensor_names_non_utf8_and_nul() -> None:
    tensors = [s(b"w\xff") + u32(1) + u64(8) + u32(0) + u64(0),
               s(b"w\xfe") + u32(1) + u64(8) + u32(0) + u64(32),
               tinfo("attn\0evil", [8], offset=64)]
    r = scan(raw_gguf([ARCH], tensors, b"\0" * 96))
    assert rules_of(r) == {"MT-GGUF-011", "MT-GGUF-014"}
    assert len(r.by_rule("MT-GGUF-011")) == 2


def test_scalar_quantised_tensor_is_invalid() -> None:
    # ggml treats a 0-dimensional tensor as [1]: one element is not a Q4_0 block of 32
    r = scan(raw_gguf([ARCH], [tinfo("s", [], ggml=2)], b"\0" * 32))
    assert rules_of(r) == {"MT-GGUF-009"} and "first dimension 1" in r.findings[0].evidence


# ---- alignment -----------------------------------------------------------------------------


@pytest.mark.parametrize(("vtype", "payload"), [
    (10, u64(64)),                 # UINT64: gguf-py raises, llama.cpp aborts
    (5, struct.pack("<i", 64)),    # INT32
    (2, struct.pack("<H", 64)),    # UINT16
    (7, b"\x01"),                  # BOOL
    (6, struct.pack("<f", 64.0)),  # FLOAT32
])
def test_alignment_of_another_type_is_a_finding(vtype: int, payload: bytes) -> None:
    data = raw_gguf([ARCH, kv("general.alignment", vtype, payload)], [tinfo("t", [8])],
                    b"\0" * 32)
    r = scan(data)
    assert rules_of(r) == {"MT-GGUF-010"}
    assert "not UINT32" in r.findings[0].evidence


def test_duplicate_alignment_keys_are_a_differential() -> None:
    data = raw_gguf([ARCH, kv_u32("general.alignment", 32), kv_u32("general.alignment", 64)],
                    [tinfo("t", [8])], b"\0" * 32)
    assert "MT-GGUF-004" in rules_of(scan(data))


def test_huge_power_of_two_alignment_puts_data_past_the_end() -> None:
    data = raw_gguf([ARCH, kv_u32("general.alignment", 1 << 31)], [tinfo("t", [8])],
                    b"\0" * 32)
    assert "MT-GGUF-006" in rules_of(scan(data))


def test_writer_with_custom_alignment_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "a.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_custom_alignment(64)
    w.add_tensor("a", np.ones(3, dtype=np.float32))
    w.add_tensor("b", np.ones(5, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    r = scan(path.read_bytes())
    assert r.findings == [] and r.result.coverage is Coverage.ANALYSED


# ---- data layout ---------------------------------------------------------------------------


def test_gap_between_tensors() -> None:
    r = scan(raw_gguf([ARCH], [tinfo("a", [8]), tinfo("b", [8], offset=64)], b"\0" * 96))
    out = r.by_rule("MT-GGUF-016")
    assert len(out) == 1 and out[0].location.tensor == "b" and "expects 32" in out[0].evidence
    assert rules_of(r) == {"MT-GGUF-016"}


def test_data_in_another_order_than_the_table() -> None:
    r = scan(raw_gguf([ARCH], [tinfo("a", [8], offset=32), tinfo("b", [8], offset=0)],
                      b"\0" * 64))
    assert rules_of(r) == {"MT-GGUF-016"}


def test_aliasing_tensors_are_overlap_and_layout() -> None:
    r = scan(raw_gguf([ARCH], [tinfo("a", [8]), tinfo("b", [8])], b"\0" * 32))
    assert rules_of(r) == {"MT-GGUF-008", "MT-GGUF-016"}


def test_archive_appended_to_a_writer_file(tmp_path: Path) -> None:
    data = write_gguf(tmp_path) + b"PK\x03\x04" + b"MODELTRUST-TEST-MARKER" * 4
    r = scan(data)
    out = r.by_rule("MT-GGUF-016")
    assert len(out) == 1 and "follow the last tensor" in out[0].evidence


def test_non_zero_alignment_padding() -> None:
    tensor = tinfo("t", [8])
    data = bytearray(raw_gguf([ARCH], [tensor], b"\0" * 32))
    info_end = 24 + len(ARCH) + len(tensor)
    assert info_end < len(data) - 32 and data[len(data) - 33] == 0
    assert scan(bytes(data)).findings == []
    data[len(data) - 33] = 0x41
    r = scan(bytes(data))
    assert rules_of(r) == {"MT-GGUF-016"} and "1 non-zero bytes" in r.findings[0].evidence
    padded = raw_gguf([ARCH], [tinfo("a", [3]), tinfo("b", [3], offset=32)],
                      b"\0" * 12 + b"HIDDEN" + b"\0" * 14 + b"\0" * 12)
    r = scan(padded)
    assert rules_of(r) == {"MT-GGUF-016"} and "non-zero" in r.findings[0].evidence


def test_zero_tensors_with_trailing_bytes() -> None:
    r = scan(raw_gguf([ARCH]) + b"\0" * 64)
    assert rules_of(r) == {"MT-GGUF-016"}


# ---- counts in every width -----------------------------------------------------------------


def v1(kvs: list[bytes], n_tensors: int = 0, n_kv: int | None = None) -> bytes:
    return (b"GGUF" + u32(1) + u32(n_tensors) + u32(len(kvs) if n_kv is None else n_kv)
            + b"".join(kvs))


def s1(text: bytes) -> bytes:
    return u32(len(text)) + text


@pytest.mark.parametrize("data", [
    v1([], n_tensors=2**32 - 1),
    v1([], n_kv=2**32 - 1),
    v1([u32(2**32 - 1) + b"k"]),
    v1([s1(b"k") + u32(8) + u32(2**31)]),
    v1([s1(b"k") + u32(9) + u32(10) + u32(2**32 - 1)]),
    v1([s1(b"k") + u32(9) + u32(8) + u32(2**31)]),
])
def test_version_1_counts_are_32_bit_and_bounded(data: bytes) -> None:
    r = scan(data)
    assert rules_of(r) & {"MT-GGUF-001", "MT-GGUF-002"}
    assert r.result.coverage is not Coverage.ANALYSED


def test_version_1_is_not_read_with_64_bit_lengths() -> None:
    # A v1 string length of 5 followed by the value: a 64-bit reader would see 5 + 2**32*...
    data = v1([s1(b"general.architecture") + u32(8) + s1(b"llama")])
    r = scan(data)
    assert r.findings == []
    assert dict(r.result.properties)["gguf.architecture"] == "llama"


def test_big_endian_absurd_counts() -> None:
    data = b"GGUF" + struct.pack(">I", 3) + struct.pack(">Q", 2**62) + struct.pack(">Q", 0)
    r = scan(data)
    assert [f.rule_id for f in r.findings] == ["MT-GGUF-002"]


def test_huge_nested_array_count_stops_at_once() -> None:
    inner = u32(4) + u64(0)
    r = scan(raw_gguf([ARCH, kv("n", 9, u32(9) + u64(MAX_NESTED + 1) + inner * 8)]))
    assert "MT-GGUF-002" in rules_of(r)
    assert r.result.coverage is Coverage.PARTIAL


def test_arrays_nested_three_deep_stop() -> None:
    r = scan(raw_gguf([ARCH, kv("n", 9, u32(9) + u64(1) + u32(9) + u64(1) + u32(4) + u64(0))]))
    assert "MT-GGUF-003" in rules_of(r) and "nested deeper" in r.findings[-1].evidence


# ---- metadata summary ----------------------------------------------------------------------


def test_summary_keeps_licence_and_lineage_however_many_general_keys() -> None:
    filler = [kv_str(f"general.aaa{i:03d}", "x") for i in range(300)]
    data = raw_gguf([*filler, kv_str("general.license", "apache-2.0"),
                     kv_str("general.base_model.0.name", "Base"), ARCH])
    props = dict(scan(data).result.properties)
    assert props["gguf.architecture"] == "llama"
    assert props["gguf.license"] == "apache-2.0"
    assert props["gguf.base_model.0.name"] == "Base"
    assert len(props) < 200


def test_summary_escapes_control_characters() -> None:
    props = dict(scan(raw_gguf([ARCH, kv_str("general.na\0me", "a\x00b\x1bc\nd")])).result
                 .properties)
    assert props["gguf.na\\x00me"] == "a\\x00b\\x1bc\nd"


# ---- structured property test --------------------------------------------------------------


_KVS = st.one_of(
    st.builds(kv_str, st.text(max_size=8), st.binary(max_size=8)),
    st.builds(kv_u32, st.sampled_from(["general.alignment", "k"]), st.integers(0, 2**32 - 1)),
    st.builds(lambda k, t, n, b: kv(k, 9, u32(t) + u64(n) + b),
              st.text(max_size=4), st.integers(0, 13), st.integers(0, 2**64 - 1),
              st.binary(max_size=16)),
)
_TENSORS = st.builds(lambda n, d, g, o: tinfo(n, d, ggml=g, offset=o), st.text(max_size=6),
                     st.lists(st.integers(0, 2**64 - 1), max_size=5), st.integers(0, 40),
                     st.integers(0, 2**64 - 1))


@settings(max_examples=200, deadline=None)
@given(st.lists(_KVS, max_size=5), st.lists(_TENSORS, max_size=4), st.binary(max_size=128),
       st.integers(1, 3))
def test_structured_files_never_crash(kvs: list[bytes], tensors: list[bytes], data: bytes,
                                      version: int) -> None:
    r = scan(raw_gguf(kvs, tensors, data, version=version))
    assert r.result.format is Format.GGUF
    assert all(f.rule_id.startswith(("MT-GGUF-", "MT-GEN-003")) for f in r.findings)
    assert all("\0" not in c.path for c in r.children)
