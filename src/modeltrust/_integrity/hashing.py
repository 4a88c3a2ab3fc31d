"""Enumerate a model's files the OMS way and hash them in parallel, fast.

Enumeration follows OMS v1.0 §6.1-6.2: regular files only, ``/``-separated relative names,
the default git exclusions matched at the top level, user ignore paths matched as exact
relative paths (and their subtrees), symbolic links refused unless the signer allowed them.

Hashing reads each file (or shard) with ``preadv`` into a reused buffer, so no per-chunk
allocation happens and ``hashlib`` releases the GIL while it hashes; a thread pool then runs
files and shards truly in parallel. BLAKE3 adds its own threads for large files. Nothing is
memory-mapped: a file truncated under a mapping would kill the process with SIGBUS. Files
are opened with ``O_NOFOLLOW`` when links are not allowed, so a file
swapped for a symlink between listing and reading is refused rather than followed.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from modeltrust._integrity.errors import IntegrityError, ModelPathError

HASH_TYPES = ("sha256", "blake2b", "blake3")
"""File hash algorithms of the OMS algorithm registry, in our order of preference."""

DEFAULT_IGNORES = (".git", ".gitattributes", ".github", ".gitignore")
"""Paths OMS §6.2 excludes by default, matched as top-level components."""

DEFAULT_SHARD_SIZE = 1_000_000_000
"""OMS §6.3.2 default shard size (1 GB)."""

CHUNK = 1024 * 1024
"""Bytes per read: big enough that syscalls vanish next to hashing, small enough to stay in L2."""

MAX_FILES = 1_000_000
"""More files than this in one model is refused (a listing bomb, not a model)."""

_BLAKE3_MT_MIN = 16 * 1024 * 1024
"""Files at least this large are hashed with BLAKE3's own thread pool."""

_GLOB_CHARS = frozenset("*?[")


class Hasher(Protocol):
    def update(self, data: Any, /) -> object: ...

    def digest(self) -> bytes: ...


@dataclass(frozen=True, order=True)
class ModelFile:
    """One regular file of the model: canonical name, where to read it, and its size."""

    name: str
    path: Path
    size: int
    link: bool = False


