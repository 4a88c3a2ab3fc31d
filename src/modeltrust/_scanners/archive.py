"""Archives (zip, tar, 7z): list members, report structural tricks, hand members back.

Nothing is extracted to disk and member names are never joined onto a file system path:
every member's bytes go back through :attr:`ScanContext.scan_child` as an artifact named
``archive!member``, so the pipeline sniffs and scans it like any file. Zips are read with
:mod:`modeltrust._source.zipread`, which sees members as PyTorch does, because a scanner
that reads a checkpoint differently from the loader can be steered around the payload.

This module is the scanner, and reads zips (the common case: PyTorch checkpoints,
``.npz``, Keras v3). Tar and 7z are read in :mod:`.archive_tar` and :mod:`.archive_7z`,
imported only when such an archive is met; the rules are declared in
:mod:`.archive_rules`, and what the formats share is in :mod:`.archive_members`.
"""

from __future__ import annotations

from modeltrust._inventory.formats import Format
from modeltrust._scanners.archive_members import (
    STORAGE,
    BufferReader,
    Members,
    past_limit,
    unsafe_name,
)
from modeltrust._scanners.archive_rules import (
    ANOMALY_RULES,
    BOMB,
    BUDGET,
    CORRUPT,
    ENCRYPTED,
    LINK,
    SEVENZIP_MISSING,
    TOO_LARGE,
    TOO_MANY,
    TORCHSCRIPT_CODE,
    TRAVERSAL,
    UNSUPPORTED,
)
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source import zipread
from modeltrust._source.interface import Artifact, Buffer
from modeltrust._source.zipread import Kind, ReadStatus, ZipMember
from modeltrust.findings import Severity

__all__ = [
    "ANOMALY_RULES", "BOMB", "BUDGET", "CORRUPT", "ENCRYPTED", "LINK", "SEVENZIP_MISSING",
    "TOO_LARGE", "TOO_MANY", "TORCHSCRIPT_CODE", "TRAVERSAL", "UNSUPPORTED", "ArchiveScanner",
    "BufferReader", "classify_zip", "unsafe_name",
]

_TORCH_HIGH = frozenset(
    {Kind.CRC, Kind.NAME_MISMATCH, Kind.FLAGS, Kind.DUPLICATE, Kind.OVERLAP, Kind.HIDDEN})
"""Anomalies torch.save never produces: in a checkpoint they signal a parser differential."""


class ArchiveScanner(Scanner):
    """Zip, tar and 7z archives, including PyTorch checkpoints and ``.npz`` files."""

    name = "archive"
    formats = frozenset({Format.ZIP, Format.TAR, Format.SEVENZIP})
    rules = (*ANOMALY_RULES.values(), TRAVERSAL, BOMB, TOO_LARGE, BUDGET, ENCRYPTED,
             UNSUPPORTED, CORRUPT, LINK, SEVENZIP_MISSING, TORCHSCRIPT_CODE)

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """List the archive's members, report what is odd, and hand each member back."""
        if fmt is Format.TAR:
            from modeltrust._scanners.archive_tar import scan_tar  # tarfile on need

            return scan_tar(artifact, data, ctx)
        if fmt is Format.SEVENZIP:
            from modeltrust._scanners.archive_7z import scan_7z  # py7zr on need

            return scan_7z(artifact, data, ctx)
        return _scan_zip(artifact, data, ctx)


# --- zip ----------------------------------------------------------------------------------


def classify_zip(names: list[str]) -> Format:
    """PyTorch checkpoint, TorchScript, ``.npz``, Keras v3 or plain zip, from member names."""
    files = [n for n in names if not n.endswith("/")]
    if any(n.endswith("/constants.pkl") or n == "constants.pkl" for n in files) and any(
        "/code/" in n or n.startswith("code/") for n in files
    ):
        return Format.TORCHSCRIPT
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in files):
        return Format.TORCH_ZIP
    if files and all(n.endswith(".npy") for n in files):
        return Format.NUMPY_NPZ
    if "config.json" in files and ("metadata.json" in files or any(
        n.startswith("model.weights.") for n in files
    )):
        return Format.KERAS
    return Format.ZIP


