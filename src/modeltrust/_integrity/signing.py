"""Sign a model (OMS bundle plus the tensor statement) and compute its root digest.

The OMS bundle goes to ``--signature`` (default ``model.sig`` inside a model folder, or
``<file>.sig`` next to a single file). The tensor statement, signed with the same key, goes
to ``<signature>.tensors.json``: a second DSSE envelope inside the ``.sig`` would break
every other OMS verifier. Both files are excluded from the manifest they sign and recorded
in ``serialization.ignore_paths`` so that model_signing skips them too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from modeltrust._integrity import oms, tensordiff
from modeltrust._integrity.errors import IntegrityError
from modeltrust._integrity.hashing import (
    DEFAULT_IGNORES,
    DEFAULT_SHARD_SIZE,
    HASH_TYPES,
    hash_tasks,
    list_model,
    normalise_ignore,
    plan,
)
from modeltrust._integrity.manifest import Manifest, Serialization, build
from modeltrust.errors import UsageError

SIDECAR_SUFFIX = ".tensors.json"
DEFAULT_SIGNATURE = "model.sig"


class BundleSigner(Protocol):
    """Anything that turns statements into Sigstore bundles (see :mod:`methods`)."""

    method: str
    identity: str

    def bundles(self, statements: list[dict[str, object]]) -> list[dict[str, object]]: ...


@dataclass(frozen=True)
class SignResult:
    """What ``sign`` wrote and the identity of what it signed."""

    signature: Path
    tensors: Path | None
    root_digest: str
    method: str
    signer: str
    files: int
    resources: int
    tensor_files: int
    notes: tuple[str, ...] = ()


def default_signature(model: Path) -> Path:
    """``MODEL/model.sig`` for a folder, ``MODEL.sig`` for a single file."""
    return model / DEFAULT_SIGNATURE if model.is_dir() else model.with_name(model.name + ".sig")


def sidecar_of(signature: Path) -> Path:
    """Where the tensor statement of a signature lives."""
    return signature.with_name(signature.name + SIDECAR_SUFFIX)


def relative_inside(path: Path, root: Path) -> str | None:
    """``path`` relative to the model folder ``root`` (POSIX), or None if outside."""
    if not root.is_dir():
        return None
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return None


def model_name(root: Path) -> str:
    """OMS subject name: the basename of the model path."""
    return root.name or Path(os.path.abspath(root)).name or "model"


def hash_model(root: Path, serialization: Serialization, extra_ignores: Iterable[str] = (),
               workers: int | None = None) -> Manifest:
    """Enumerate and hash a model into a manifest (no signing)."""
    if serialization.hash_type not in HASH_TYPES:
        raise UsageError(f"unknown hash type {serialization.hash_type!r}")
    ignore = set(serialization.ignore_paths) | set(extra_ignores)
    listing = list_model(root, ignore, allow_symlinks=serialization.allow_symlinks)
    tasks = plan(listing.files, serialization.method, serialization.shard_size or 0)
    digests = hash_tasks(tasks, serialization.hash_type, workers=workers,
                         whole_file=serialization.method == "files")
    return build(listing, digests, serialization, model_name(root))


def make_serialization(root: Path, *, hash_type: str, method: str, shard_size: int | None,
                       allow_symlinks: bool, ignore: Iterable[str]) -> Serialization:
    """Validate the user's choices and record them as OMS serialization metadata."""
    if method not in ("files", "shards"):
        raise UsageError(f"unknown serialization {method!r} (files or shards)")
    if hash_type not in HASH_TYPES:
        raise UsageError(f"unknown hash type {hash_type!r} ({', '.join(HASH_TYPES)})")
    size = (shard_size or DEFAULT_SHARD_SIZE) if method == "shards" else None
    if size is not None and size <= 0:
        raise UsageError("shard size must be positive")
    paths = sorted({*DEFAULT_IGNORES, *(normalise_ignore(p, root) for p in ignore)})
    return Serialization(method, hash_type, allow_symlinks, size, tuple(paths))


def sign_model(model: Path, signer: BundleSigner, *, signature: Path | None = None,
               ignore: Iterable[str] = (), hash_type: str = "sha256", method: str = "files",
               shard_size: int | None = None, allow_symlinks: bool = False,
               tensors: bool = True, workers: int | None = None) -> SignResult:
    """Hash, sign and write the OMS bundle (and the tensor statement) for ``model``."""
    if not model.exists():
        raise UsageError(f"{model} does not exist")
    sig = signature or default_signature(model)
    side = sidecar_of(sig)
    own = [p for p in (relative_inside(sig, model), relative_inside(side, model)) if p]
    ser = make_serialization(model, hash_type=hash_type, method=method, shard_size=shard_size,
                             allow_symlinks=allow_symlinks, ignore=[*ignore, *own])
    listing = list_model(model, set(ser.ignore_paths), allow_symlinks=allow_symlinks)
    tasks = plan(listing.files, ser.method, ser.shard_size or 0)
    digests = hash_tasks(tasks, ser.hash_type, workers=workers,
                         whole_file=ser.method == "files")
    manifest = build(listing, digests, ser, model_name(model))
    statements: list[dict[str, object]] = [manifest.statement()]
    found = tensordiff.collect(listing.files) if tensors else []
    if found:
        statements.append(tensordiff.statement(manifest.model_name, manifest.root_digest(),
                                                found))
    bundles = signer.bundles(statements)
    write_atomic(sig, oms.dump(bundles[0]))
    if len(bundles) > 1:
        write_atomic(side, oms.dump(bundles[1]))
    elif side.exists() or side.is_symlink():
        side.unlink()  # a stale statement from an earlier signing would only mislead
    return SignResult(sig, side if found else None, manifest.root_digest(), signer.method,
                      signer.identity, len(listing.files), len(manifest.resources),
                      len(found), manifest.notes)


def digest_model(model: Path, *, hash_type: str = "sha256", method: str = "files",
                 shard_size: int | None = None, ignore: Iterable[str] = (),
                 allow_symlinks: bool = False, workers: int | None = None) -> str:
    """The OMS root digest (``sha256:<hex>``) ``sign`` would put in the subject.

    Our own ``model.sig`` and its tensor statement are left out, as ``sign`` does.
    """
    if not model.exists():
        raise UsageError(f"{model} does not exist")
    own = [DEFAULT_SIGNATURE, DEFAULT_SIGNATURE + SIDECAR_SUFFIX] if model.is_dir() else []
    ser = make_serialization(model, hash_type=hash_type, method=method, shard_size=shard_size,
                             allow_symlinks=allow_symlinks, ignore=[*ignore, *own])
    return "sha256:" + hash_model(model, ser, workers=workers).root_digest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so readers never see half a signature."""
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise IntegrityError(f"cannot write {path}: {exc.strerror or exc}") from None
