"""Build container samples in code (zip, tar, 7z, npy, compressed) and run scanners on them.

Samples are harmless: "pickles" are ``pickle.dumps`` of plain data with a marker string, so
nothing here needs to execute anything. Anomalies are made by patching bytes of a valid zip.
"""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
import zipfile
from dataclasses import dataclass, field

from modeltrust._inventory.formats import Format
from modeltrust._inventory.sniff import sniff
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, ExpansionBudget, Limits
from modeltrust.findings import Finding

MARKER = b"MODELTRUST-TEST-MARKER"
PICKLE = pickle.dumps({"marker": MARKER.decode(), "weights": [1, 2, 3]}, protocol=4)


@dataclass
class Run:
    """What one scanner call produced."""

    result: Result
    findings: list[Finding]
    children: list[Artifact] = field(default_factory=list)

    def rules(self) -> list[str]:
        return sorted(f.rule_id for f in self.findings)

    def child(self, suffix: str) -> Artifact:
        hits = [c for c in self.children if c.path.endswith(suffix)]
        assert hits, f"no child ending {suffix!r} in {[c.path for c in self.children]}"
        return hits[0]

    def child_data(self, suffix: str) -> bytes:
        data = self.child(suffix)._data
        assert data is not None
        return data

    def names(self) -> list[str]:
        return [c.path.split("!", 1)[1] for c in self.children]

    def by_rule(self, rule_id: str) -> list[Finding]:
        return [f for f in self.findings if f.rule_id == rule_id]


def run(
    scanner: Scanner, name: str, data: bytes, fmt: Format | None = None,
    limits: Limits | None = None, budget: int | None = None,
) -> Run:
    """Sniff (unless ``fmt`` is given) and scan ``data``; children are recorded, not scanned."""
    art = Artifact.from_bytes(name, data, 0)
    lim = limits or Limits()
    children: list[Artifact] = []
    ctx = ScanContext(lim, ExpansionBudget(lim.max_expanded if budget is None else budget),
                      children.append)
    fmt = fmt or sniff(data, art.hint_ext).format
    result = scanner.scan(art, data, fmt, ctx)
    return Run(result, ctx.findings, children)


def make_zip(
    members: list[tuple[str, bytes]], method: int = zipfile.ZIP_STORED, comment: bytes = b""
) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, method)
        zf.comment = comment
    return buf.getvalue()


def torch_zip(prefix: str = "archive", storages: int = 2, extra: list[tuple[str, bytes]] = (),
              method: int = zipfile.ZIP_STORED) -> bytes:
    """The member layout torch.save writes (data.pkl, version, byteorder, data/<n>)."""
    members = [(f"{prefix}/data.pkl", PICKLE), (f"{prefix}/byteorder", b"little")]
    members += [(f"{prefix}/data/{i}", bytes(range(16)) * 4) for i in range(storages)]
    members += [(f"{prefix}/version", b"3\n"), *extra]
    return make_zip(members, method)


def local_offsets(data: bytes) -> list[int]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [i.header_offset for i in zf.infolist()]


def central_offsets(data: bytes) -> list[int]:
    out, pos = [], data.find(b"PK\x01\x02")
    while pos >= 0:
        out.append(pos)
        pos = data.find(b"PK\x01\x02", pos + 4)
    return out


def patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


def set_local_flags(data: bytes, index: int, flags: int) -> bytes:
    return patch(data, local_offsets(data)[index] + 6, "<H", flags)


def set_central_flags(data: bytes, index: int, flags: int) -> bytes:
    return patch(data, central_offsets(data)[index] + 8, "<H", flags)


def corrupt_crc(data: bytes, index: int) -> bytes:
    """Flip the CRC in both headers (as a hostile writer would) so only the data disagrees."""
    lo, co = local_offsets(data)[index], central_offsets(data)[index]
    crc = struct.unpack_from("<I", data, co + 16)[0] ^ 0xDEADBEEF
    return patch(patch(data, lo + 14, "<I", crc), co + 16, "<I", crc)


def rename_local(data: bytes, index: int, new: bytes) -> bytes:
    """Change the local header's name (same length), leaving the central name alone."""
    lo = local_offsets(data)[index]
    n = struct.unpack_from("<H", data, lo + 26)[0]
    assert len(new) == n
    return data[: lo + 30] + new + data[lo + 30 + n :]


def strip_central(data: bytes) -> bytes:
    """Cut the central directory and end record off: only local headers remain."""
    return data[: central_offsets(data)[0]]


def make_tar(members: list[tuple[str, bytes]], mode: str = "w",
             links: list[tuple[str, str, bytes]] = ()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:  # type: ignore[call-overload]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target, kind in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            tf.addfile(info)
    return buf.getvalue()


def make_7z(members: list[tuple[str, bytes]], password: str | None = None,
            header_encryption: bool = False) -> bytes:
    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", password=password,
                            header_encryption=header_encryption) as z:
        for name, data in members:
            z.writestr(data, name)
    return buf.getvalue()


def npy_header(header: str, version: tuple[int, int] = (1, 0), pad: bool = True) -> bytes:
    raw = header.encode("latin-1")
    if version[0] == 1:
        pre = 10
        total = pre + len(raw) + 1
        raw += b" " * ((64 - total % 64) % 64 if pad else 0) + b"\n"
        return b"\x93NUMPY" + bytes(version) + struct.pack("<H", len(raw)) + raw
    pre = 12
    total = pre + len(raw) + 1
    raw += b" " * ((64 - total % 64) % 64 if pad else 0) + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack("<I", len(raw)) + raw


def npy_object_array() -> bytes:
    """An object-dtype .npy built by hand: header + a (harmless) pickle as the data."""
    return npy_header("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }") + PICKLE