@dataclass
class Listing:
    """The result of enumerating a model: files in name order plus warnings."""

    root: Path
    single_file: bool
    files: list[ModelFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def new_hasher(hash_type: str, *, threads: bool = False) -> Hasher:
    """A fresh streaming hasher for an OMS ``hash_type``.

    Raises:
        IntegrityError: unknown algorithm, or ``blake3`` without the blake3 package.
    """
    if hash_type == "sha256":
        return hashlib.sha256()
    if hash_type == "blake2b":
        return hashlib.blake2b()
    if hash_type == "blake3":
        try:
            import blake3
        except ImportError:
            raise IntegrityError("hash type blake3 needs the blake3 package "
                                 "(pip install 'modeltrust[signing]')") from None
        h: Hasher = blake3.blake3(max_threads=blake3.blake3.AUTO if threads else 1)
        return h
    raise IntegrityError(f"unknown hash type {hash_type!r} (known: {', '.join(HASH_TYPES)})")


# ----------------------------------------------------------------------------- enumeration
def normalise_ignore(entry: str, root: Path) -> str:
    """Turn a user ``--ignore`` value into an OMS ignore path (relative, ``/``-separated).

    Absolute paths inside the model are made relative; anything escaping the model, or
    holding glob characters (OMS §6.2.1 forbids them), is refused.

    Raises:
        ModelPathError: the entry cannot be an OMS ignore path.
    """
    raw = entry.replace(os.sep, "/")
    if os.path.isabs(entry):
        try:
            raw = Path(os.path.abspath(entry)).relative_to(os.path.abspath(root)).as_posix()
        except ValueError:
            raise ModelPathError(f"ignore path {entry!r} is outside the model") from None
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ModelPathError(f"ignore path {entry!r} must be a path inside the model")
    if _GLOB_CHARS & set(raw):
        raise ModelPathError(f"ignore path {entry!r} holds glob characters (*, ?, [)")
    return "/".join(parts)


def is_ignored(name: str, ignore: Iterable[str]) -> bool:
    """True when ``name`` is an ignore path or lies below one (exact-path semantics)."""
    return any(name == p or name.startswith(p + "/") for p in ignore)


def list_model(root: Path, ignore: Iterable[str] = (), *, allow_symlinks: bool = False,
               max_files: int = MAX_FILES) -> Listing:
    """Enumerate the files OMS would sign under ``root`` (a folder or a single file).

    Raises:
        ModelPathError: the model is missing, empty, has a forbidden symlink, a special
            file, a name that is not UTF-8, or too many files.
    """
    if not root.exists():
        raise ModelPathError(f"{root} does not exist")
    ignored = sorted(set(ignore) | set(DEFAULT_IGNORES))
    if root.is_file():
        resolved = root.resolve()
        _check_name(root.name, root)
        listing = Listing(root=root, single_file=True)
        listing.files.append(ModelFile(root.name, resolved, resolved.stat().st_size))
        return listing
    if not root.is_dir():
        raise ModelPathError(f"{root} is neither a regular file nor a folder")
    listing = Listing(root=root, single_file=False)
    _walk(root, "", ignored, allow_symlinks, listing, {_key(root)}, max_files)
    listing.files.sort()
    if not listing.files:
        raise ModelPathError(f"{root} holds no file to sign (after exclusions); an empty "
                             "model is refused")
    return listing


def _key(path: Path) -> tuple[int, int]:
    st = path.stat()
    return (st.st_dev, st.st_ino)


def _check_name(name: str, where: Path) -> None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ModelPathError(f"file name {where!s} is not valid UTF-8 and cannot be "
                             "recorded in a signature") from None


def _walk(folder: Path, prefix: str, ignored: list[str], allow_symlinks: bool,
          listing: Listing, ancestors: set[tuple[int, int]], max_files: int) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise ModelPathError(f"cannot list {folder}: {exc.strerror or exc}") from None
    for entry in entries:
        name = f"{prefix}{entry.name}"
        if is_ignored(name, ignored):
            continue
        path = Path(entry.path)
        _check_name(entry.name, path)
        link = entry.is_symlink()
        if link and not allow_symlinks:
            raise ModelPathError(f"{name} is a symbolic link; links are not followed unless "
                                 "the signer allowed them (allow_symlinks)")
        try:
            st = path.stat() if link else entry.stat(follow_symlinks=False)
        except OSError as exc:
            raise ModelPathError(f"{name}: {exc.strerror or exc} (broken link?)") from None
        if link:
            _note_link_target(path, name, listing)
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                listing.notes.append(f"symbolic link {name} forms a cycle; not followed")
                continue
            _walk(path, name + "/", ignored, allow_symlinks, listing, ancestors | {key},
                  max_files)
        elif stat.S_ISREG(st.st_mode):
            if len(listing.files) >= max_files:
                raise ModelPathError(f"more than {max_files} files in the model")
            listing.files.append(ModelFile(name, path.resolve() if link else path,
                                           st.st_size, link))
        else:
            raise ModelPathError(f"{name} is not a regular file (device, socket or pipe)")


def _note_link_target(path: Path, name: str, listing: Listing) -> None:
    target = path.resolve()
    root = listing.root.resolve()
    if target != root and root not in target.parents:
        listing.notes.append(f"symbolic link {name} points outside the model, to {target}")


# --------------------------------------------------------------------------------- hashing
@dataclass(frozen=True)
class Task:
    """One unit of hashing: a byte range of a file, named as it appears in the manifest."""

    name: str
    file: ModelFile
    start: int
    end: int


def plan(files: Sequence[ModelFile], method: str, shard_size: int) -> list[Task]:
    """Split the files into hashing tasks (one per file, or one per shard)."""
    if method == "files":
        return [Task(f.name, f, 0, f.size) for f in files]
    if method != "shards":
        raise IntegrityError(f"unknown serialization method {method!r}")
    if shard_size <= 0:
        raise IntegrityError(f"shard size must be positive, got {shard_size}")
    tasks: list[Task] = []
    for f in files:
        for start in range(0, f.size, shard_size):
            end = min(start + shard_size, f.size)
            tasks.append(Task(f"{f.name}:{start}:{end}", f, start, end))
    return tasks


def hash_tasks(tasks: Sequence[Task], hash_type: str, *, workers: int | None = None,
               whole_file: bool = False) -> dict[str, str]:
    """Hash every task in parallel; return ``{name: hex digest}``.

    ``whole_file`` (files mode) hashes to end of file rather than to the listed size, so a
    file that grew after listing is hashed as it is now.

    Raises:
        IntegrityError: a file vanished, shrank, turned into a link or cannot be read.
    """
    new_hasher(hash_type)  # fail fast on an unknown or unavailable algorithm
    count = workers or min(32, (os.cpu_count() or 1) + 4)
    order = sorted(tasks, key=lambda t: t.end - t.start, reverse=True)
    if len(order) <= 1 or count <= 1:
        return {t.name: _hash_task(t, hash_type, whole_file) for t in order}
    jobs = iter(order)  # largest first, so the tail is short
    lock = threading.Lock()
    stop = threading.Event()
    out: dict[str, str] = {}

    def work() -> None:
        while not stop.is_set():
            with lock:
                task = next(jobs, None)
            if task is None:
                return
            try:
                out[task.name] = _hash_task(task, hash_type, whole_file)
            except BaseException:
                stop.set()  # the others stop taking work; the error reaches the caller
                raise

    # The calling thread hashes too: one thread fewer to start (milliseconds per run).
    helpers = min(count, len(order)) - 1
    with ThreadPoolExecutor(max_workers=helpers) as pool:
        running = [pool.submit(work) for _ in range(helpers)]
        try:
            work()
        finally:
            errors = [f.exception() for f in running]
    for err in errors:
        if err is not None:
            raise err
    return out


def _hash_task(task: Task, hash_type: str, whole_file: bool) -> str:
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    if not task.file.link:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(task.file.path, flags)
    except OSError as exc:
        raise IntegrityError(f"cannot open {task.file.name}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IntegrityError(f"{task.file.name} is no longer a regular file")
        end = st.st_size if whole_file else task.end
        if st.st_size < end:
            raise IntegrityError(f"{task.file.name} shrank while it was being hashed")
        # No mmap: a file truncated under a mapping kills the process with SIGBUS.
        hasher = new_hasher(hash_type, threads=end - task.start >= _BLAKE3_MT_MIN)
        feed(fd, task.start, end, hasher.update)
        return hasher.digest().hex()
    except OSError as exc:
        raise IntegrityError(f"cannot read {task.file.name}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def feed(fd: int, start: int, end: int, update: Callable[[Any], object]) -> None:
    """Stream ``[start, end)`` of ``fd`` into ``update`` with large, allocation-free reads."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, start, end - start, os.POSIX_FADV_SEQUENTIAL)
    buf = bytearray(min(CHUNK, max(end - start, 1)))
    view = memoryview(buf)
    pos = start
    while pos < end:
        want = min(len(buf), end - pos)
        n = os.preadv(fd, [view[:want]], pos)
        if n <= 0:
            raise IntegrityError(f"unexpected end of file at offset {pos} (file truncated)")
        update(view[:n])
        pos += n
