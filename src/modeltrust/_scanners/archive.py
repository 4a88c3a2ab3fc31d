"""Archives (zip, tar, 7z): list members, report structural tricks, hand members back.

Nothing is extracted to disk and member names are never joined onto a file system path:
every member's bytes go back through :attr:`ScanContext.scan_child` as an artifact named
``archive!member``, so the pipeline sniffs and scans it like any file. Zips are read with
:mod:`modeltrust._source.zipread`, which sees members as PyTorch does, because a scanner
that reads a checkpoint differently from the loader can be steered around the payload.
"""

from __future__ import annotations

import io
import lzma
import re
import struct
import time
import zlib
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from modeltrust._inventory.formats import Format
from modeltrust._scanners import common
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source import zipread
from modeltrust._source.interface import Artifact, Buffer
from modeltrust._source.zipread import Kind, ReadStatus, ZipMember
from modeltrust.findings import Location, Rule, Severity
from modeltrust.rules import finding, rule

if TYPE_CHECKING:
    import tarfile

_DIFFERENTIAL = (
    "PyTorch (miniz) ignores this and loads the member anyway, while zipfile-based scanners "
    "fail or skip it: a known way to hide a payload from scanners. torch.save never writes it."
)
_ZIP_FIX = "Do not load the file; re-create it with the tool that produced the model."
ANOMALY_RULES: dict[Kind, Rule] = {
    Kind.CRC: rule("MT-ZIP-001", "Zip member fails its CRC check", Severity.MEDIUM,
                   f"The member's data does not match the CRC-32 in the archive. {_DIFFERENTIAL}",
                   fix=_ZIP_FIX, references=("CVE-2025-10156",)),
    Kind.NAME_MISMATCH: rule(
        "MT-ZIP-002", "Zip local and central member names differ", Severity.MEDIUM,
        f"The local header names the member differently from the central directory, so tools "
        f"disagree on what the member is called. {_DIFFERENTIAL}",
        fix=_ZIP_FIX, references=("CVE-2025-1944",)),
    Kind.FLAGS: rule(
        "MT-ZIP-003", "Zip member has unusual general-purpose flag bits", Severity.MEDIUM,
        f"Flag bits such as 'encrypted' (0x1), 'patched' (0x20) or 'strong encryption' (0x40) "
        f"are set on readable data, or local and central flags differ. {_DIFFERENTIAL}",
        fix=_ZIP_FIX, references=("CVE-2025-1945",)),
    Kind.DUPLICATE: rule(
        "MT-ZIP-004", "Zip holds two members with the same name", Severity.MEDIUM,
        "Loaders pick different copies of a duplicated name (first, last or by sorted "
        "lookup), so a scanner can check one copy while the loader runs the other.",
        fix=_ZIP_FIX),
    Kind.PREFIX: rule(
        "MT-ZIP-005", "Data before the first zip member", Severity.LOW,
        "Bytes precede the first member. A file that is both a pickle and a zip (a polyglot) "
        "is read as a pickle by torch.load; the prefix is scanned as a file of its own.",
        fix="Remove the prefix; genuine model archives start with their first member."),
    Kind.OVERLAP: rule(
        "MT-ZIP-006", "Zip members overlap", Severity.MEDIUM,
        "Two members share bytes. Genuine writers never do this; overlap is used for zip "
        "bombs and to show different content to different readers.",
        fix=_ZIP_FIX, cwe=409),
    Kind.TRUNCATED: rule(
        "MT-ZIP-007", "Zip structure truncated", Severity.MEDIUM,
        "A member or directory record runs past the end of the file, so its content is "
        "incomplete. The file may be damaged or built to crash readers.",
        fix="Download the file again and compare its digest with the publisher's."),
    Kind.BAD_ENTRY: rule(
        "MT-ZIP-008", "Malformed zip record", Severity.MEDIUM,
        "A central directory entry is malformed or points at no local header. Readers "
        "disagree on such entries; the rest of the archive was still analysed.",
        fix="Download the file again; if it persists, treat it as hostile."),
    Kind.NO_CENTRAL: rule(
        "MT-ZIP-009", "Zip central directory missing or unreadable", Severity.MEDIUM,
        "The central directory (the index loaders use) is missing or broken; the members "
        "were recovered by walking local headers. Scanners that need the index see nothing.",
        fix="Download the file again; if it persists, treat it as hostile."),
    Kind.HIDDEN: rule(
        "MT-ZIP-010", "Zip member missing from the central directory", Severity.MEDIUM,
        "A local entry is not listed in the central directory: index-based readers never "
        "see it, stream-based readers do. It was analysed anyway.",
        fix=_ZIP_FIX),
    Kind.TOO_MANY: rule(
        "MT-ARC-005", "Archive has more members than the limit", Severity.HIGH,
        "Members past the limit were not analysed, and a payload may sit among them: padding "
        "an archive with thousands of harmless members is an evasion technique as much as "
        "huge member counts exhaust scanners' memory and time. Members whose names say they "
        "carry code (pickles, .npy arrays, TorchScript code) are still found through the zip "
        "central directory and analysed. Medium when nothing past the limit was left "
        "unanalysed.",
        fix="Unpack the archive and scan the folder, or raise the member limit.", cwe=400),
}
TOO_MANY = ANOMALY_RULES[Kind.TOO_MANY]
TRAVERSAL = rule(
    "MT-ARC-001", "Archive member name escapes the extraction folder (zip slip)", Severity.HIGH,
    "The member name is absolute, has a drive letter, or climbs with '..'. Extracting the "
    "archive would write outside the target folder, e.g. over a startup script.",
    fix="Do not extract the archive; ask the publisher for a clean one.", cwe=22)
