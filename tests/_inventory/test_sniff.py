"""Format sniffing: text that merely looks like a magic number, executables, Python files."""

from __future__ import annotations

import json
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeltrust._inventory.formats import Format
from modeltrust._inventory.sniff import sniff


@pytest.mark.parametrize("text", [b"x = 1\n", b"x ^ y\n", b"x\x01 = 2\n"])
def test_text_passing_the_zlib_header_check_is_not_zlib(text: bytes) -> None:
    assert sniff(text, ".py").format is Format.PYTHON
    assert sniff(text, "").format is not Format.ZLIB


@pytest.mark.parametrize("level", [1, 6, 9])
def test_real_zlib_streams_are_zlib(level: int) -> None:
    assert sniff(zlib.compress(b"payload" * 100, level), "").format is Format.ZLIB


def test_text_starting_with_gguf_is_text() -> None:
    assert sniff(b"GGUF quantisations of a model\n", ".md").format is Format.TEXT
    assert sniff(b"GGUF" + struct.pack("<I", 3) + b"\x00" * 24, "").format is Format.GGUF
    assert sniff(b"GGUF" + struct.pack(">I", 3) + b"\x00" * 24, "").format is Format.GGUF
    assert sniff(b"GGUF text but named .gguf", ".gguf").format is Format.GGUF


def _pe() -> bytes:
    head = bytearray(b"MZ" + b"\x00" * 0x3E)
    head[0x3C:0x40] = (0x40).to_bytes(4, "little")
    return bytes(head) + b"PE\x00\x00" + b"\x00" * 64


@pytest.mark.parametrize(("data", "detail"), [
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "ELF executable"),
    (_pe(), "Windows executable"),
    (b"\xcf\xfa\xed\xfe" + b"\x00" * 64, "Mach-O executable"),
])
@pytest.mark.parametrize("ext", [".bin", ".pkl", ".py", ".txt", ""])
def test_executables_win_over_extensions(data: bytes, detail: str, ext: str) -> None:
    assert sniff(data, ext) == (Format.UNKNOWN, detail)


def test_mz_without_pe_header_in_weights_is_not_an_executable() -> None:
    assert sniff(b"MZ" + bytes(range(200)), ".bin").format is Format.PICKLE


@pytest.mark.parametrize("data", [
    b"# caf\xe9\nimport os\n", "import os\n".encode("utf-16"), b"\x80\x04K\x01.",
    b"cos\nsystem\n(S'x'\ntR.",
])
def test_py_files_always_go_to_the_code_scanner(data: bytes) -> None:
    assert sniff(data, ".py").format is Format.PYTHON
    assert sniff(data, ".pyw").format is Format.PYTHON


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(["", ".py", ".bin", ".gguf", ".json", ".md"]))
def test_any_bytes_sniff_without_error(data: bytes, ext: str) -> None:
    assert isinstance(sniff(data, ext).format, Format)


# --- JSON in every encoding json.loads(bytes) takes (what Keras reads config.json with) --------

_DOC = '{"class_name": "Sequential", "config": {"layers": [], "name": "caf\u00e9"}}'


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be",
                                      "utf-32", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("ext", [".json", ""])
def test_json_in_every_encoding_json_accepts_is_json(encoding: str, ext: str) -> None:
    data = ("\n  " + _DOC).encode(encoding)
    assert json.loads(data)  # the premise: the loader's parser takes these bytes
    got = sniff(data, ext)
    assert got.format is Format.JSON, got
    if encoding.startswith(("utf-16", "utf-32")):
        assert encoding.upper() in got.detail


def test_json_too_deep_for_the_parser_is_json_not_a_crash() -> None:
    deep = ('{"a":' * 5000 + "1" + "}" * 5000).encode()
    with pytest.raises(RecursionError):
        json.loads(deep)
    for data in (deep, deep.decode().encode("utf-16")):
        got = sniff(data, "")
        assert got.format is Format.JSON and "too deeply" in got.detail


def test_json_with_encoded_lone_surrogates_is_json() -> None:
    # json.loads(bytes) decodes with surrogatepass, so Keras reads this config
    data = b'{"class_name": "Sequential", "x": "\xed\xa0\x80", "config": {}}'
    assert json.loads(data)
    assert sniff(data, ".json").format is Format.JSON
    assert sniff(data, "").format is Format.JSON


def test_wide_text_that_is_not_json_stays_as_before() -> None:
    broken = '{"chat_template": "x", '.encode("utf-16")
    assert sniff(broken, ".json").format is Format.JSON  # the config scanner reports it
    assert sniff(broken, "").format is Format.TEXT
    assert sniff("hello world".encode("utf-16"), "").format is Format.UNKNOWN
    assert sniff(b"\x00\x01" * 300, "").format is Format.UNKNOWN
    assert sniff(struct.pack("<256f", *range(256)), ".bin").format is not Format.JSON


@pytest.mark.parametrize("text", [
    b"torch>=2.6.0\n", b"torch>=2.6.0\ntransformers\n", b"accelerate\nsentencepiece\n",
    b"cat\ndog\n", b"tokenizers\nrequests\nnumpy\n", b"(tokenizers)\n",
])
def test_requirement_lists_are_text_not_protocol0_pickles(text: bytes) -> None:
    """Text that genops can walk but the unpickler would reject at once is not a pickle."""
    for ext in (".txt", ""):
        assert sniff(text, ext).format is not Format.PICKLE


@pytest.mark.parametrize("ext", [".txt", ""])
def test_ascii_payload_then_garbage_is_still_a_pickle(ext: str) -> None:
    payload = b"cos\nsystem\n(S'touch /tmp/MODELTRUST_MARKER'\ntR"
    assert sniff(payload + b"\x00garbage", ext).format is Format.PICKLE
    assert sniff(payload + b".", ext).format is Format.PICKLE


@pytest.mark.parametrize("ext", [".data", ".bin", ".dat"])
def test_undecodable_generic_data_is_not_a_broken_pickle(ext: str) -> None:
    """ONNX external data, raw tensors: zeros are data, not a pickle that fails at byte 0."""
    assert sniff(b"\x00" * 4096, ext).format is not Format.PICKLE
    assert sniff(b"\x00" * 4096, ".pkl").format is Format.PICKLE  # a .pkl must be one


@settings(max_examples=200, deadline=None)
@given(st.lists(st.from_regex(r"[a-z][a-z0-9_-]{0,15}(\[[a-z]+\])?([<>=~!]=?[0-9.]{1,8})?",
                              fullmatch=True), min_size=1, max_size=8))
def test_generated_requirement_lists_are_never_pickles(lines: list[str]) -> None:
    assert sniff(("\n".join(lines) + "\n").encode(), ".txt").format is not Format.PICKLE
