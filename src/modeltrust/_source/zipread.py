"""A tolerant ZIP reader that sees members the way PyTorch's loader does.

Why not :mod:`zipfile`? Because the loader that matters for checkpoints is PyTorch's bundled
miniz, and hostile files are built to make the two disagree: miniz finds members *by name
through the central directory*, ignores CRC errors, does not care whether the local header
repeats the central name or flags, and still reads members whose "encrypted" bit is set.
``zipfile`` raises on most of those, so a scanner built on it stops exactly where the payload
starts (CVE-2025-10156, CVE-2025-1944, CVE-2025-1945). This module parses the structures
itself, reads each member as miniz would, and reports every disagreement as an *anomaly* for
the scanner to turn into findings.

When the central directory is missing or broken the reader walks local headers instead, and
a corrupt member never stops it from reaching the next one. Nothing is ever extracted to
disk; member bytes are returned only through :func:`read_member`, which is bounded by size,
compression ratio and a shared expansion budget.

The byte layouts and the parsing of single records live in
:mod:`modeltrust._source.ziprecords`; this module decides what a listing is (the
member limit and what lies past it, the anomalies) and reads member data.
"""

from __future__ import annotations

import enum
import zlib
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

from modeltrust._source.decode import Codec, DecodeState, decompress_bounded
from modeltrust._source.interface import Buffer, ExpansionBudget
from modeltrust._source.ziprecords import (
    CENTRAL,
    CENTRAL_FMT,
    DATA_DESCRIPTOR,
    ENCRYPTED,
    ODD_FLAGS,
    PATCHED,
    STRONG_ENCRYPTION,
    UTF8,
    Anomaly,
    Kind,
    ZipMember,
    central_bounds,
    central_entry,
    declared_count,
    decode_name,
    find_eocd,
    find_hidden,
    walk_local,
)

__all__ = [
    "BZIP2", "DATA_DESCRIPTOR", "DEFLATED", "ENCRYPTED", "KEEP", "LZMA", "MAX_LISTED",
    "ODD_FLAGS", "PATCHED", "RATIO_FLOOR", "STORED", "STRONG_ENCRYPTION", "UTF8", "Anomaly",
    "Kind", "MemberRead", "ReadStatus", "Sorter", "ZipListing", "ZipMember", "decode_name",
    "is_encrypted", "parse_zip", "read_head", "read_member",
]

MAX_LISTED = 1_000_000
"""Central directory entries past the member limit that are still listed (names only)."""
KEEP = "keep"
Sorter = Callable[[str], str]
"""Labels a member name past the member limit: :data:`KEEP` to locate the member for
reading, any other label to only count it under that label."""

STORED, DEFLATED, BZIP2, LZMA = 0, 8, 12, 14
_METHOD_CODECS = {DEFLATED: Codec.RAW_DEFLATE, BZIP2: Codec.BZIP2, LZMA: Codec.ZIP_LZMA}
_ZIPCRYPTO_HEADER = 12
RATIO_FLOOR = 1024 * 1024
"""Outputs below this size are never called bombs: tiny all-zero members compress hugely."""


class ZipListing(NamedTuple):
    """Everything :func:`parse_zip` learnt: members in central-directory order, anomalies."""

    members: tuple[ZipMember, ...]
    anomalies: tuple[Anomaly, ...]
    prefix_end: int
    """Bytes before the first member (0 when the archive starts at offset 0)."""
    recovered: bool
    """True when members came from walking local headers, not the central directory."""
    beyond: tuple[ZipMember, ...] = ()
    """Members past the limit whose names the sorter kept (located, not read)."""
    beyond_counts: tuple[tuple[str, int], ...] = ()
    """The other members past the limit, counted by the sorter's label (``unlisted``: past
    :data:`MAX_LISTED`, counted from the end record)."""


