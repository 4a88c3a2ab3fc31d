"""ZIP records read from bytes: the end record, central directory entries, local headers.

Why a module of its own: :mod:`modeltrust._source.zipread` decides what a listing is (the
member limit and what lies past it, which anomalies matter) and reads member data; this
module only knows the byte layouts and turns one record at a time into :class:`ZipMember`
values, located the way miniz locates them. Malformed records become :class:`Anomaly`
values, never exceptions, and every search through the bytes is bounded.
"""

from __future__ import annotations

import enum
import struct
from typing import NamedTuple

from modeltrust._source.interface import Buffer

_LOCAL = b"PK\x03\x04"
CENTRAL = b"PK\x01\x02"
_EOCD = b"PK\x05\x06"
_Z64_LOCATOR = b"PK\x06\x07"
_Z64_EOCD = b"PK\x06\x06"
_DESCRIPTOR = b"PK\x07\x08"
_LOCAL_FMT = struct.Struct("<4sHHHHHIIIHH")
CENTRAL_FMT = struct.Struct("<4sHHHHHHIIIHHHHHII")
_EOCD_FMT = struct.Struct("<4sHHHHIIH")
_Z64_EOCD_FMT = struct.Struct("<4sQHHIIQQQQ")
_EOCD_SEARCH = 65_535 + _EOCD_FMT.size
_MAX_SCAN_HITS = 100_000

ENCRYPTED = 0x0001
DATA_DESCRIPTOR = 0x0008
PATCHED = 0x0020
STRONG_ENCRYPTION = 0x0040
UTF8 = 0x0800
ODD_FLAGS = ENCRYPTED | PATCHED | STRONG_ENCRYPTION
"""Flag bits a model checkpoint never needs; miniz (and so torch) ignores them all."""


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


def decode_name(raw: bytes) -> str:
    """Decode a member name: UTF-8 when valid, else CP437 (never fails, always the same)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp437")


def find_eocd(buf: Buffer) -> int | None:
    """Offset of the last end record that fits in the file's tail, or None."""
    n = len(buf)
    base = max(0, n - _EOCD_SEARCH)
    tail = bytes(buf[base:n])
    pos = tail.rfind(_EOCD)
    while pos >= 0:
        if pos + _EOCD_FMT.size <= len(tail):
            return base + pos
        pos = tail.rfind(_EOCD, 0, pos)
    return None


def central_bounds(buf: Buffer, eocd: int) -> tuple[int, int, int]:
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
    if (shift < 0 or bytes(buf[cd_offset + shift : cd_offset + shift + 4]) != CENTRAL) and \
            bytes(buf[cd_offset : cd_offset + 4]) == CENTRAL:
        shift = 0
    return cd_offset + shift, cd_size, max(shift, 0)


def declared_count(buf: Buffer, eocd: int) -> int:
    """The member count the end record declares (ZIP64 when present)."""
    total = int(_EOCD_FMT.unpack_from(buf, eocd)[4])
    loc = eocd - 20
    if loc >= 0 and bytes(buf[loc : loc + 4]) == _Z64_LOCATOR:
        z64 = int.from_bytes(bytes(buf[loc + 8 : loc + 16]), "little")
        if 0 <= z64 <= len(buf) - _Z64_EOCD_FMT.size and bytes(buf[z64 : z64 + 4]) == _Z64_EOCD:
            total = int(_Z64_EOCD_FMT.unpack_from(buf, z64)[7])
    return total


def central_entry(
    buf: Buffer, pos: int, shift: int, anomalies: list[Anomaly]
) -> tuple[ZipMember, int]:
    """The member whose central entry is at ``pos``, and where the next entry starts."""
    f = CENTRAL_FMT.unpack_from(buf, pos)
    flags, method, crc, csize, usize = f[3], f[4], f[7], f[8], f[9]
    name_len, extra_len, comment_len, offset = f[10], f[11], f[12], f[16]
    head = pos + CENTRAL_FMT.size
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


def walk_local(
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
    nxt = [p for p in (_find(buf, s, data, stop) for s in (_LOCAL, CENTRAL, _EOCD))
           if p is not None]
    end = min(nxt) if nxt else stop
    return 0, end - data, 0


def _find(buf: Buffer, sig: bytes, start: int, stop: int) -> int | None:
    pos = buf.find(sig, start, stop)
    return pos if pos >= 0 else None


def find_hidden(
    buf: Buffer, members: list[ZipMember], limit: int, anomalies: list[Anomaly]
) -> list[ZipMember]:
    """Local entries sitting in gaps between listed members (invisible to miniz, not to all)."""
    spans = sorted((m.header_offset, m.end) for m in members if m.data_offset >= 0)
    end_of_data = _central_start(buf, members)
    found: list[ZipMember] = []
    cursor = 0
    for lo, hi in [*spans, (end_of_data, end_of_data)]:
        if lo > cursor and limit - len(found) > 0:
            gap = walk_local(buf, cursor, lo, limit - len(found), [], hidden=True)
            found += gap
        cursor = max(cursor, hi)
    for m in found:
        anomalies.append(Anomaly(Kind.HIDDEN, "local entry not listed in the central directory",
                                 m.header_offset, m.name))
    return found


def _central_start(buf: Buffer, members: list[ZipMember]) -> int:
    end = max((m.end for m in members if m.data_offset >= 0), default=0)
    pos = buf.find(CENTRAL, end)
    return pos if pos >= 0 else len(buf)