BOMB = rule(
    "MT-ARC-002", "Decompression bomb", Severity.MEDIUM,
    "The data expands far more than real model data does (the compression ratio limit). It "
    "was not decompressed further; whatever it holds was not analysed.",
    fix="Treat the file as hostile, or raise the ratio limit if the data is known.", cwe=409)
TOO_LARGE = rule(
    "MT-ARC-003", "Member larger than the analysis limit", Severity.MEDIUM,
    "The decompressed member is larger than the per-member limit and was not analysed.",
    fix="Raise the member size limit to analyse it.", cwe=409)
BUDGET = rule(
    "MT-ARC-004", "Total expansion budget exhausted", Severity.MEDIUM,
    "All members of this file together decompress to more than the expansion budget; the "
    "rest were not analysed. Nested archives are a classic way to build such bombs.",
    fix="Unpack the archive and scan the folder, or raise the expansion limit.", cwe=409)
ENCRYPTED = rule(
    "MT-ARC-006", "Encrypted archive member not analysed", Severity.LOW,
    "The member is password protected, so its content could not be checked. No loader "
    "reads it without the password either.",
    fix="Decrypt the archive yourself and scan the content.")
UNSUPPORTED = rule(
    "MT-ARC-007", "Archive member could not be decoded", Severity.LOW,
    "The member uses a compression method modeltrust does not read, so it was not analysed.",
    fix="Repack the archive with stored or deflate compression and scan again.")
CORRUPT = rule(
    "MT-ARC-008", "Archive or member is corrupt", Severity.MEDIUM,
    "The archive or a member's compressed data is damaged. Whatever could be read was "
    "analysed; corruption is also used to make scanners stop before the payload.",
    fix="Download the file again and compare its digest with the publisher's.")
LINK = rule(
    "MT-ARC-009", "Archive holds a link or device entry", Severity.MEDIUM,
    "A symbolic link, hard link or device node would, once extracted, point at files outside "
    "the model (or at hardware). modeltrust does not follow it.",
    fix="Remove link and device entries from model archives.", cwe=59)
SEVENZIP_MISSING = rule(
    "MT-ARC-010", "7z support not installed", Severity.INFO,
    "The 7z archive was not analysed because the optional py7zr package is missing.",
    fix="pip install 'modeltrust[archives]'")
TORCHSCRIPT_CODE = rule(
    "MT-ARC-011", "TorchScript archive contains code", Severity.INFO,
    "TorchScript archives carry Python-like code that torch.jit.load compiles and runs. The "
    "pickles are scanned; the code is listed for review.",
    fix="Load with torch.load(weights_only=True) instead of torch.jit.load if you only need "
        "weights.")

_STORAGE = re.compile(r"^[^/]+/(?:data|constants)/\d+$")
_TORCH_TAR = frozenset({"sys_info", "pickle", "storages", "tensors"})
_TORCH_HIGH = frozenset(
    {Kind.CRC, Kind.NAME_MISMATCH, Kind.FLAGS, Kind.DUPLICATE, Kind.OVERLAP, Kind.HIDDEN})
"""Anomalies torch.save never produces: in a checkpoint they signal a parser differential."""
_DRIVE = re.compile(r"^[A-Za-z]:")


