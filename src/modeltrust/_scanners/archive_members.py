"""What the archive formats share: member book-keeping, name checks, a buffer as a file.

The zip, tar and 7z readers (:mod:`.archive`, :mod:`.archive_tar`, :mod:`.archive_7z`)
count, limit and hand back members the same way, and agree on which names escape the
extraction folder and which members past the member limit still deserve a read.
"""

from __future__ import annotations

import io
import re
import time
from collections import Counter

from modeltrust._inventory.formats import Format
from modeltrust._scanners import common
from modeltrust._scanners.archive_rules import BOMB, BUDGET, TOO_LARGE, TRAVERSAL
from modeltrust._scanners.interface import Result, ScanContext
from modeltrust._source import zipread
from modeltrust._source.interface import Artifact, Buffer
from modeltrust._source.zipread import ReadStatus
from modeltrust.findings import Location, Rule, Severity
from modeltrust.rules import finding

STORAGE = re.compile(r"^[^/]+/(?:data|constants)/\d+$")
"""Tensor storage members (``archive/data/0``): raw numbers, not read in a checkpoint."""
_DRIVE = re.compile(r"^[A-Za-z]:")

_CODE_NAME = re.compile(r"(?:pkl|\.pickle|\.npy|\.npz|\.py|\.pt|\.pth|\.ckpt|\.joblib"
                        r"|\.zip|config\.json|metadata\.json)$|(?:^|/)code/", re.IGNORECASE)
"""Member names past the limit worth reading: pickles (``data.pkl``, ``constants.pkl``,
``.debug_pkl``), arrays, nested checkpoints and archives, TorchScript code, Keras configs."""


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


class Members:
    """Book-keeping shared by the three formats: names, counts, limits and hand-over."""

    def __init__(self, artifact: Artifact, ctx: ScanContext) -> None:
        self.artifact, self.ctx = artifact, ctx
        self.seen: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()

    def report(self, r: Rule, evidence: str, member: str | None = None,
               offset: int | None = None, severity: Severity | None = None) -> None:
        """Report a finding of rule ``r`` on this archive, located by member and offset."""
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
        """Report a member name that would escape the extraction folder (zip slip)."""
        why = unsafe_name(name)
        if why is not None:
            self.report(TRAVERSAL, f"member name {name!r} {why}", name, offset)

    def hand(self, name: str, data: bytes) -> None:
        """Send a member's bytes back through the pipeline (a repeated name gets ``#2``)."""
        self.seen[name] += 1
        shown = name if self.seen[name] == 1 else f"{name}#{self.seen[name]}"
        kind = {".pkl": "pickle", ".npy": "array"}.get(name[-4:], "other member")
        self.counts[kind] += 1
        self.ctx.scan_child(self.artifact.child(shown, data))

    def limit_hit(self, status: ReadStatus, detail: str, name: str) -> None:
        """Report a member left unread by the size, ratio or expansion-budget limit."""
        r = {ReadStatus.BOMB: BOMB, ReadStatus.TOO_LARGE: TOO_LARGE}.get(status, BUDGET)
        self.report(r, f"{name}: {detail}", name)
        self.skipped[status.value] += 1

    def result(self, fmt: Format, what: str) -> Result:
        """The scan result: members counted by kind, partial when some were not read."""
        parts = [f"{n} {k}{'' if n == 1 else 's'}" for k, n in sorted(self.counts.items())]
        detail = f"{what}: " + (", ".join(parts) if parts else "no members")
        if self.skipped:
            reason = "not analysed: " + ", ".join(f"{n} {k}" for k, n in
                                                  sorted(self.skipped.items()))
            return Result.partial(reason, detail, fmt)
        return Result(detail=detail, format=fmt)


def past_limit(name: str) -> str:
    """How a member past the member limit is treated: read it, or only count it."""
    if name.endswith("/"):
        return "dir"
    if STORAGE.match(name):
        return "storage"
    return zipread.KEEP if _CODE_NAME.search(name) else "other"


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
