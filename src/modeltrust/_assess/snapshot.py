"""A bounded, read-only view of a model snapshot: its file list and small text files.

The assessment reads only metadata-sized files (cards, licences, JSON configs), never
weights. Listing is bounded (depth, count); symbolic links are followed only when they
stay inside the snapshot or, for a Hugging Face cache, inside the cache (``blobs/``).
A ``models--org--name`` folder is resolved to the snapshot ``refs/main`` points at.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from modeltrust.errors import SourceError

MAX_FILES = 20_000
"""Files listed per snapshot; more are ignored (counted in ``truncated``)."""
MAX_DEPTH = 8
MAX_TEXT_BYTES = 1024 * 1024
"""Text files (cards, licences) are read up to this many bytes."""

_REV = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Text:
    """A bounded read of a text file: the decoded text and what went wrong, if anything."""

    rel: str
    text: str
    size: int
    truncated: bool = False
    binary: bool = False
    error: str = ""


@dataclass
class Snapshot:
    """The files of one model folder (or one file), relative to its root."""

    root: Path
    shown: str
    files: dict[str, int] = field(default_factory=dict)
    """Relative POSIX path -> size in bytes."""
    single: str | None = None
    cache_root: Path | None = None
    revision: str | None = None
    truncated: int = 0

    def path_of(self, rel: str) -> str:
        """The path shown in findings for a snapshot-relative file."""
        if self.single is not None:
            return self.shown
        return rel if self.shown in (".", "") else f"{self.shown}/{rel}"

    def find(self, *names: str) -> list[str]:
        """Files at the top level whose name matches one of ``names`` case-insensitively."""
        wanted = {n.lower() for n in names}
        return sorted(r for r in self.files if "/" not in r and r.lower() in wanted)

    def glob(self, pattern: str) -> list[str]:
        """Files whose relative path matches a regular expression (case-insensitive)."""
        rx = re.compile(pattern, re.IGNORECASE)
        return sorted(r for r in self.files if rx.search(r))

    def read_bytes(self, rel: str, limit: int = MAX_TEXT_BYTES) -> tuple[bytes, str]:
        """Up to ``limit`` bytes of a file, or an error string (never raises)."""
        target = self.root if self.single is not None else self.root / rel
        try:
            with open(target, "rb") as fh:
                return fh.read(limit), ""
        except OSError as exc:
            return b"", exc.strerror or str(exc)

    def read_text(self, rel: str, limit: int = MAX_TEXT_BYTES) -> Text:
        """Read a text file within ``limit`` bytes; binary or non-UTF-8 content is flagged."""
        size = self.files.get(rel, 0)
        data, error = self.read_bytes(rel, limit)
        if error:
            return Text(rel, "", size, error=error)
        return decode_text(rel, data, size, limit)


def decode_text(rel: str, data: bytes, size: int, limit: int = MAX_TEXT_BYTES) -> Text:
    """Decode bytes as UTF-8 text; NUL bytes or invalid UTF-8 mark the text as binary."""
    truncated = size > limit or len(data) >= limit
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    binary = b"\x00" in data[:65536]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and truncated:  # a character cut by the limit
            text = data[: exc.start].decode("utf-8", "replace")
        else:
            binary = True
            text = data.decode("utf-8", "replace")
    if binary:
        text = text.replace("\x00", " ")
    return Text(rel, text, size, truncated=truncated, binary=binary)


def open_snapshot(target: str) -> Snapshot:
    """List a folder, a hub cache repository folder or a single file.

    Raises:
        SourceError: the target does not exist or cannot be listed.
    """
    path = Path(target)
    shown = os.path.normpath(target)
    try:
        st = path.stat()
    except (OSError, ValueError) as exc:
        raise SourceError(target, getattr(exc, "strerror", None) or str(exc)) from exc
    if stat.S_ISREG(st.st_mode):
        snap = Snapshot(path, shown, {path.name: st.st_size}, single=path.name)
        return snap
    if not stat.S_ISDIR(st.st_mode):
        raise SourceError(target, "not a regular file or folder")
    root, revision, cache = _resolve_cache(path)
    snap = Snapshot(root, shown, cache_root=cache, revision=revision)
    if root != path:
        snap.shown = os.path.normpath(os.path.join(shown, os.path.relpath(root, path)))
    _walk(snap, root, "", 0)
    return snap


def _resolve_cache(path: Path) -> tuple[Path, str | None, Path | None]:
    """For ``models--org--name`` use the snapshot ``refs/main`` names; find the cache root."""
    if path.name.startswith(("models--", "datasets--")) and (path / "snapshots").is_dir():
        rev = _read_ref(path / "refs" / "main")
        if rev and (path / "snapshots" / rev).is_dir():
            return path / "snapshots" / rev, rev, path
        revs = sorted(p.name for p in (path / "snapshots").iterdir() if p.is_dir())
        if len(revs) == 1:
            return path / "snapshots" / revs[0], revs[0], path
        return path, None, path
    if path.parent.name == "snapshots" and path.parent.parent.name.startswith("models--"):
        return path, path.name if _REV.match(path.name) else None, path.parent.parent
    return path, None, None


def _read_ref(ref: Path) -> str | None:
    try:
        with open(ref, "rb") as fh:
            text = fh.read(128).decode("ascii", "replace").strip()
    except OSError:
        return None
    return text if _REV.match(text) else None


def _walk(snap: Snapshot, folder: Path, prefix: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        rel = f"{prefix}{entry.name}"
        if entry.name == ".git" or (depth == 0 and entry.name in ("blobs", "refs")
                                     and snap.cache_root is not None):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                _walk(snap, Path(entry.path), rel + "/", depth + 1)
                continue
            if entry.is_symlink() and not _link_ok(snap, Path(entry.path)):
                continue
            st = os.stat(entry.path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if len(snap.files) >= MAX_FILES:
            snap.truncated += 1
            continue
        snap.files[rel] = st.st_size


def _link_ok(snap: Snapshot, link: Path) -> bool:
    try:
        real = link.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    bounds = [snap.root.resolve()]
    if snap.cache_root is not None:
        bounds.append(snap.cache_root.resolve())
    return any(real == b or b in real.parents for b in bounds)
