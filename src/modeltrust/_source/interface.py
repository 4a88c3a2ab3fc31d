"""What a source hands to the rest of the pipeline: artifacts and the limits that bound them.

An :class:`Artifact` is a named run of bytes: a file on disk or a member of an archive. Its
bytes are exposed as a read-only buffer (``mmap`` for files, ``bytes`` for members) so parsers
can index into the part they need without reading the rest: a 10 GB checkpoint's pickle is a
few kilobytes, and that is all a scan should touch.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

Buffer = bytes | mmap.mmap
"""Read-only bytes-like view of an artifact: supports ``len``, indexing and slicing."""

READ_WHOLE = 1 << 20
"""Files up to this size are read into memory: cheaper than setting up a mapping."""

MEMBER_SEP = "!"
"""Separator between an archive's path and a member's name: ``outer.zip!inner/data.pkl``."""


@dataclass(frozen=True)
class Limits:
    """Bounds every parser respects; hitting one yields a finding, never a hang or crash."""

    max_file_size: int = 0
    """Files larger than this are listed as not analysed (0 = no limit)."""
    max_depth: int = 5
    """Maximum archive nesting depth (archive inside archive ...)."""
    max_members: int = 10_000
    """Maximum members read from one archive."""
    max_expanded: int = 4 * 1024**3
    """Maximum bytes decompressed from one top-level file, all nesting levels together."""
    max_ratio: int = 200
    """Maximum compression ratio of a member before it is treated as a bomb."""
    max_member_size: int = 1024**3
    """Largest single member that is decompressed into memory for analysis."""
    max_opcodes: int = 50_000_000
    """Pickle opcodes interpreted per stream."""
    max_memo: int = 1_000_000
    """Pickle memo entries tracked."""
    max_stack: int = 1_000_000
    """Pickle stack depth (items) tracked."""
    max_string: int = 64 * 1024 * 1024
    """Largest single pickle string/bytes operand accepted."""
    max_nested_pickles: int = 64
    """Embedded pickles (``pickle.loads`` payloads) decoded per stream."""
    max_pickles_per_stream: int = 1000
    """Stacked pickles followed in one stream."""
    max_seconds: float = 120.0
    """Wall-clock budget for analysing one file."""


@dataclass
class ExpansionBudget:
    """Bytes still allowed to be decompressed for one top-level target (shared by nesting)."""

    remaining: int

    def take(self, n: int) -> bool:
        """Reserve ``n`` bytes; return False (and reserve nothing) when over budget."""
        if n > self.remaining:
            return False
        self.remaining -= n
        return True


@dataclass(frozen=True)
class Artifact:
    """A file or archive member to analyse.

    ``path`` is the display path used in reports (``a.zip!b/data.pkl`` for members), relative
    to the scan root when the target was a folder. ``local`` is set only for real files.
    """

    path: str
    size: int
    depth: int = 0
    local: Path | None = None
    _data: bytes | None = field(default=None, repr=False, compare=False)
    hint_ext: str = ""

    @staticmethod
    def from_bytes(path: str, data: bytes, depth: int) -> Artifact:
        """An in-memory artifact (an archive member or a decoded payload)."""
        name = path.rsplit(MEMBER_SEP, 1)[-1]
        return Artifact(path=path, size=len(data), depth=depth, _data=data, hint_ext=_ext(name))

    @staticmethod
    def from_file(path: str, local: Path, size: int) -> Artifact:
        """An artifact backed by a file on disk, read through ``mmap``."""
        return Artifact(path=path, size=size, depth=0, local=local, hint_ext=_ext(local.name))

    @contextmanager
    def open(self) -> Iterator[Buffer]:
        """Yield the artifact's bytes as a read-only buffer; large files are mapped, not read."""
        if self._data is not None:
            yield self._data
            return
        assert self.local is not None
        with open(self.local, "rb", buffering=0) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size <= READ_WHOLE:
                yield fh.read(size)  # one read(2) into a buffer of the file's size
                return
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            try:
                yield mm
            finally:
                mm.close()

    def child(self, name: str, data: bytes) -> Artifact:
        """An artifact for member ``name`` of this one (one level deeper)."""
        return Artifact.from_bytes(f"{self.path}{MEMBER_SEP}{name}", data, self.depth + 1)


def _ext(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


ChildSink = Callable[[Artifact], None]
"""Callback through which container scanners hand members back to the pipeline."""
