"""Tar archives (and legacy PyTorch tar checkpoints), read with :mod:`tarfile` from memory.

A module of its own so that :mod:`tarfile` is imported only when a tar is met: most scans
never see one, and the import costs start-up time. Members past the member limit are
still listed (bounded), and those that carry code are read, so that a payload padded
behind thousands of harmless members is not skipped.
"""

from __future__ import annotations

import io
import tarfile

from modeltrust._inventory.formats import Format
from modeltrust._scanners.archive_members import BufferReader, Members, past_limit, unsafe_name
from modeltrust._scanners.archive_rules import CORRUPT, LINK, TOO_MANY
from modeltrust._scanners.interface import Result, ScanContext
from modeltrust._source import zipread
from modeltrust._source.interface import Artifact, Buffer
from modeltrust._source.zipread import ReadStatus
from modeltrust.findings import Severity

_TORCH_TAR = frozenset({"sys_info", "pickle", "storages", "tensors"})


def scan_tar(artifact: Artifact, data: Buffer, ctx: ScanContext) -> Result:
    """List a tar's members, report links, devices and trailing data, hand members back."""
    tar_errors = (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError, OverflowError)
    book = Members(artifact, ctx)
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

    def take(self, book: Members, tf: tarfile.TarFile, info: tarfile.TarInfo) -> bool:
        """Handle one member past the limit; False once the listing bound is reached."""
        self.listed += 1  # tarfile keeps each header: the listing bound also bounds memory
        if self.listed > zipread.MAX_LISTED // 10:
            self.unread += 1  # and possibly more: the rest is not even listed
            self.stopped = True
            return False
        if info.isdir():
            return True
        keep = past_limit(info.name) == zipread.KEEP or not info.isfile()
        if keep and self.read < self.limit and not book.out_of_time():
            self.read += info.isfile()
            _tar_member(book, tf, info)
        else:
            self.unread += 1
        return True

    def report(self, book: Members) -> None:
        if self.at is None:
            return
        more = " (listing stopped there)" if self.stopped else ""
        book.report(TOO_MANY, f"{self.limit + self.listed} members{more}, {self.listed} past "
                    f"the limit of {self.limit}: {self.read} code-carrying members were "
                    f"analysed, {self.unread} members were not analysed", offset=self.at,
                    severity=Severity.HIGH if self.unread else Severity.MEDIUM)
        if self.unread:
            book.skipped["members over the limit"] += self.unread


def _tar_member(book: Members, tf: tarfile.TarFile, info: tarfile.TarInfo) -> None:
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


def _tar_tail(book: Members, data: Buffer, end: int) -> None:
    """Bytes after the point where tarfile stopped reading: hidden from tar-based loaders."""
    tail = bytes(data[end : end + 65_536]).lstrip(b"\0")
    if tail:
        book.report(CORRUPT, f"data after the last readable tar header (offset {end}); tar "
                    "readers stop there, other tools may not", offset=end)