class ArchiveScanner(Scanner):
    """Zip, tar and 7z archives, including PyTorch checkpoints and ``.npz`` files."""

    name = "archive"
    formats = frozenset({Format.ZIP, Format.TAR, Format.SEVENZIP})
    rules = (*ANOMALY_RULES.values(), TRAVERSAL, BOMB, TOO_LARGE, BUDGET, ENCRYPTED,
             UNSUPPORTED, CORRUPT, LINK, SEVENZIP_MISSING, TORCHSCRIPT_CODE)

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """List the archive's members, report what is odd, and hand each member back."""
        if fmt is Format.TAR:
            return _scan_tar(artifact, data, ctx)
        if fmt is Format.SEVENZIP:
            return _scan_7z(artifact, data, ctx)
        return _scan_zip(artifact, data, ctx)


def unsafe_name(name: str) -> str | None:
    """Why extracting a member of this name would escape the target folder, or None."""
    if "\x00" in name:
        return "contains a NUL byte"
    if name.startswith(("/", "\\")):
        return "is an absolute path"
    if _DRIVE.match(name):
        return "starts with a drive letter"
    if ".." in re.split(r"[/\\]", name):
        return "climbs out of the folder with '..'"
    return None


class _Members:
    """Book-keeping shared by the three formats: names, counts, limits and hand-over."""

    def __init__(self, artifact: Artifact, ctx: ScanContext) -> None:
        self.artifact, self.ctx = artifact, ctx
        self.seen: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()

    def report(self, r: Rule, evidence: str, member: str | None = None,
               offset: int | None = None, severity: Severity | None = None) -> None:
        self.ctx.report(finding(r, self.artifact.path, evidence,
                                Location(offset=offset, member=member), severity=severity))

    def out_of_time(self) -> bool:
        """True (reported once) when the per-file wall-clock budget is spent."""
        if time.monotonic() - self.ctx.started <= self.ctx.limits.max_seconds:
            return False
        if not self.skipped["members after the time limit"]:
            self.report(common.TIME_LIMIT, f"stopped after {self.ctx.limits.max_seconds:g} s")
        self.skipped["members after the time limit"] += 1
        return True

    def check_name(self, name: str, offset: int | None = None) -> None:
        why = unsafe_name(name)
        if why is not None:
            self.report(TRAVERSAL, f"member name {name!r} {why}", name, offset)

    def hand(self, name: str, data: bytes) -> None:
        self.seen[name] += 1
        shown = name if self.seen[name] == 1 else f"{name}#{self.seen[name]}"
        kind = {".pkl": "pickle", ".npy": "array"}.get(name[-4:], "other member")
        self.counts[kind] += 1
        self.ctx.scan_child(self.artifact.child(shown, data))

    def limit_hit(self, status: ReadStatus, detail: str, name: str) -> None:
        r = {ReadStatus.BOMB: BOMB, ReadStatus.TOO_LARGE: TOO_LARGE}.get(status, BUDGET)
        self.report(r, f"{name}: {detail}", name)
        self.skipped[status.value] += 1

    def result(self, fmt: Format, what: str) -> Result:
        parts = [f"{n} {k}{'' if n == 1 else 's'}" for k, n in sorted(self.counts.items())]
        detail = f"{what}: " + (", ".join(parts) if parts else "no members")
        if self.skipped:
            reason = "not analysed: " + ", ".join(f"{n} {k}" for k, n in
                                                  sorted(self.skipped.items()))
            return Result.partial(reason, detail, fmt)
        return Result(detail=detail, format=fmt)


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
    listing = zipread.parse_zip(data, ctx.limits.max_members, _past_limit)
    past = dict(listing.beyond_counts)
    names = [m.name for m in (*listing.members, *listing.beyond)]
    fmt = classify_zip(names + (["(other members)"] if past.keys() - {"dir"} - (
        {"storage"} if any(n.endswith("data.pkl") for n in names) else set()) else []))
    torch = fmt in (Format.TORCH_ZIP, Format.TORCHSCRIPT)
    book = _Members(artifact, ctx)
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
        if torch and _STORAGE.match(m.name):
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


_CODE_NAME = re.compile(r"(?:pkl|\.pickle|\.npy|\.npz|\.py|\.pt|\.pth|\.ckpt|\.joblib"
                        r"|\.zip|config\.json|metadata\.json)$|(?:^|/)code/", re.IGNORECASE)
"""Member names past the limit worth reading: pickles (``data.pkl``, ``constants.pkl``,
``.debug_pkl``), arrays, nested checkpoints and archives, TorchScript code, Keras configs."""
_NPY_HEAD = 64 * 1024


def _past_limit(name: str) -> str:
    """How a member past the member limit is treated: read it, or only count it."""
    if name.endswith("/"):
        return "dir"
    if _STORAGE.match(name):
        return "storage"
    return zipread.KEEP if _CODE_NAME.search(name) else "other"