class ReadStatus(enum.Enum):
    """Outcome of :func:`read_member`."""

    OK = "ok"
    ENCRYPTED = "encrypted"
    UNSUPPORTED = "unsupported-method"
    CORRUPT = "corrupt"
    TRUNCATED = "truncated"
    TOO_LARGE = "too-large"
    BOMB = "bomb"
    BUDGET = "budget"


class MemberRead(NamedTuple):
    """A member's bytes (possibly partial, see ``status``) and why they may be incomplete."""

    status: ReadStatus
    data: bytes | None
    detail: str = ""
    crc_ok: bool | None = None


def parse_zip(buf: Buffer, max_members: int, sort: Sorter | None = None) -> ZipListing:
    """List the members of a zip held in ``buf``; never raises on malformed input.

    Past ``max_members`` the central directory is still walked, cheaply (names only): a
    payload padded behind thousands of harmless members must not be invisible. ``sort``
    picks the members worth locating there (at most ``max_members`` more).
    """
    anomalies: list[Anomaly] = []
    past = _Past(sort or (lambda _name: "other"), max_members)
    central = _read_central(buf, max_members, anomalies, past)
    recovered = False
    if central is None:
        anomalies.append(
            Anomaly(Kind.NO_CENTRAL, "no usable central directory: members recovered by "
                    "walking local headers")
        )
        members = walk_local(buf, 0, len(buf), max_members, anomalies, hidden=False)
        recovered = True
    else:
        members = central
        if not past.counts and not past.kept:  # gaps are unknown when entries were skipped
            members += find_hidden(buf, members, max_members - len(members), anomalies)
    _check_members(buf, members + past.kept, anomalies)
    starts = [m.header_offset for m in members if m.data_offset >= 0]
    # With no member at all, everything before the end record is "prefix": a pickle that
    # merely ends with zip-like bytes must still reach the pickle scanner.
    prefix_end = min(starts) if starts else (find_eocd(buf) or 0)
    if prefix_end > 0:
        anomalies.append(
            Anomaly(Kind.PREFIX, f"{prefix_end} bytes before the first member", 0)
        )
    return ZipListing(tuple(members), tuple(anomalies), prefix_end, recovered,
                      tuple(past.kept), tuple(sorted(past.counts.items())))


class _Past:
    """Members past the limit: the kept ones located, the others counted by label."""

    def __init__(self, sort: Sorter, limit: int) -> None:
        self.sort, self.limit = sort, limit
        self.kept: list[ZipMember] = []
        self.counts: Counter[str] = Counter()

    def walk(self, buf: Buffer, pos: int, stop: int, shift: int, declared: int,
             anomalies: list[Anomaly]) -> int:
        """List entries from ``pos`` (names only unless kept); return where listing ended."""
        listed = 0
        while bytes(buf[pos : pos + 4]) == CENTRAL and pos + CENTRAL_FMT.size <= len(buf):
            if listed >= MAX_LISTED:
                self.counts["unlisted"] += max(declared - self.limit - listed, 1)
                return stop  # not malformed: the listing bound was reached
            f = CENTRAL_FMT.unpack_from(buf, pos)
            head = pos + CENTRAL_FMT.size
            name = decode_name(bytes(buf[head : head + f[10]]))
            label = self.sort(name)
            if label == KEEP and len(self.kept) < self.limit:
                member, pos = central_entry(buf, pos, shift, anomalies)
                self.kept.append(member)
            else:
                self.counts[label if label != KEEP else "other"] += 1
                pos = head + f[10] + f[11] + f[12]
            listed += 1
        return pos


