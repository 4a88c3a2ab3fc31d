"""The OMS manifest: resource descriptors, serialization metadata, root digest, statement.

Building follows OMS v1.0 §5-6 to the letter (code-point order, ``sha256`` root digest over
the raw resource digests, one subject named after the model). Parsing is strict and fails
closed with the precise reason, but accepts the deviations model_signing 1.1.1 is known to
produce, each reported as a note: ``<hash>-sharded-<size>`` resource algorithms, ``blake2``
for ``blake2b``, and resources sorted by path components (and shard offsets as numbers)
rather than by code point.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from modeltrust._integrity.errors import ManifestError
from modeltrust._integrity.hashing import HASH_TYPES, Listing

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
OMS_PREDICATE = "https://model_signing/signature/v1.0"
LEGACY_PREDICATE = "https://model_signing/Digests/v0.1"
DIGEST_HEX_LEN = {"sha256": 64, "blake2b": 128, "blake3": 64}
MAX_RESOURCES = 5_000_000

_HEX = re.compile(r"[0-9a-f]+")
_SHARD = re.compile(r"^(?P<path>.+):(?P<start>0|[1-9][0-9]*):(?P<end>[1-9][0-9]*)$")


@dataclass(frozen=True)
class Resource:
    """One resource descriptor: a file (or shard) name, its hex digest and algorithm."""

    name: str
    digest: str
    algorithm: str

    def to_json(self) -> dict[str, str]:
        """The descriptor as OMS writes it."""
        return {"name": self.name, "digest": self.digest, "algorithm": self.algorithm}


@dataclass(frozen=True)
class Serialization:
    """How the files were enumerated and hashed (OMS §5.2.2)."""

    method: str = "files"
    hash_type: str = "sha256"
    allow_symlinks: bool = False
    shard_size: int | None = None
    ignore_paths: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``serialization`` object, with ``shard_size`` only for shards."""
        out: dict[str, Any] = {"method": self.method, "hash_type": self.hash_type}
        if self.method == "shards":
            out["shard_size"] = self.shard_size
        out["allow_symlinks"] = self.allow_symlinks
        if self.ignore_paths:
            out["ignore_paths"] = list(self.ignore_paths)
        return out


@dataclass(frozen=True)
class Manifest:
    """A model's signed identity: its resources in canonical order plus how they were made."""

    model_name: str
    resources: tuple[Resource, ...]
    serialization: Serialization
    notes: tuple[str, ...] = field(default=(), compare=False)

    def root_digest(self) -> str:
        """OMS §6.5.1: SHA-256 over the concatenated raw resource digests, in order."""
        return root_digest(r.digest for r in self.resources)

    def statement(self) -> dict[str, Any]:
        """The in-toto Statement v1 carrying this manifest as the OMS predicate."""
        return {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": self.model_name, "digest": {"sha256": self.root_digest()}}],
            "predicateType": OMS_PREDICATE,
            "predicate": {
                "resources": [r.to_json() for r in self.resources],
                "serialization": self.serialization.to_json(),
            },
        }

    def files(self) -> dict[str, list[Resource]]:
        """Resources grouped by the file they describe (a shard's path, or the name)."""
        out: dict[str, list[Resource]] = {}
        shards = self.serialization.method == "shards"
        for r in self.resources:
            out.setdefault(split_shard(r.name)[0] if shards else r.name, []).append(r)
        return out


def root_digest(digests: Iterable[str]) -> str:
    """SHA-256 over the raw bytes of hex digests taken in the given order."""
    h = hashlib.sha256()
    for d in digests:
        h.update(bytes.fromhex(d))
    return h.hexdigest()


def split_shard(name: str) -> tuple[str, int, int]:
    """Split ``path:start:end`` on its *last* two colons (file names may hold colons).

    Raises:
        ManifestError: the name has no valid ``:start:end`` suffix.
    """
    m = _SHARD.match(name)
    if m is None:
        raise ManifestError(f"shard resource {name!r} does not end in ':<start>:<end>'")
    start, end = int(m["start"]), int(m["end"])
    if start >= end:
        raise ManifestError(f"shard resource {name!r} has start >= end")
    return m["path"], start, end


