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
"""

from __future__ import annotations

import enum
import struct
import zlib
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

from modeltrust._source.decode import Codec, DecodeState, decompress_bounded
from modeltrust._source.interface import Buffer, ExpansionBudget

# --- zip structures --------------------------------------------------------------------

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_EOCD = b"PK\x05\x06"
_Z64_LOCATOR = b"PK\x06\x07"
_Z64_EOCD = b"PK\x06\x06"
_DESCRIPTOR = b"PK\x07\x08"
_LOCAL_FMT = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL_FMT = struct.Struct("<4sHHHHHHIIIHHHHHII")
_EOCD_FMT = struct.Struct("<4sHHHHIIH")
_Z64_EOCD_FMT = struct.Struct("<4sQHHIIQQQQ")
_EOCD_SEARCH = 65_535 + _EOCD_FMT.size
_MAX_SCAN_HITS = 100_000
MAX_LISTED = 1_000_000
"""Central directory entries past the member limit that are still listed (names only)."""
KEEP = "keep"
Sorter = Callable[[str], str]
"""Labels a member name past the member limit: :data:`KEEP` to locate the member for
reading, any other label to only count it under that label."""

ENCRYPTED = 0x0001
DATA_DESCRIPTOR = 0x0008
PATCHED = 0x0020
STRONG_ENCRYPTION = 0x0040
UTF8 = 0x0800
ODD_FLAGS = ENCRYPTED | PATCHED | STRONG_ENCRYPTION
"""Flag bits a model checkpoint never needs; miniz (and so torch) ignores them all."""

STORED, DEFLATED, BZIP2, LZMA = 0, 8, 12, 14
_METHOD_CODECS = {DEFLATED: Codec.RAW_DEFLATE, BZIP2: Codec.BZIP2, LZMA: Codec.ZIP_LZMA}
_ZIPCRYPTO_HEADER = 12
RATIO_FLOOR = 1024 * 1024
"""Outputs below this size are never called bombs: tiny all-zero members compress hugely."""


class Kind(enum.Enum):
    """What sort of structural oddity an :class:`Anomaly` is."""

    CRC = "crc-mismatch"
    NAME_MISMATCH = "name-mismatch"
    FLAGS = "flag-bits"
    DUPLICATE = "duplicate-name"
    PREFIX = "prefix-data"
    OVERLAP = "overlapping-members"
    TRUNCATED = "truncated"
    BAD_ENTRY = "bad-entry"
    NO_CENTRAL = "no-central-directory"
    HIDDEN = "hidden-entry"
    TOO_MANY = "too-many-members"


class Anomaly(NamedTuple):
    """One way the file departs from what a genuine writer produces."""

    kind: Kind
    message: str
    offset: int | None = None
    member: str | None = None


class ZipMember(NamedTuple):
    """One member, located as miniz would locate it (central name, central sizes)."""

    name: str
    raw_name: bytes
    local_name: bytes | None
    header_offset: int
    data_offset: int
    method: int
    compressed_size: int
    size: int
    crc: int
    flags: int
    local_flags: int | None
    hidden: bool = False
    """Found only by walking local headers (not listed in the central directory)."""

    @property
    def is_dir(self) -> bool:
        """Directory entries carry no data."""
        return self.name.endswith("/") and self.size == 0

    @property
    def end(self) -> int:
        """Offset just past the member's compressed data."""
        return self.data_offset + self.compressed_size


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