def _read_central(
    buf: Buffer, max_members: int, anomalies: list[Anomaly], past: _Past
) -> list[ZipMember] | None:
    eocd = find_eocd(buf)
    if eocd is None:
        return None
    start, size, shift = central_bounds(buf, eocd)
    if size == 0:
        return []  # an empty archive (any local entries are then found as hidden)
    if not 0 <= start < len(buf) or bytes(buf[start : start + 4]) != CENTRAL:
        return None
    members: list[ZipMember] = []
    pos = start
    while bytes(buf[pos : pos + 4]) == CENTRAL:
        if len(members) >= max_members:
            at = pos
            pos = past.walk(buf, pos, min(start + size, eocd), shift, declared_count(buf, eocd),
                            anomalies)
            beyond = len(past.kept) + sum(past.counts.values())
            anomalies.append(Anomaly(Kind.TOO_MANY, f"{max_members + beyond} members, "
                                     f"{beyond} past the limit of {max_members}", at))
            break
        if pos + CENTRAL_FMT.size > len(buf):
            anomalies.append(Anomaly(Kind.TRUNCATED, "central directory entry cut off", pos))
            break
        member, pos = central_entry(buf, pos, shift, anomalies)
        members.append(member)
    if pos < start + size and pos < eocd:
        anomalies.append(Anomaly(Kind.BAD_ENTRY, "central directory ends with "
                                 f"{min(start + size, eocd) - pos} unparsed bytes", pos))
    return members


def _check_members(buf: Buffer, members: list[ZipMember], anomalies: list[Anomaly]) -> None:
    seen: set[bytes] = set()
    for m in members:
        if m.raw_name in seen:
            anomalies.append(Anomaly(Kind.DUPLICATE, f"name {m.name!r} appears more than once",
                                     m.header_offset, m.name))
        seen.add(m.raw_name)
        if m.local_name is not None and m.local_name != m.raw_name:
            anomalies.append(Anomaly(
                Kind.NAME_MISMATCH,
                f"central directory name {m.name!r} but local header name "
                f"{decode_name(m.local_name)!r}", m.header_offset, m.name))
        _check_flags(m, anomalies)
        if m.data_offset >= 0 and m.end > len(buf):
            anomalies.append(Anomaly(Kind.TRUNCATED, f"data runs {m.end - len(buf)} bytes past "
                                     "the end of the file", m.data_offset, m.name))
    spans = sorted((m.header_offset, m.end, m.name) for m in members if m.data_offset >= 0)
    for (lo1, hi1, n1), (lo2, _hi2, n2) in zip(spans, spans[1:], strict=False):
        if lo2 < hi1 and lo1 != lo2 or lo1 == lo2 and n1 != n2:
            anomalies.append(Anomaly(Kind.OVERLAP, f"member {n2!r} starts inside {n1!r}",
                                     lo2, n2))


def _check_flags(m: ZipMember, anomalies: list[Anomaly]) -> None:
    local = m.local_flags if m.local_flags is not None else m.flags
    odd = (m.flags | local) & ODD_FLAGS
    if m.flags & ENCRYPTED and _looks_encrypted(m):
        odd &= ~ENCRYPTED
    if odd:
        anomalies.append(Anomaly(Kind.FLAGS, f"flag bits {odd:#06x} set (central {m.flags:#06x}, "
                                 f"local {local:#06x}); loaders such as torch ignore them",
                                 m.header_offset, m.name))
    elif m.local_flags is not None and m.local_flags != m.flags and not m.hidden:
        anomalies.append(Anomaly(Kind.FLAGS, f"local flags {local:#06x} differ from central "
                                 f"flags {m.flags:#06x}", m.header_offset, m.name))


def _looks_encrypted(m: ZipMember) -> bool:
    """True when the data really is encrypted (not just flagged): AES, or a ZipCrypto header."""
    if m.method == 99:
        return True
    if m.method == STORED:
        return m.compressed_size == m.size + _ZIPCRYPTO_HEADER
    return m.method not in _METHOD_CODECS


def is_encrypted(m: ZipMember) -> bool:
    """True when the member cannot be read without a password."""
    return bool(m.flags & (ENCRYPTED | STRONG_ENCRYPTION)) and _looks_encrypted(m)


