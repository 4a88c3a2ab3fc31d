"""Hugging Face cache integrity: every snapshot file against the content address of its blob.

``huggingface_hub`` stores a repository as ``blobs/<hash>`` plus ``snapshots/<revision>/``
whose entries link to those blobs. LFS files are named by the SHA-256 of their bytes, small
files by their git blob SHA-1 (``sha1("blob <size>" + NUL + bytes)``). A blob whose bytes do
not hash to its own name was changed after download; an entry that is not a link into the
repository's ``blobs/`` escapes the check altogether. Either is a finding.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from modeltrust._integrity.errors import IntegrityError
from modeltrust._integrity.hashing import Hasher, feed
from modeltrust._integrity.rules import (
    HFC_BAD_LINK,
    HFC_GIT_MISMATCH,
    HFC_LFS_MISMATCH,
    HFC_UNKNOWN_NAME,
    HFC_UNREADABLE,
)
from modeltrust.errors import ScanError
from modeltrust.findings import Finding, Location, Rule, Severity
from modeltrust.rules import finding

MAX_ENTRIES = 1_000_000
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SHA1 = re.compile(r"[0-9a-f]{40}")
_REPO_PREFIXES = ("models--", "datasets--", "spaces--")


@dataclass(frozen=True)
class _Entry:
    shown: str
    blob: Path


def check_hf_cache(path: str | os.PathLike[str]) -> list[Finding]:
    """Check a cache root, a ``models--org--name`` folder or one ``snapshots/<rev>`` folder.

    Returns an empty list when ``path`` is not inside a Hugging Face cache layout.
    """
    root = Path(path)
    entries: list[_Entry] = []
    found: list[Finding] = []
    for repo, snapshot in _snapshots(root):
        _collect(repo, snapshot, root, entries, found)
    blobs = sorted({e.blob for e in entries})
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(blobs)))) as pool:
        verdicts = dict(zip(blobs, pool.map(_check_blob, blobs), strict=True))
    for e in entries:
        verdict = verdicts[e.blob]
        if verdict is not None:
            rule, evidence = verdict
            found.append(finding(rule, e.shown, evidence, Location(detail=f"blob {e.blob.name}")))
    return sorted(found, key=Finding.sort_key)


def _is_repo(folder: Path) -> bool:
    return (folder / "blobs").is_dir() and (folder / "snapshots").is_dir()


def _snapshots(root: Path) -> Iterator[tuple[Path, Path]]:
    if root.parent.name == "snapshots" and _is_repo(root.parent.parent) and root.is_dir():
        yield root.parent.parent, root
        return
    if _is_repo(root):
        repos = [root]
    elif root.is_dir():
        repos = sorted(p for p in root.iterdir()
                       if p.name.startswith(_REPO_PREFIXES) and _is_repo(p))
    else:
        return
    for repo in repos:
        for snap in sorted((repo / "snapshots").iterdir()):
            if snap.is_dir() and not snap.is_symlink():
                yield repo, snap


def _collect(repo: Path, snapshot: Path, shown_root: Path, entries: list[_Entry],
             found: list[Finding]) -> None:
    blobs = (repo / "blobs").resolve()
    for dirpath, dirnames, filenames in os.walk(snapshot):
        dirnames.sort()
        here = Path(dirpath)
        for name in sorted(filenames) + [d for d in dirnames if (here / d).is_symlink()]:
            if len(entries) >= MAX_ENTRIES:
                raise ScanError(f"more than {MAX_ENTRIES} entries in the cache snapshot")
            item = here / name
            shown = _shown(item, shown_root)
            if not item.is_symlink():
                found.append(finding(
                    HFC_BAD_LINK, shown, "regular file in a snapshot, not a link to a blob: "
                    "its content is not checked against a content address",
                    severity=Severity.LOW))
                continue
            target = Path(os.path.realpath(item))
            if target.parent != blobs or not target.is_file():
                why = "dangles" if not target.exists() else f"points to {target}"
                found.append(finding(HFC_BAD_LINK, shown,
                                     f"snapshot link {why}, outside {blobs}"))
                continue
            entries.append(_Entry(shown, target))


def _shown(item: Path, root: Path) -> str:
    try:
        return item.relative_to(root).as_posix()
    except ValueError:
        return item.as_posix()


def _check_blob(blob: Path) -> tuple[Rule, str] | None:
    name = blob.name
    try:
        if _SHA256.fullmatch(name):
            got = _digest(blob, hashlib.sha256(), git=False)
            if got != name:
                return HFC_LFS_MISMATCH, f"sha256 of the blob is {got}, its name says {name}"
            return None
        if _SHA1.fullmatch(name):
            got = _digest(blob, hashlib.sha1(usedforsecurity=False), git=True)
            if got != name:
                return HFC_GIT_MISMATCH, f"git blob sha1 is {got}, the blob name says {name}"
            return None
    except OSError as exc:
        return HFC_UNREADABLE, f"cannot read blob {name}: {exc.strerror or exc}"
    except IntegrityError as exc:
        return HFC_UNREADABLE, f"cannot read blob {name}: {exc.reason}"
    return HFC_UNKNOWN_NAME, f"blob name {name!r} is not a sha256 or git sha1 hex digest"


def _digest(blob: Path, h: Hasher, *, git: bool) -> str:
    fd = os.open(blob, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        size = os.fstat(fd).st_size
        if git:
            h.update(b"blob %d\x00" % size)
        feed(fd, 0, size, h.update)
    finally:
        os.close(fd)
    return h.digest().hex()
