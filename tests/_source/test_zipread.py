"""The tolerant zip reader: structures, anomalies, bounded member reads, bounded decoding."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import time
import zipfile
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _scanners.archive_factory import (
    PICKLE,
    corrupt_crc,
    make_zip,
    patch,
    rename_local,
    set_local_flags,
    strip_central,
    torch_zip,
)
from modeltrust._source import zipread
from modeltrust._source.decode import Codec, DecodeState, decompress_bounded
from modeltrust._source.interface import ExpansionBudget
from modeltrust._source.zipread import Kind, ReadStatus

BIG = 1 << 30


def kinds(listing: zipread.ZipListing) -> list[Kind]:
    return sorted((a.kind for a in listing.anomalies), key=lambda k: k.value)


def read(data: bytes, m: zipread.ZipMember, **kw: int) -> zipread.MemberRead:
    budget = ExpansionBudget(kw.pop("budget", BIG))
    return zipread.read_member(data, m, max_size=kw.get("max_size", BIG),
                               max_ratio=kw.get("max_ratio", 200), budget=budget)


def test_clean_zip_has_no_anomalies() -> None:
    data = torch_zip(storages=2, method=zipfile.ZIP_DEFLATED)
    listing = zipread.parse_zip(data, 100)
    assert listing.anomalies == ()
    assert [m.name for m in listing.members][:2] == ["archive/data.pkl", "archive/byteorder"]
    assert not listing.recovered and listing.prefix_end == 0
    got = read(data, listing.members[0])
    assert got.status is ReadStatus.OK and got.data == PICKLE and got.crc_ok


def test_real_torch_save_layout_is_clean() -> None:
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(3)}, buf)
    listing = zipread.parse_zip(buf.getvalue(), 100)
    assert listing.anomalies == ()
    assert any(m.name.endswith("/data.pkl") for m in listing.members)
    assert all(m.flags == 0x808 and m.local_flags == 0x808 for m in listing.members)


def test_comment_and_zip64() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        with zf.open("a.pkl", "w", force_zip64=True) as fh:
            fh.write(PICKLE)
        zf.comment = b"c" * 1000
    data = buf.getvalue()
    listing = zipread.parse_zip(data, 10)
    assert [m.name for m in listing.members] == ["a.pkl"]
    assert read(data, listing.members[0]).data == PICKLE


def test_streamed_zip_with_data_descriptors() -> None:
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.out = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            self.out += b
            return len(b)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.pkl", PICKLE)
        with zf.open("b.pkl", "w") as fh:
            fh.write(PICKLE)
    data = bytes(sink.out)
    for blob in (data, strip_central(data)):
        listing = zipread.parse_zip(blob, 10)
        assert {m.name for m in listing.members} == {"a.pkl", "b.pkl"}
        assert all(read(blob, m).data == PICKLE for m in listing.members)


def test_prefix_with_relative_offsets() -> None:
    inner = make_zip([("x.pkl", PICKLE)])
    data = b"JUNK" * 10 + inner
    listing = zipread.parse_zip(data, 10)
    assert listing.prefix_end == 40
    assert Kind.PREFIX in kinds(listing)
    assert read(data, listing.members[0]).data == PICKLE


def test_anomalies_detected() -> None:
    data = set_local_flags(rename_local(corrupt_crc(make_zip([("ab", b"xy")]), 0), 0, b"ba"),
                           0, 0x40)
    listing = zipread.parse_zip(data, 10)
    assert Kind.NAME_MISMATCH in kinds(listing) and Kind.FLAGS in kinds(listing)
    m = listing.members[0]
    assert m.name == "ab" and m.local_name == b"ba"
    got = read(data, m)
    assert got.data == b"xy" and got.crc_ok is False


def test_overlapping_members() -> None:
    data = make_zip([("a", b"1" * 50), ("b", b"2" * 50)])
    co = [i for i in range(len(data)) if data.startswith(b"PK\x01\x02", i)]
    data = patch(data, co[1] + 42, "<I", 0)  # second entry points at the first local header
    listing = zipread.parse_zip(data, 10)
    assert Kind.OVERLAP in kinds(listing) and Kind.NAME_MISMATCH in kinds(listing)


def test_truncated_member_and_bad_offsets() -> None:
    data = make_zip([("a", b"1" * 5000)])
    cd = data.find(b"PK\x01\x02")
    listing = zipread.parse_zip(data[:200] + data[cd:], 10)  # data cut short
    m = listing.members[0]
    assert Kind.TRUNCATED in kinds(listing)
    assert read(data[:200] + data[cd:], m).status is ReadStatus.TRUNCATED
    bad = patch(data, cd + 42, "<I", 10**9)
    listing = zipread.parse_zip(bad, 10)
    assert Kind.BAD_ENTRY in kinds(listing)
    assert read(bad, listing.members[0]).status is ReadStatus.TRUNCATED


def test_too_many_members() -> None:
    data = make_zip([(str(i), b"x") for i in range(10)])
    listing = zipread.parse_zip(data, 4)
    assert len(listing.members) == 4 and Kind.TOO_MANY in kinds(listing)
    listing = zipread.parse_zip(strip_central(data), 4)
    assert len(listing.members) == 4 and Kind.TOO_MANY in kinds(listing)


def test_read_limits() -> None:
    data = make_zip([("z", b"\0" * (4 << 20))], zipfile.ZIP_DEFLATED)
    m = zipread.parse_zip(data, 10).members[0]
    assert read(data, m).status is ReadStatus.BOMB
    assert read(data, m, max_size=1000).status is ReadStatus.TOO_LARGE
    assert read(data, m, max_ratio=10**6, budget=1000).status is ReadStatus.BUDGET
    assert read(data, m, max_ratio=10**6).data == b"\0" * (4 << 20)


def test_unsupported_method() -> None:
    data = make_zip([("a", b"x")])
    data = patch(patch(data, 8, "<H", 97), data.find(b"PK\x01\x02") + 10, "<H", 97)
    m = zipread.parse_zip(data, 10).members[0]
    assert read(data, m).status is ReadStatus.UNSUPPORTED


def test_empty_zip_is_clean() -> None:
    listing = zipread.parse_zip(make_zip([]), 10)
    assert listing.members == () and listing.anomalies == ()


def test_decode_name() -> None:
    assert zipread.decode_name("é".encode()) == "é"
    assert zipread.decode_name(b"\x82") == "é"  # cp437


# --- bounded decoding ---------------------------------------------------------------------

PAYLOAD = PICKLE * 50
STREAMS = {
    Codec.ZLIB: zlib.compress(PAYLOAD),
    Codec.GZIP: gzip.compress(PAYLOAD),
    Codec.BZIP2: bz2.compress(PAYLOAD),
    Codec.XZ: lzma.compress(PAYLOAD),
    Codec.LZMA_ALONE: lzma.compress(PAYLOAD, format=lzma.FORMAT_ALONE),
}


@pytest.mark.parametrize("codec", list(STREAMS))
def test_decompress_complete_truncated_limited(codec: Codec) -> None:
    blob = STREAMS[codec]
    out = decompress_bounded(blob, 0, len(blob), codec, BIG)
    assert out.state is DecodeState.COMPLETE and out.data == PAYLOAD and out.end == len(blob)
    cut = decompress_bounded(blob, 0, len(blob) - 10, codec, BIG)
    assert cut.state in (DecodeState.TRUNCATED, DecodeState.CORRUPT)
    assert PAYLOAD.startswith(cut.data)
    lim = decompress_bounded(blob, 0, len(blob), codec, 100)
    assert lim.state is DecodeState.LIMIT and lim.data == PAYLOAD[:100]


@pytest.mark.parametrize("codec", [Codec.GZIP, Codec.BZIP2, Codec.XZ])
def test_multistream(codec: Codec) -> None:
    blob = STREAMS[codec] * 3 + b"\0\0junk"
    out = decompress_bounded(blob, 0, len(blob), codec, BIG, multistream=True)
    assert out.data == PAYLOAD * 3 and out.streams == 3
    assert out.end == len(blob) - 6


def test_decode_corrupt_and_chunked_large_input() -> None:
    out = decompress_bounded(b"\x78\x9c" + b"\xff" * 50, 0, 52, Codec.ZLIB, BIG)
    assert out.state is DecodeState.CORRUPT
    big = bytes(range(256)) * 20_000  # > 1 MiB input chunk, incompressible-ish
    blob = zlib.compress(big, 0)
    out = decompress_bounded(blob, 0, len(blob), Codec.ZLIB, BIG)
    assert out.state is DecodeState.COMPLETE and out.data == big


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096), st.integers(0, 4))
def test_parse_arbitrary_bytes(blob: bytes, prefix: int) -> None:
    data = [b"", b"PK\x03\x04", b"PK\x05\x06", b"PK\x01\x02", b"\x1f\x8b"][prefix] + blob
    start = time.monotonic()
    listing = zipread.parse_zip(data, 50)
    for m in listing.members:
        read(data, m, max_size=1 << 20)
    for codec in Codec:
        decompress_bounded(data, 0, len(data), codec, 1 << 20, multistream=True)
    assert time.monotonic() - start < 5


# --- past the member limit: listed cheaply, code-carrying members kept, no false malformation --


def _sort(name: str) -> str:
    return zipread.KEEP if name.endswith(".pkl") else "other"


def test_members_past_the_limit_are_listed_not_malformed() -> None:
    data = make_zip([(f"{i}.txt", b"x") for i in range(10)] + [("data.pkl", b"p")])
    listing = zipread.parse_zip(data, 4, _sort)
    assert len(listing.members) == 4
    assert [m.name for m in listing.beyond] == ["data.pkl"]
    assert dict(listing.beyond_counts) == {"other": 6}
    assert Kind.BAD_ENTRY not in kinds(listing)  # stopping at the cap is no malformation
    cap = [a for a in listing.anomalies if a.kind is Kind.TOO_MANY]
    assert len(cap) == 1 and "7 past the limit of 4" in cap[0].message
    assert read(data, listing.beyond[0]).data == b"p"


def test_without_a_sorter_everything_past_the_limit_is_counted() -> None:
    listing = zipread.parse_zip(make_zip([(str(i), b"x") for i in range(10)]), 4)
    assert listing.beyond == () and dict(listing.beyond_counts) == {"other": 6}
    assert Kind.BAD_ENTRY not in kinds(listing)


def test_listing_past_the_limit_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zipread, "MAX_LISTED", 3)
    listing = zipread.parse_zip(make_zip([(f"{i}.pkl", b"x") for i in range(10)]), 4, _sort)
    assert len(listing.beyond) == 3
    assert dict(listing.beyond_counts) == {"unlisted": 3}  # from the end record's count
    assert Kind.BAD_ENTRY not in kinds(listing)


def test_kept_members_past_the_limit_are_bounded() -> None:
    listing = zipread.parse_zip(make_zip([(f"{i}.pkl", b"x") for i in range(12)]), 4, _sort)
    assert len(listing.beyond) == 4 and dict(listing.beyond_counts) == {"other": 4}


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_across_the_limit_is_seen() -> None:
    data = make_zip([("data.pkl", b"a"), *[(f"{i}", b"x") for i in range(6)],
                     ("data.pkl", b"b")])
    listing = zipread.parse_zip(data, 4, _sort)
    assert Kind.DUPLICATE in kinds(listing)


def test_read_head_is_bounded() -> None:
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        data = make_zip([("a.npy", bytes(range(256)) * 100)], method)
        m = zipread.parse_zip(data, 10).members[0]
        assert zipread.read_head(data, m, 300) == (bytes(range(256)) * 2)[:300]