def decode_name(raw: bytes) -> str:
    """Decode a member name: UTF-8 when valid, else CP437 (never fails, always the same)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp437")


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
        members = _walk_local(buf, 0, len(buf), max_members, anomalies, hidden=False)
        recovered = True
    else:
        members = central
        if not past.counts and not past.kept:  # gaps are unknown when entries were skipped
            members += _find_hidden(buf, members, max_members - len(members), anomalies)
    _check_members(buf, members + past.kept, anomalies)
    starts = [m.header_offset for m in members if m.data_offset >= 0]
    # With no member at all, everything before the end record is "prefix": a pickle that
    # merely ends with zip-like bytes must still reach the pickle scanner.
    prefix_end = min(starts) if starts else (_find_eocd(buf) or 0)
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
        while bytes(buf[pos : pos + 4]) == _CENTRAL and pos + _CENTRAL_FMT.size <= len(buf):
            if listed >= MAX_LISTED:
                self.counts["unlisted"] += max(declared - self.limit - listed, 1)
                return stop  # not malformed: the listing bound was reached
            f = _CENTRAL_FMT.unpack_from(buf, pos)
            head = pos + _CENTRAL_FMT.size
            name = decode_name(bytes(buf[head : head + f[10]]))
            label = self.sort(name)
            if label == KEEP and len(self.kept) < self.limit:
                member, pos = _central_entry(buf, pos, shift, anomalies)
                self.kept.append(member)
            else:
                self.counts[label if label != KEEP else "other"] += 1
                pos = head + f[10] + f[11] + f[12]
            listed += 1
        return pos


def _find_eocd(buf: Buffer) -> int | None:
    n = len(buf)
    base = max(0, n - _EOCD_SEARCH)
    tail = bytes(buf[base:n])
    pos = tail.rfind(_EOCD)
    while pos >= 0:
        if pos + _EOCD_FMT.size <= len(tail):
            return base + pos
        pos = tail.rfind(_EOCD, 0, pos)
    return None


def _central_bounds(buf: Buffer, eocd: int) -> tuple[int, int, int]:
    """Return (central start, central size, shift) honouring ZIP64 and prepended data."""
    _, _, _, _, _, cd_size, cd_offset, _ = _EOCD_FMT.unpack_from(buf, eocd)
    record_end = eocd
    loc = eocd - 20
    if loc >= 0 and bytes(buf[loc : loc + 4]) == _Z64_LOCATOR:
        z64 = int.from_bytes(bytes(buf[loc + 8 : loc + 16]), "little")
        if 0 <= z64 <= len(buf) - _Z64_EOCD_FMT.size and bytes(buf[z64 : z64 + 4]) == _Z64_EOCD:
            fields = _Z64_EOCD_FMT.unpack_from(buf, z64)
            cd_size, cd_offset = fields[8], fields[9]
            record_end = z64
        else:
            record_end = loc
    shift = record_end - cd_size - cd_offset
    if (shift < 0 or bytes(buf[cd_offset + shift : cd_offset + shift + 4]) != _CENTRAL) and \
            bytes(buf[cd_offset : cd_offset + 4]) == _CENTRAL:
        shift = 0
    return cd_offset + shift, cd_size, max(shift, 0)


def _read_central(
    buf: Buffer, max_members: int, anomalies: list[Anomaly], past: _Past
) -> list[ZipMember] | None:
    eocd = _find_eocd(buf)
    if eocd is None:
        return None
    start, size, shift = _central_bounds(buf, eocd)
    if size == 0:
        return []  # an empty archive (any local entries are then found as hidden)
    if not 0 <= start < len(buf) or bytes(buf[start : start + 4]) != _CENTRAL:
        return None
    members: list[ZipMember] = []
    pos = start
    while bytes(buf[pos : pos + 4]) == _CENTRAL:
        if len(members) >= max_members:
            at = pos
            pos = past.walk(buf, pos, min(start + size, eocd), shift, _declared(buf, eocd),
                            anomalies)
            beyond = len(past.kept) + sum(past.counts.values())
            anomalies.append(Anomaly(Kind.TOO_MANY, f"{max_members + beyond} members, "
                                     f"{beyond} past the limit of {max_members}", at))
            break
        if pos + _CENTRAL_FMT.size > len(buf):
            anomalies.append(Anomaly(Kind.TRUNCATED, "central directory entry cut off", pos))
            break
        member, pos = _central_entry(buf, pos, shift, anomalies)
        members.append(member)
    if pos < start + size and pos < eocd:
        anomalies.append(Anomaly(Kind.BAD_ENTRY, "central directory ends with "
                                 f"{min(start + size, eocd) - pos} unparsed bytes", pos))
    return members


def _declared(buf: Buffer, eocd: int) -> int:
    """The member count the end record declares (ZIP64 when present)."""
    total = int(_EOCD_FMT.unpack_from(buf, eocd)[4])
    loc = eocd - 20
    if loc >= 0 and bytes(buf[loc : loc + 4]) == _Z64_LOCATOR:
        z64 = int.from_bytes(bytes(buf[loc + 8 : loc + 16]), "little")
        if 0 <= z64 <= len(buf) - _Z64_EOCD_FMT.size and bytes(buf[z64 : z64 + 4]) == _Z64_EOCD:
            total = int(_Z64_EOCD_FMT.unpack_from(buf, z64)[7])
    return total


def _central_entry(
    buf: Buffer, pos: int, shift: int, anomalies: list[Anomaly]
) -> tuple[ZipMember, int]:
    f = _CENTRAL_FMT.unpack_from(buf, pos)
    flags, method, crc, csize, usize = f[3], f[4], f[7], f[8], f[9]
    name_len, extra_len, comment_len, offset = f[10], f[11], f[12], f[16]
    head = pos + _CENTRAL_FMT.size
    raw = bytes(buf[head : head + name_len])
    extra = bytes(buf[head + name_len : head + name_len + extra_len])
    usize, csize, offset = _zip64_values(extra, usize, csize, offset)
    name = decode_name(raw)
    member = _locate(buf, raw, name, offset + shift, method, csize, usize, crc, flags, anomalies)
    return member, head + name_len + extra_len + comment_len


def _zip64_values(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    i = 0
    while i + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4 : i + 4 + length]
        if tag == 0x0001:
            vals = [int.from_bytes(body[j : j + 8], "little") for j in range(0, len(body) - 7, 8)]
            for name in ("u", "c", "o"):
                current = {"u": usize, "c": csize, "o": offset}[name]
                if current == 0xFFFFFFFF and vals:
                    value = vals.pop(0)
                    usize = value if name == "u" else usize
                    csize = value if name == "c" else csize
                    offset = value if name == "o" else offset
            break
        i += 4 + length
    return usize, csize, offset


def _locate(
    buf: Buffer, raw: bytes, name: str, offset: int, method: int, csize: int, usize: int,
    crc: int, flags: int, anomalies: list[Anomaly],
) -> ZipMember:
    """Find where a central entry's data starts, as miniz does (via its local header)."""
    local_name: bytes | None = None
    local_flags: int | None = None
    data_offset = -1
    if 0 <= offset <= len(buf) - _LOCAL_FMT.size and bytes(buf[offset : offset + 4]) == _LOCAL:
        lf = _LOCAL_FMT.unpack_from(buf, offset)
        local_flags = lf[2]
        local_name = bytes(buf[offset + 30 : offset + 30 + lf[9]])
        data_offset = offset + 30 + lf[9] + lf[10]
    else:
        anomalies.append(Anomaly(Kind.BAD_ENTRY, f"no local header at offset {offset}",
                                 offset, name))
    return ZipMember(name, raw, local_name, offset, data_offset, method, csize, usize, crc,
                     flags, local_flags)