def _beyond_limit(book: _Members, data: Buffer, listing: zipread.ZipListing,
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


def _hand_prefix(book: _Members, data: Buffer, end: int) -> None:
    if end > book.ctx.limits.max_member_size:
        book.limit_hit(ReadStatus.TOO_LARGE, f"{end} bytes of prefix data", "@prefix")
        return
    book.hand("@prefix", bytes(data[:end]))


def _read_zip_member(book: _Members, data: Buffer, m: ZipMember, torch: bool) -> None:
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


# --- tar ----------------------------------------------------------------------------------


class BufferReader(io.RawIOBase):
    """A read-only, seekable file over a buffer, so tarfile/py7zr read it without a copy."""

    def __init__(self, data: Buffer) -> None:
        super().__init__()
        self._data, self._pos = data, 0

    def readable(self) -> bool:  # noqa: D102 - io protocol
        return True

    def seekable(self) -> bool:  # noqa: D102 - io protocol
        return True

    def tell(self) -> int:  # noqa: D102 - io protocol
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:  # noqa: D102 - io protocol
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._data)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]  # noqa: D102
        chunk = self._data[self._pos : self._pos + len(b)]
        b[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def _scan_tar(artifact: Artifact, data: Buffer, ctx: ScanContext) -> Result:
    import tarfile  # on need: most scans meet no tar, and importing it costs start-up time

    tar_errors = (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError, OverflowError)
    book = _Members(artifact, ctx)
    names: list[str] = []
    past = _TarPast(ctx.limits.max_members)
    try:
        with tarfile.open(fileobj=io.BufferedReader(BufferReader(data)), mode="r:") as tf:
            while True:
                info = tf.next()
                if info is None:
                    break
                if len(names) >= ctx.limits.max_members:
                    past.at = info.offset if past.at is None else past.at
                    if not past.take(book, tf, info):
                        break
                    continue
                names.append(info.name)
                if book.out_of_time():
                    break
                _tar_member(book, tf, info)
            if not past.stopped:
                _tar_tail(book, data, tf.offset)
    except tar_errors as exc:
        book.report(CORRUPT, f"tar archive unreadable after {len(names)} members: "
                    f"{type(exc).__name__}: {exc}")
        book.skipped["unreadable rest of archive"] += 1
    past.report(book)
    torch = "pickle" in names and len(_TORCH_TAR.intersection(names)) >= 2
    fmt = Format.TORCH_TAR if torch else Format.TAR
    return book.result(fmt, "legacy PyTorch tar" if torch else "tar")


class _TarPast:
    """Tar members past the limit: headers are still walked, code-carrying members read."""

    def __init__(self, limit: int) -> None:
        self.limit, self.listed, self.read, self.unread = limit, 0, 0, 0
        self.at: int | None = None
        self.stopped = False

    def take(self, book: _Members, tf: tarfile.TarFile, info: tarfile.TarInfo) -> bool:
        """Handle one member past the limit; False once the listing bound is reached."""
        self.listed += 1  # tarfile keeps each header: the listing bound also bounds memory
        if self.listed > zipread.MAX_LISTED // 10:
            self.unread += 1  # and possibly more: the rest is not even listed
            self.stopped = True
            return False
        if info.isdir():
            return True
        keep = _past_limit(info.name) == zipread.KEEP or not info.isfile()
        if keep and self.read < self.limit and not book.out_of_time():
            self.read += info.isfile()
            _tar_member(book, tf, info)
        else:
            self.unread += 1
        return True

    def report(self, book: _Members) -> None:
        if self.at is None:
            return
        more = " (listing stopped there)" if self.stopped else ""
        book.report(TOO_MANY, f"{self.limit + self.listed} members{more}, {self.listed} past "
                    f"the limit of {self.limit}: {self.read} code-carrying members were "
                    f"analysed, {self.unread} members were not analysed", offset=self.at,
                    severity=Severity.HIGH if self.unread else Severity.MEDIUM)
        if self.unread:
            book.skipped["members over the limit"] += self.unread


def _tar_member(book: _Members, tf: tarfile.TarFile, info: tarfile.TarInfo) -> None:
    book.check_name(info.name, info.offset)
    if info.issym() or info.islnk():
        target = info.linkname
        escapes = unsafe_name(target) is not None or info.issym() and target.startswith("/")
        kind = "symbolic link" if info.issym() else "hard link"
        book.report(LINK, f"{info.name} is a {kind} to {target!r}", info.name, info.offset,
                    Severity.HIGH if escapes else None)
        return
    if info.isdev():
        book.report(LINK, f"{info.name} is a device or FIFO entry", info.name, info.offset)
        return
    if not info.isfile():
        return
    lim = book.ctx.limits
    if info.size > lim.max_member_size:
        book.limit_hit(ReadStatus.TOO_LARGE, f"{info.size} bytes exceeds the member limit of "
                       f"{lim.max_member_size}", info.name)
        return
    fh = tf.extractfile(info)  # a view of our buffer: nothing is written anywhere
    if fh is None:
        return
    payload = fh.read(info.size)
    if len(payload) < info.size:
        book.report(CORRUPT, f"{info.name}: {len(payload)} of {info.size} bytes present",
                    info.name, info.offset_data)
    book.hand(info.name, payload)


def _tar_tail(book: _Members, data: Buffer, end: int) -> None:
    """Bytes after the point where tarfile stopped reading: hidden from tar-based loaders."""
    tail = bytes(data[end : end + 65_536]).lstrip(b"\0")
    if tail:
        book.report(CORRUPT, f"data after the last readable tar header (offset {end}); tar "
                    "readers stop there, other tools may not", offset=end)


# --- 7z -----------------------------------------------------------------------------------

_AES = b"\x06\xf1\x07\x01"


def _scan_7z(artifact: Artifact, data: Buffer, ctx: ScanContext) -> Result:
    book = _Members(artifact, ctx)
    try:
        import py7zr
        from py7zr.io import BytesIOFactory
    except ImportError:
        book.report(SEVENZIP_MISSING, "py7zr is not installed")
        return Result.not_analysed("install modeltrust[archives] to read 7z",
                                   format=Format.SEVENZIP)
    errors = (py7zr.exceptions.ArchiveError, py7zr.exceptions.InternalError, *_7Z_ERRORS)
    factory = BytesIOFactory(ctx.limits.max_member_size + 1)
    try:
        with py7zr.SevenZipFile(io.BufferedReader(BufferReader(data)), mode="r",
                                max_extract_size=max(ctx.budget.remaining, 1)) as z:
            targets = _7z_targets(book, z.files, len(data))
            total = sum(size for _, size in targets)
            if targets and not ctx.budget.take(total):
                book.limit_hit(ReadStatus.BUDGET, f"{total} bytes to expand", "*")
            elif targets:
                z.extract(targets=[n for n, _ in targets], factory=factory)
    except py7zr.exceptions.PasswordRequired:
        book.report(ENCRYPTED, "7z archive is password protected (encrypted header or data)")
        book.skipped["encrypted"] += 1
    except errors as exc:
        book.report(CORRUPT, f"7z archive unreadable: {type(exc).__name__}: {exc}")
        book.skipped["unreadable archive"] += 1
    for name, product in factory.products.items():
        product.seek(0)
        book.hand(name, product.read())
    return book.result(Format.SEVENZIP, "7z")


_7Z_ERRORS = (EOFError, OSError, ValueError, KeyError, IndexError, TypeError, AttributeError,
              UnicodeError, NotImplementedError, struct.error, lzma.LZMAError, zlib.error)
"""What py7zr lets escape on hostile input (it has no single error base)."""


def _7z_targets(book: _Members, files: Iterable[Any], size: int) -> list[tuple[str, int]]:
    """Members to decompress, chosen from declared sizes *before* anything is expanded."""
    lim = book.ctx.limits
    out: list[tuple[str, int]] = []
    for i, f in enumerate(files):
        name = str(f.filename)
        if i >= lim.max_members:
            book.report(TOO_MANY, f"more than {lim.max_members} members; only the first were "
                        "read")
            book.skipped["members over the limit"] += 1
            break
        book.check_name(name)
        if f.is_directory or f.emptystream and not f.is_symlink:
            continue
        if f.is_symlink or f.is_junction or f.is_socket:
            book.report(LINK, f"{name} is a link or special file", name)
        elif f.folder is not None and any(c.get("method") == _AES for c in f.folder.coders):
            book.report(ENCRYPTED, f"{name} is encrypted", name)
            book.skipped["encrypted"] += 1
        elif unsafe_name(name) is not None:
            book.skipped["unsafe names (py7zr refuses them)"] += 1
        elif f.uncompressed > lim.max_member_size:
            book.limit_hit(ReadStatus.TOO_LARGE, f"declares {f.uncompressed} bytes", name)
        else:
            out.append((name, int(f.uncompressed)))
    total = sum(n for _, n in out)
    if total > zipread.RATIO_FLOOR and total > lim.max_ratio * max(size, 1):
        book.limit_hit(ReadStatus.BOMB, f"declares {total} bytes from a {size}-byte archive "
                       f"(ratio limit {lim.max_ratio})", "*")
        return []
    return out
