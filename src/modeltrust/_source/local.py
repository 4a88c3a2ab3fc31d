"""Local targets: files and folders, including Hugging Face and ModelScope snapshots.

Symbolic links are followed only when their target stays inside the scanned folder, or,
for a Hugging Face cache (``models--org--name/snapshots/<rev>/`` linking into ``blobs/``),
inside the cache root. Anything else is reported and not followed.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from modeltrust._report.model import Coverage, FileEntry
from modeltrust._source import rules
from modeltrust._source.interface import Artifact
from modeltrust.errors import SourceError
from modeltrust.findings import Finding, Location, Severity
from modeltrust.rules import finding

_CACHE_BLOB = re.compile(r"/(?:models|datasets|spaces)--[^/]+/blobs/[0-9a-f]{40,64}$")
"""A blob of a Hugging Face hub cache (what old ``--local-dir`` downloads linked to)."""


@dataclass
class Collected:
    """What a target expands to: artifacts to scan, plus entries and findings for the rest."""

    artifacts: list[Artifact] = field(default_factory=list)
    entries: list[FileEntry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    folders: list[tuple[Path, str]] = field(default_factory=list)
    """Folder targets (real path, displayed path) for repository-level checks."""


def collect(targets: list[str], exclude: list[str], max_file_size: int) -> Collected:
    """Expand targets into artifacts. Raise :class:`SourceError` if a target is unusable."""
    out = Collected()
    seen: set[str] = set()
    for target in targets:
        path = Path(target)
        shown = os.path.normpath(target)
        try:
            st = path.stat()
        except OSError as exc:
            raise SourceError(target, exc.strerror or str(exc)) from exc
        if stat.S_ISDIR(st.st_mode):
            if not os.access(path, os.R_OK | os.X_OK):
                raise SourceError(target, "folder is not readable")
            _walk(path, shown, exclude, max_file_size, out, seen)
            out.folders.append((path, shown))
        elif stat.S_ISREG(st.st_mode):
            if not os.access(path, os.R_OK):
                raise SourceError(target, "file is not readable")
            _add_file(path, shown, st.st_size, max_file_size, out, seen)
        else:
            raise SourceError(target, "not a regular file or folder")
    return out


def _cache_root(folder: Path) -> Path | None:
    """The Hugging Face cache root containing ``folder``, if it is inside one."""
    real = folder.resolve()
    for parent in (real, *real.parents):
        if parent.name.startswith(("models--", "datasets--", "spaces--")) and (
            parent / "snapshots"
        ).is_dir():
            return parent.parent
    return None


def _walk(
    root: Path, shown_root: str, exclude: list[str], max_size: int, out: Collected, seen: set[str]
) -> None:
    real_root = root.resolve()
    cache = _cache_root(root)
    allowed = cache if cache is not None else real_root
    visited_dirs: set[Path] = {real_root}
    stack: list[tuple[Path, str]] = [(root, "")]
    while stack:
        folder, rel_folder = stack.pop()
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            shown = _join(shown_root, rel_folder)
            out.findings.append(finding(rules.UNREADABLE, shown, f"cannot list folder: {exc}"))
            continue
        is_repo_dir = folder.name.startswith("models--") and "snapshots" in names
        for name in reversed(names):
            rel = f"{rel_folder}/{name}" if rel_folder else name
            if _excluded(rel, name, exclude):
                continue
            if is_repo_dir and name == "blobs":
                continue  # reached through snapshots/ links; scanning both would duplicate
            full = folder / name
            shown = _join(shown_root, rel)
            try:
                lst = full.lstat()
            except OSError as exc:
                out.findings.append(finding(rules.UNREADABLE, shown, f"cannot stat: {exc}"))
                continue
            if stat.S_ISLNK(lst.st_mode):
                try:
                    target = full.resolve(strict=True)
                except (OSError, RuntimeError) as exc:
                    out.findings.append(
                        finding(rules.UNREADABLE, shown, f"broken symbolic link: {exc}")
                    )
                    continue
                if not _inside(target, allowed):
                    where = "the Hugging Face cache" if cache else "the scanned folder"
                    blob = _CACHE_BLOB.search(target.as_posix()) is not None
                    out.findings.append(
                        finding(
                            rules.SYMLINK_ESCAPE,
                            shown,
                            f"link to {os.readlink(full)} resolves to {target}, outside {where}"
                            + (" (a Hugging Face cache blob)" if blob else ""),
                            Location(detail=f"symbolic link to {os.readlink(full)}"),
                            severity=Severity.MEDIUM if blob else None,
                        )
                    )
                    out.entries.append(
                        FileEntry(shown, 0, "symlink", Coverage.NOT_ANALYSED, "link leaves "
                                  "the scanned folder; not followed")
                    )
                    continue
                lst = target.stat()
            if stat.S_ISDIR(lst.st_mode):
                real = full.resolve()
                if real in visited_dirs:
                    continue
                visited_dirs.add(real)
                stack.append((full, rel))
            elif stat.S_ISREG(lst.st_mode):
                _add_file(full, shown, lst.st_size, max_size, out, seen)
            else:
                out.entries.append(
                    FileEntry(shown, 0, "special", Coverage.NOT_ANALYSED, "not a regular file")
                )


def _add_file(
    path: Path, shown: str, size: int, max_size: int, out: Collected, seen: set[str]
) -> None:
    if shown in seen:
        return
    seen.add(shown)
    if max_size and size > max_size:
        out.entries.append(
            FileEntry(shown, size, "unknown", Coverage.NOT_ANALYSED,
                      f"larger than --max-file-size ({max_size} bytes)")
        )
        out.findings.append(
            finding(rules.TOO_LARGE, shown, f"{size} bytes > limit of {max_size} bytes")
        )
        return
    out.artifacts.append(Artifact.from_file(shown, path, size))


def _excluded(rel: str, name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _join(root: str, rel: str) -> str:
    if not rel:
        return root
    return rel if root in (".", "") else f"{root}/{rel}"