def read_member(
    buf: Buffer, m: ZipMember, *, max_size: int, max_ratio: int, budget: ExpansionBudget
) -> MemberRead:
    """Return a member's bytes as torch would read them (CRC and flags ignored), bounded.

    Stored members are a slice of ``buf``; compressed ones are inflated under three limits:
    ``max_size`` for this member, ``max_ratio`` against the compressed size (above
    :data:`RATIO_FLOOR`), and the shared ``budget``.
    """
    if m.data_offset < 0:
        return MemberRead(ReadStatus.TRUNCATED, None, "local header not found")
    if is_encrypted(m):
        return MemberRead(ReadStatus.ENCRYPTED, None, "member is encrypted")
    end = min(m.end, len(buf))
    if m.method == STORED:
        if m.compressed_size > max_size:
            return MemberRead(ReadStatus.TOO_LARGE, None,
                              f"{m.compressed_size} bytes exceeds the member limit of {max_size}")
        data = bytes(buf[m.data_offset : end])
        status = ReadStatus.TRUNCATED if end < m.end else ReadStatus.OK
        return MemberRead(status, data, "", _crc_ok(data, m, status))
    codec = _METHOD_CODECS.get(m.method)
    if codec is None:
        return MemberRead(ReadStatus.UNSUPPORTED, None, f"compression method {m.method}")
    return _inflate(buf, m, codec, end, max_size, max_ratio, budget)


def _inflate(
    buf: Buffer, m: ZipMember, codec: Codec, end: int, max_size: int, max_ratio: int,
    budget: ExpansionBudget,
) -> MemberRead:
    by_ratio = max(max_ratio * max(m.compressed_size, 1), RATIO_FLOOR)
    if m.size > max_size:
        return MemberRead(ReadStatus.TOO_LARGE, None,
                          f"declared size {m.size} exceeds the member limit of {max_size}")
    if m.size > by_ratio:
        return MemberRead(ReadStatus.BOMB, None,
                          f"declares {m.size} bytes from {m.compressed_size} "
                          f"(ratio limit {max_ratio})")
    limit = min(max_size, by_ratio, budget.remaining)
    out = decompress_bounded(buf, m.data_offset, end, codec, limit)
    budget.take(len(out.data))
    if out.state is DecodeState.LIMIT:
        if limit == by_ratio:
            return MemberRead(ReadStatus.BOMB, out.data,
                              f"expands past {by_ratio} bytes from {m.compressed_size} "
                              f"(ratio limit {max_ratio})")
        if limit == max_size:
            return MemberRead(ReadStatus.TOO_LARGE, out.data,
                              f"expands past the member limit of {max_size} bytes")
        return MemberRead(ReadStatus.BUDGET, out.data, "shared expansion budget exhausted")
    if out.state is DecodeState.CORRUPT:
        if m.flags & ENCRYPTED:  # flagged and undecodable: really encrypted (ZipCrypto)
            return MemberRead(ReadStatus.ENCRYPTED, None, "member is encrypted")
        return MemberRead(ReadStatus.CORRUPT, out.data, out.error)
    if out.state is DecodeState.TRUNCATED or end < m.end:
        return MemberRead(ReadStatus.TRUNCATED, out.data, "compressed data ends early")
    return MemberRead(ReadStatus.OK, out.data, "", _crc_ok(out.data, m, ReadStatus.OK))


def read_head(buf: Buffer, m: ZipMember, size: int) -> bytes | None:
    """The first ``size`` bytes of a member (a header to check), or None when unreadable."""
    if m.data_offset < 0 or is_encrypted(m):
        return None
    end = min(m.end, len(buf))
    if m.method == STORED:
        return bytes(buf[m.data_offset : min(end, m.data_offset + size)])
    codec = _METHOD_CODECS.get(m.method)
    if codec is None:
        return None
    return decompress_bounded(buf, m.data_offset, end, codec, size).data


def _crc_ok(data: bytes, m: ZipMember, status: ReadStatus) -> bool | None:
    if status is not ReadStatus.OK or (m.hidden and m.flags & DATA_DESCRIPTOR and m.crc == 0):
        return None
    return (zlib.crc32(data) & 0xFFFFFFFF) == m.crc