def build(listing: Listing, digests: Mapping[str, str], serialization: Serialization,
          model_name: str) -> Manifest:
    """Assemble a manifest from hashed tasks, sorted by code point as OMS §5.2.1 says."""
    resources = tuple(Resource(name, digests[name], serialization.hash_type)
                      for name in sorted(digests))
    if not resources:
        raise ManifestError("nothing to sign: the manifest would be empty")
    return Manifest(model_name, resources, serialization, tuple(listing.notes))


def check_name(name: str) -> None:
    """Refuse names that are not canonical relative POSIX paths (OMS §6.1.2).

    Raises:
        ManifestError: absolute, ``..``, ``.``, empty component or trailing ``/``.
    """
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ManifestError(f"resource name {name!r} is not a canonical relative path "
                            "(absolute, '..', '.', empty component or trailing '/')")
    if "\x00" in name or "\\" in name:
        raise ManifestError(f"resource name {name!r} holds a NUL or backslash")


def component_key(name: str, shards: bool) -> tuple[Any, ...]:
    """model_signing's order: path components, then shard offsets as numbers."""
    if shards:
        path, start, end = split_shard(name)
        return (tuple(path.split("/")), start, end)
    return (tuple(name.split("/")),)


# ----------------------------------------------------------------------------------- parse
def parse_statement(obj: Any) -> Manifest:
    """Validate a decoded DSSE payload as an OMS statement and return its manifest.

    Raises:
        ManifestError: with the first precise reason the statement is not acceptable.
    """
    if not isinstance(obj, dict):
        raise ManifestError("the DSSE payload is not a JSON object")
    if obj.get("_type") != STATEMENT_TYPE:
        raise ManifestError(f"statement _type is {obj.get('_type')!r}, "
                            f"expected {STATEMENT_TYPE!r}")
    ptype = obj.get("predicateType")
    if ptype == LEGACY_PREDICATE:
        raise ManifestError(f"deprecated predicate type {LEGACY_PREDICATE} (model_signing "
                            "0.2) is not accepted; re-sign with an OMS v1.0 signer")
    if ptype != OMS_PREDICATE:
        raise ManifestError(f"unknown predicate type {ptype!r}, expected {OMS_PREDICATE!r}")
    name, expected_root = _subject(obj.get("subject"))
    predicate = obj.get("predicate")
    if not isinstance(predicate, dict):
        raise ManifestError("predicate is missing or not an object")
    notes: list[str] = []
    extra = sorted(set(predicate) - {"resources", "serialization"})
    if extra:
        notes.append(f"predicate fields ignored: {', '.join(extra)}")
    ser = _serialization(predicate.get("serialization"), notes)
    resources = _resources(predicate.get("resources"), ser, notes)
    _check_order(resources, ser, notes)
    actual_root = root_digest(r.digest for r in resources)
    if actual_root != expected_root:
        raise ManifestError(f"root digest mismatch: the subject says sha256:{expected_root} "
                            f"but the resources hash to sha256:{actual_root}")
    return Manifest(name, tuple(resources), ser, tuple(notes))


def _subject(subject: Any) -> tuple[str, str]:
    if not isinstance(subject, list) or len(subject) != 1:
        raise ManifestError("statement must have exactly one subject (the model)")
    s = subject[0]
    if not isinstance(s, dict) or not isinstance(s.get("name"), str) or not s["name"]:
        raise ManifestError("subject has no non-empty name")
    digest = s.get("digest")
    root = digest.get("sha256") if isinstance(digest, dict) else None
    if not isinstance(root, str) or len(root) != 64 or not _HEX.fullmatch(root):
        raise ManifestError("subject digest has no 64-hex-digit 'sha256' root digest")
    return str(s["name"]), root


def _hash_name(value: Any, where: str, notes: list[str]) -> str:
    if value == "blake2":
        notes.append(f"{where} says 'blake2' (a model_signing spelling); read as 'blake2b'")
        return "blake2b"
    if value not in HASH_TYPES:
        raise ManifestError(f"{where} {value!r} is not a known hash type "
                            f"({', '.join(HASH_TYPES)})")
    return str(value)


