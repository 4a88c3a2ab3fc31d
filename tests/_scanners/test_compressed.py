"""CompressedScanner: bounded decompression of single streams, handed back as one child."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _scanners.archive_factory import PICKLE, Run, make_tar, run
from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners.compressed import CompressedScanner, child_name
from modeltrust._source.interface import Limits
from modeltrust.findings import Severity

SCANNER = CompressedScanner()
CASES = {
    "gzip": (Format.GZIP, gzip.compress, "model.pkl.gz"),
    "bzip2": (Format.BZIP2, bz2.compress, "model.pkl.bz2"),
    "xz": (Format.XZ, lzma.compress, "model.pkl.xz"),
    "lzma": (Format.LZMA, lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE), "m.pkl.lzma"),
    "zlib": (Format.ZLIB, zlib.compress, "model.joblib"),
}


def scan(name: str, data: bytes, fmt: Format | None = None, **kw: object) -> Run:
    return run(SCANNER, name, data, fmt, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", list(CASES))
def test_stream_decompressed_and_handed_on(kind: str) -> None:
    fmt, compress, name = CASES[kind]
    r = scan(name, compress(PICKLE))
    assert r.result.coverage is Coverage.ANALYSED, r.result
    assert r.findings == []
    assert len(r.children) == 1
    assert r.children[0]._data == PICKLE
    assert r.children[0].path == f"{name}!{child_name(name)}"
    assert f"-> {len(PICKLE)} bytes" in r.result.detail


@pytest.mark.parametrize("kind", list(CASES))
def test_truncated_stream_still_hands_over_the_start(kind: str) -> None:
    fmt, compress, name = CASES[kind]
    payload = PICKLE + bytes(range(256)) * 400
    blob = compress(payload)
    r = scan(name, blob[: len(blob) * 3 // 4], fmt)
    assert {f.rule_id for f in r.findings} & {"MT-CMP-001", "MT-CMP-002"}
    assert r.result.coverage is Coverage.PARTIAL
    if r.children:
        assert payload.startswith(r.children[0]._data or b"")


def test_corrupt_stream() -> None:
    blob = gzip.compress(PICKLE * 100)
    bad = blob[:20] + b"\xff" * 20 + blob[40:]
    r = scan("a.gz", bad)
    assert r.by_rule("MT-CMP-002") or r.by_rule("MT-CMP-001")


def test_trailing_data() -> None:
    r = scan("a.bz2", bz2.compress(PICKLE) + b"hidden payload")
    t = r.by_rule("MT-CMP-003")
    assert len(t) == 1 and t[0].severity is Severity.LOW
    assert r.children[0]._data == PICKLE


def test_concatenated_gzip_members_all_read() -> None:
    r = scan("a.gz", gzip.compress(b"first") + gzip.compress(PICKLE))
    assert r.children[0]._data == b"first" + PICKLE
    assert "2 streams" in r.result.detail


def test_bomb_and_limits() -> None:
    blob = gzip.compress(b"\0" * (8 << 20))
    r = scan("a.gz", blob)
    assert r.by_rule("MT-ARC-002") and r.result.coverage is Coverage.PARTIAL
    r = scan("a.gz", gzip.compress(b"\1" * 5000), limits=Limits(max_member_size=1000))
    assert r.by_rule("MT-ARC-003") and len(r.children[0]._data or b"") == 1000
    r = scan("a.gz", gzip.compress(b"\1" * 5000), budget=100)
    assert r.by_rule("MT-ARC-004")


@pytest.mark.parametrize("mode", ["w:gz", "w:xz", "w:bz2"])
def test_compressed_tar_hands_the_tar(mode: str) -> None:
    data = make_tar([("model/data.pkl", PICKLE)], mode)
    r = scan("model.tar" + {"w:gz": ".gz", "w:xz": ".xz", "w:bz2": ".bz2"}[mode], data)
    child = r.children[0]
    assert child.path.endswith("!model.tar")
    assert (child._data or b"")[257:262] == b"ustar"


def test_child_names() -> None:
    assert child_name("a/b/model.pkl.gz") == "model.pkl"
    assert child_name("x.tgz") == "x.tar"
    assert child_name("outer.zip!inner/w.joblib") == "~decompressed"
    assert child_name("noext") == "~decompressed"


@pytest.mark.parametrize("compress", [0, 3, ("gzip", 3), ("bz2", 3), ("xz", 3), ("lzma", 3)])
def test_joblib_compressed_files(compress: object, tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    path = tmp_path / "m.joblib"
    joblib.dump({"marker": "MODELTRUST"}, path, compress=compress)
    data = path.read_bytes()
    from modeltrust._inventory.sniff import sniff

    fmt = sniff(data, ".joblib").format
    if fmt is Format.PICKLE:
        assert compress == 0
        return
    r = scan(path.name, data, fmt)
    assert r.findings == []
    assert b"MODELTRUST" in (r.children[0]._data or b"")


def test_joblib_legacy_zfile_header() -> None:
    body = zlib.compress(PICKLE)
    data = b"ZF" + hex(len(PICKLE)).encode().ljust(19) + body
    r = scan("old.pkl", data, Format.ZLIB)
    assert r.children[0]._data == PICKLE and r.findings == []


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096), st.sampled_from(list(CASES)))
def test_arbitrary_bytes(blob: bytes, kind: str) -> None:
    fmt = CASES[kind][0]
    scan("x", blob, fmt)
    scan("x", io.BytesIO(CASES[kind][1](blob)).getvalue()[: len(blob) // 2 + 3], fmt)