def _walk_local(
    buf: Buffer, start: int, stop: int, limit: int, anomalies: list[Anomaly], *, hidden: bool
) -> list[ZipMember]:
    """Read local headers in ``[start, stop)`` one after another, resyncing past damage."""
    members: list[ZipMember] = []
    pos = _find(buf, _LOCAL, start, stop)
    hits = 0
    while pos is not None and hits < _MAX_SCAN_HITS:
        hits += 1
        if len(members) >= limit:
            anomalies.append(Anomaly(Kind.TOO_MANY, f"more than {limit} members; "
                                     f"only the first {limit} are read", pos))
            break
        member = _local_entry(buf, pos, stop, anomalies, hidden)
        if member is None:
            pos = _find(buf, _LOCAL, pos + 4, stop)
            continue
        members.append(member)
        nxt = max(member.end, pos + 4)
        pos = _find(buf, _LOCAL, min(nxt, stop), stop)
    return members


def _local_entry(
    buf: Buffer, pos: int, stop: int, anomalies: list[Anomaly], hidden: bool
) -> ZipMember | None:
    if pos + _LOCAL_FMT.size > len(buf):
        anomalies.append(Anomaly(Kind.TRUNCATED, "local header cut off", pos))
        return None
    lf = _LOCAL_FMT.unpack_from(buf, pos)
    flags, method, crc, csize, usize, name_len, extra_len = lf[2], lf[3], lf[6], lf[7], lf[8], \
        lf[9], lf[10]
    raw = bytes(buf[pos + 30 : pos + 30 + name_len])
    extra = bytes(buf[pos + 30 + name_len : pos + 30 + name_len + extra_len])
    usize, csize, _ = _zip64_values(extra, usize, csize, 0)
    data = pos + 30 + name_len + extra_len
    if data > len(buf):
        anomalies.append(Anomaly(Kind.TRUNCATED, "local header cut off", pos, decode_name(raw)))
        return None
    if flags & DATA_DESCRIPTOR and csize == 0:
        found = _descriptor_size(buf, data, stop)
        if found is not None:
            crc, csize, usize = found
    name = decode_name(raw)
    return ZipMember(name, raw, raw, pos, data, method, csize, usize, crc, flags, flags, hidden)