def _scan_zip(artifact: Artifact, data: Buffer, ctx: ScanContext) -> Result:
    listing = zipread.parse_zip(data, ctx.limits.max_members, past_limit)
    past = dict(listing.beyond_counts)
    names = [m.name for m in (*listing.members, *listing.beyond)]
    fmt = classify_zip(names + (["(other members)"] if past.keys() - {"dir"} - (
        {"storage"} if any(n.endswith("data.pkl") for n in names) else set()) else []))
    torch = fmt in (Format.TORCH_ZIP, Format.TORCHSCRIPT)
    book = Members(artifact, ctx)
    for a in listing.anomalies:
        sev = Severity.HIGH if torch and a.kind in _TORCH_HIGH else None
        if a.kind is Kind.TOO_MANY:
            continue  # reported once the members past the limit have been looked at
        book.report(ANOMALY_RULES[a.kind], a.message, a.member, a.offset, sev)
    if listing.prefix_end:
        _hand_prefix(book, data, listing.prefix_end)
    if fmt is Format.TORCHSCRIPT:
        code = sorted(m.name for m in listing.members if "/code/" in f"/{m.name}")
        shown = ", ".join(code[:20]) + (f" and {len(code) - 20} more" if len(code) > 20 else "")
        book.report(TORCHSCRIPT_CODE, f"{len(code)} code files: {shown}")
    for m in listing.members:
        book.check_name(m.name, m.header_offset)
        if m.local_name is not None and m.local_name != m.raw_name:
            book.check_name(zipread.decode_name(m.local_name), m.header_offset)
        if m.is_dir or book.out_of_time():
            continue
        if torch and STORAGE.match(m.name):
            book.counts["storage"] += 1
            continue
        _read_zip_member(book, data, m, torch)
    too_many = [a for a in listing.anomalies if a.kind is Kind.TOO_MANY]
    if too_many:
        _beyond_limit(book, data, listing, too_many[0], torch)
    what = {Format.TORCH_ZIP: "PyTorch checkpoint", Format.TORCHSCRIPT: "TorchScript archive",
            Format.NUMPY_NPZ: "numpy .npz", Format.KERAS: "Keras v3 model"}.get(fmt, "zip")
    if listing.recovered:
        what += " (recovered from local headers)"
    return book.result(fmt, what)

_NPY_HEAD = 64 * 1024


def _beyond_limit(book: Members, data: Buffer, listing: zipread.ZipListing,
                  cap: zipread.Anomaly, torch: bool) -> None:
    """Read the code-carrying members past the limit; report how many were left unread."""
    from modeltrust._scanners.numpy import plain_header  # numpy checks only for .npz pads

    counts = dict(listing.beyond_counts)
    unread = sum(n for k, n in counts.items() if k not in ("dir", "storage") or
                 k == "storage" and not torch)
    read = headers = 0
    for m in listing.beyond:
        book.check_name(m.name, m.header_offset)
        if book.out_of_time():
            unread += 1
            continue
        head = zipread.read_head(data, m, _NPY_HEAD) if m.name.endswith(".npy") else None
        if head is not None and plain_header(head):
            headers += 1  # a numeric array: its data is never code
            continue
        read += 1
        _read_zip_member(book, data, m, torch)
    if headers:
        book.counts["array past the limit (header checked)"] += headers
    evidence = (f"{cap.message}: {read} code-carrying members found in the central directory "
                f"were analysed, {headers} numeric arrays had their header checked, "
                f"{unread} members were not analysed")
    book.report(TOO_MANY, evidence, offset=cap.offset,
                severity=Severity.HIGH if unread else Severity.MEDIUM)
    if unread:
        book.skipped["members over the limit"] += unread


def _hand_prefix(book: Members, data: Buffer, end: int) -> None:
    if end > book.ctx.limits.max_member_size:
        book.limit_hit(ReadStatus.TOO_LARGE, f"{end} bytes of prefix data", "@prefix")
        return
    book.hand("@prefix", bytes(data[:end]))


def _read_zip_member(book: Members, data: Buffer, m: ZipMember, torch: bool) -> None:
    lim = book.ctx.limits
    got = zipread.read_member(data, m, max_size=lim.max_member_size, max_ratio=lim.max_ratio,
                              budget=book.ctx.budget)
    where = f"{m.name} (method {m.method})"
    if got.status is ReadStatus.ENCRYPTED:
        book.report(ENCRYPTED, f"{m.name} is encrypted (flags {m.flags:#06x})", m.name,
                    m.header_offset)
        book.skipped["encrypted"] += 1
    elif got.status is ReadStatus.UNSUPPORTED:
        book.report(UNSUPPORTED, f"{where}: {got.detail}", m.name, m.header_offset)
        book.skipped["undecodable"] += 1
    elif got.status in (ReadStatus.BOMB, ReadStatus.TOO_LARGE, ReadStatus.BUDGET):
        book.limit_hit(got.status, got.detail, m.name)
    else:
        if got.status in (ReadStatus.CORRUPT, ReadStatus.TRUNCATED):
            book.report(CORRUPT, f"{where}: {got.status.value}: {got.detail}", m.name,
                        m.data_offset)
        if got.crc_ok is False:
            sev = Severity.HIGH if torch else None
            book.report(ANOMALY_RULES[Kind.CRC], f"{m.name}: stored CRC {m.crc:#010x} does not "
                        "match the data", m.name, m.header_offset, sev)
        if got.data is not None:
            book.hand(m.name, got.data)
