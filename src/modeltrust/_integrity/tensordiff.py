"""The tensor statement (``https://modeltrust.dev/tensors/v1``) and tensor-level explanations.

The statement's subject is the OMS root digest, so it only ever speaks about the exact
manifest it was signed with. Its predicate lists, per weight file, every tensor's name,
dtype, row-major shape and SHA-256 of its raw bytes (see ``docs/signing.md``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from modeltrust._integrity.errors import ManifestError
from modeltrust._integrity.hashing import ModelFile
from modeltrust._integrity.manifest import STATEMENT_TYPE
from modeltrust._integrity.tensors import (
    MAX_TENSORS,
    TENSORS_PREDICATE,
    FileTensors,
    TensorRecord,
    read_file,
)

_SHOWN = 5
"""Tensor names quoted in one sentence before ``…``."""


def collect(files: Sequence[ModelFile], workers: int = 4) -> list[FileTensors]:
    """Per-tensor digests of every weight file among ``files`` (others are skipped)."""
    if not files:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(files)))) as pool:
        found = list(pool.map(read_file, files))
    return [f for f in found if f is not None]


def statement(model_name: str, root_digest: str, files: Iterable[FileTensors]) -> dict[str, Any]:
    """The in-toto statement binding per-tensor digests to an OMS root digest."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": model_name, "digest": {"sha256": root_digest}}],
        "predicateType": TENSORS_PREDICATE,
        "predicate": {
            "hash_type": "sha256",
            "files": [f.to_json() for f in sorted(files, key=lambda f: f.name)],
        },
    }


def parse_statement(obj: Any, root_digest: str) -> dict[str, FileTensors]:
    """Validate a tensor statement for ``root_digest`` and return it by file name.

    Raises:
        ManifestError: wrong type, predicate or subject, or malformed records.
    """
    if not isinstance(obj, dict) or obj.get("_type") != STATEMENT_TYPE:
        raise ManifestError("tensor statement is not an in-toto Statement v1")
    if obj.get("predicateType") != TENSORS_PREDICATE:
        raise ManifestError(f"tensor statement predicate is {obj.get('predicateType')!r}")
    subject = obj.get("subject")
    digest = (subject[0].get("digest") if isinstance(subject, list) and len(subject) == 1
              and isinstance(subject[0], dict) else None)
    if not isinstance(digest, dict) or digest.get("sha256") != root_digest:
        raise ManifestError("tensor statement was made for another manifest (its subject is "
                            "not this signature's root digest)")
    pred = obj.get("predicate")
    files = pred.get("files") if isinstance(pred, dict) else None
    if not isinstance(pred, dict) or pred.get("hash_type") != "sha256" or \
            not isinstance(files, list):
        raise ManifestError("tensor predicate has no sha256 'files' list")
    out: dict[str, FileTensors] = {}
    total = 0
    for f in files:
        ft = _file(f)
        total += len(ft.tensors)
        if total > MAX_TENSORS:
            raise ManifestError(f"tensor statement lists more than {MAX_TENSORS} tensors")
        out[ft.name] = ft
    return out


def _file(f: Any) -> FileTensors:
    if not isinstance(f, dict) or not isinstance(f.get("name"), str) or \
            not isinstance(f.get("tensors"), list):
        raise ManifestError("tensor predicate file entry is malformed")
    records = []
    for t in f["tensors"]:
        ok = (isinstance(t, dict) and isinstance(t.get("name"), str)
              and isinstance(t.get("dtype"), str) and isinstance(t.get("digest"), str)
              and isinstance(t.get("shape"), list)
              and all(isinstance(n, int) and not isinstance(n, bool) for n in t["shape"]))
        if not ok:
            raise ManifestError(f"tensor record in {f['name']!r} is malformed")
        records.append(TensorRecord(t["name"], t["dtype"], tuple(t["shape"]), t["digest"]))
    error = f.get("error")
    return FileTensors(f["name"], str(f.get("format", "")), tuple(records),
                       error if isinstance(error, str) else None)


@dataclass(frozen=True)
class TensorDiff:
    """How the tensors of one file moved between signing and now."""

    total: int
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    added: tuple[str, ...]

    @property
    def identical(self) -> bool:
        """No tensor changed, disappeared or appeared."""
        return not (self.changed or self.removed or self.added)


def compare(old: FileTensors, new: FileTensors) -> TensorDiff:
    """Tensor-by-tensor comparison by name (dtype, shape and bytes must all match)."""
    before = {t.name: t for t in old.tensors}
    after = {t.name: t for t in new.tensors}
    changed = tuple(sorted(n for n in before.keys() & after.keys() if before[n] != after[n]))
    return TensorDiff(len(before), changed, tuple(sorted(before.keys() - after.keys())),
                      tuple(sorted(after.keys() - before.keys())))


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (", …" if len(names) > _SHOWN else "")


def explain(name: str, diff: TensorDiff) -> str:
    """One sentence: ``model.safetensors changed: 2 of 201 tensors differ (a, b)``."""
    if diff.identical:
        return (f"{name} changed: all {diff.total} tensors are identical (only the container "
                "or its metadata differs)")
    parts = []
    if diff.changed:
        parts.append(f"{len(diff.changed)} of {diff.total} tensors differ "
                     f"({_names(diff.changed)})")
    if diff.removed:
        parts.append(f"{len(diff.removed)} removed ({_names(diff.removed)})")
    if diff.added:
        parts.append(f"{len(diff.added)} added ({_names(diff.added)})")
    return f"{name} changed: " + "; ".join(parts)


def reserialised(missing: Sequence[FileTensors], extra: Sequence[FileTensors]) -> str | None:
    """Say so when the missing files' tensors all reappear, unchanged, in the extra files."""
    before = Counter(t for f in missing for t in f.tensors)
    after = Counter(t for f in extra for t in f.tensors)
    if not before or before != after:
        return None
    old = ", ".join(f.name for f in missing)
    new = ", ".join(f.name for f in extra)
    return (f"{old} → {new}: re-serialised, all {sum(before.values())} tensors kept "
            "(same names, dtypes, shapes and bytes)")