def _serialization(ser: Any, notes: list[str]) -> Serialization:
    if not isinstance(ser, dict):
        raise ManifestError("predicate.serialization is missing or not an object")
    method = ser.get("method")
    if method not in ("files", "shards"):
        raise ManifestError(f"serialization method {method!r} is unknown "
                            "(expected 'files' or 'shards')")
    hash_type = _hash_name(ser.get("hash_type"), "serialization.hash_type", notes)
    allow = ser.get("allow_symlinks")
    if not isinstance(allow, bool):
        raise ManifestError("serialization.allow_symlinks is missing or not a boolean")
    size = ser.get("shard_size")
    if isinstance(size, float) and size.is_integer() and 0 < size < 2**63:
        notes.append(f"serialization.shard_size written as a float ({size!r}, a model_signing "
                     "deviation through protobuf Struct); read as an integer")
        size = int(size)
    if method == "shards":
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ManifestError("shards serialization without a positive integer shard_size")
    elif size is not None:
        raise ManifestError("shard_size must be absent for 'files' serialization")
    ignore = ser.get("ignore_paths", [])
    if not isinstance(ignore, list) or not all(isinstance(p, str) and p for p in ignore):
        raise ManifestError("serialization.ignore_paths is not a list of non-empty strings")
    for p in ignore:
        parts = p.rstrip("/").split("/")
        if p.startswith("/") or ".." in parts:
            raise ManifestError(f"ignore path {p!r} escapes the model root")
    extra = sorted(set(ser) - {"method", "hash_type", "allow_symlinks", "shard_size",
                               "ignore_paths"})
    if extra:
        raise ManifestError(f"unknown serialization fields {', '.join(extra)}: cannot "
                            "reproduce the canonicalization")
    return Serialization(str(method), hash_type, allow, size if method == "shards" else None,
                         tuple(p.rstrip("/") for p in ignore))


def _resources(items: Any, ser: Serialization, notes: list[str]) -> list[Resource]:
    if not isinstance(items, list):
        raise ManifestError("predicate.resources is missing or not a list")
    if not items:
        raise ManifestError("the manifest is empty (no resources): nothing was signed")
    if len(items) > MAX_RESOURCES:
        raise ManifestError(f"more than {MAX_RESOURCES} resources")
    sharded = f"{ser.hash_type}-sharded-{ser.shard_size}"
    out: list[Resource] = []
    seen: set[str] = set()
    deviations: set[str] = set()
    for i, r in enumerate(items):
        if not isinstance(r, dict):
            raise ManifestError(f"resource #{i} is not an object")
        name, digest, algo = r.get("name"), r.get("digest"), r.get("algorithm")
        if not isinstance(name, str) or not name:
            raise ManifestError(f"resource #{i} has no name")
        check_name(split_shard(name)[0] if ser.method == "shards" else name)
        if name in seen:
            raise ManifestError(f"resource {name!r} is listed twice")
        seen.add(name)
        if ser.method == "shards" and algo == sharded:
            deviations.add(str(algo))
            algo = ser.hash_type
        elif algo == "blake2":
            deviations.add("blake2")
            algo = "blake2b"
        if algo != ser.hash_type:
            raise ManifestError(f"resource {name!r} uses algorithm {algo!r} but "
                                f"serialization.hash_type is {ser.hash_type!r}")
        if (not isinstance(digest, str) or not _HEX.fullmatch(digest)
                or len(digest) != DIGEST_HEX_LEN[ser.hash_type]):
            raise ManifestError(f"resource {name!r} digest is not a lowercase "
                                f"{DIGEST_HEX_LEN[ser.hash_type]}-hex-digit {algo} digest")
        out.append(Resource(name, digest, str(algo)))
    for d in sorted(deviations):
        notes.append(f"resource algorithm {d!r} (a model_signing deviation) read as "
                     f"{ser.hash_type!r}")
    return out


def _check_order(resources: list[Resource], ser: Serialization, notes: list[str]) -> None:
    names = [r.name for r in resources]
    if names == sorted(names):
        return
    shards = ser.method == "shards"
    if names == sorted(names, key=lambda n: component_key(n, shards)):
        notes.append("resources are sorted by path components (model_signing order), not by "
                     "code point as OMS §5.2.1 requires")
        return
    raise ManifestError("resources are not sorted (neither by code point nor by path)")