def _descriptor_size(buf: Buffer, data: int, stop: int) -> tuple[int, int, int] | None:
    """Sizes of a streamed member: the first data descriptor that agrees with its position."""
    pos = _find(buf, _DESCRIPTOR, data, stop)
    tries = 0
    while pos is not None and tries < 1000:
        tries += 1
        crc, csize, usize = struct.unpack_from("<III", bytes(buf[pos + 4 : pos + 16]).ljust(12,
                                               b"\0"))
        if csize == pos - data:
            return crc, csize, usize
        pos = _find(buf, _DESCRIPTOR, pos + 4, stop)
    nxt = [p for p in (_find(buf, s, data, stop) for s in (_LOCAL, _CENTRAL, _EOCD))
           if p is not None]
    end = min(nxt) if nxt else stop
    return 0, end - data, 0


def _find(buf: Buffer, sig: bytes, start: int, stop: int) -> int | None:
    pos = buf.find(sig, start, stop)
    return pos if pos >= 0 else None


def _find_hidden(
    buf: Buffer, members: list[ZipMember], limit: int, anomalies: list[Anomaly]
) -> list[ZipMember]:
    """Local entries sitting in gaps between listed members (invisible to miniz, not to all)."""
    spans = sorted((m.header_offset, m.end) for m in members if m.data_offset >= 0)
    end_of_data = _central_start(buf, members)
    found: list[ZipMember] = []
    cursor = 0
    for lo, hi in [*spans, (end_of_data, end_of_data)]:
        if lo > cursor and limit - len(found) > 0:
            gap = _walk_local(buf, cursor, lo, limit - len(found), [], hidden=True)
            found += gap
        cursor = max(cursor, hi)
    for m in found:
        anomalies.append(Anomaly(Kind.HIDDEN, "local entry not listed in the central directory",
                                 m.header_offset, m.name))
    return found


def _central_start(buf: Buffer, members: list[ZipMember]) -> int:
    end = max((m.end for m in members if m.data_offset >= 0), default=0)
    pos = buf.find(_CENTRAL, end)
    return pos if pos >= 0 else len(buf)


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
