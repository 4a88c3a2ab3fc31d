"""Sharded safetensors checkpoints: the ``*.index.json`` against the shards it names.

Every tensor must sit in exactly one shard, every shard must exist inside the folder and be
listed, and the index's ``total_size`` must match the shards' data. Runs once per folder
from the repository pass, reading only the shards' headers (:func:`safetensors.read_header`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

from modeltrust._report.model import FileEntry
from modeltrust._scanners.common import INTERNAL_ERROR
from modeltrust._scanners.safetensors import (
    MAX_HEADER,
    MAX_LISTED,
    SafetensorsHeader,
    SafetensorsHeaderError,
    bounded_json,
    is_usize,
    read_header,
    short_text,
)
from modeltrust._source.interface import Limits
from modeltrust.findings import Finding, Location, Rule, Severity
from modeltrust.rules import finding, rule

_SHARD_FIX = "Re-save the checkpoint with save_pretrained, or ask the publisher for a fixed one."
INDEX_MALFORMED = rule(
    "MT-SFT-020", "Malformed safetensors shard index", Severity.MEDIUM,
    "The ``*.safetensors.index.json`` is not JSON with a ``weight_map`` object mapping tensor "
    "names to shard file names, or it holds duplicate keys. Loaders cannot use it, or read "
    "it differently.",
    fix=_SHARD_FIX, cwe=20)
SHARD_MISSING = rule(
    "MT-SFT-021", "Shard missing or unreadable", Severity.MEDIUM,
    "A shard the index refers to does not exist in the folder, or its header cannot be read. "
    "The checkpoint is incomplete, or the shard is read from somewhere else.",
    fix=_SHARD_FIX)
SHARD_ESCAPE = rule(
    "MT-SFT-022", "Shard path escapes the model folder", Severity.HIGH,
    "A shard name in the index is absolute, climbs with ``..`` or resolves (through a "
    "symbolic link) outside the folder. A loader would read weights, or any file, from "
    "outside the model.",
    fix=_SHARD_FIX, cwe=22)
NOT_IN_SHARD = rule(
    "MT-SFT-023", "Indexed tensor missing from its shard", Severity.MEDIUM,
    "The index maps a tensor to a shard whose header does not contain it. Loaders fail or "
    "fall back to other files.",
    fix=_SHARD_FIX)
TWO_SHARDS = rule(
    "MT-SFT-024", "Tensor stored in more than one shard", Severity.MEDIUM,
    "The same tensor name is in the headers of several shards. Which copy is used depends on "
    "the loader (index or file order): a differential that can swap weights unseen.",
    fix=_SHARD_FIX, cwe=436)
UNUSED_SHARD = rule(
    "MT-SFT-025", "Shard set inconsistent with the index", Severity.MEDIUM,
    "A shard-named file (``prefix-0000x-of-0000N.safetensors``) is present but not referenced "
    "by the index, or the ``-of-N`` count disagrees with the shards the index uses.",
    fix=_SHARD_FIX)
UNLISTED_TENSOR = rule(
    "MT-SFT-026", "Shard holds tensors the index does not list", Severity.MEDIUM,
    "A referenced shard contains tensors the index does not map anywhere. Index-driven "
    "loaders ignore them, file-driven ones load them.",
    fix=_SHARD_FIX, cwe=436)
TOTAL_SIZE = rule(
    "MT-SFT-027", "Index total_size does not match the shards", Severity.LOW,
    "``metadata.total_size`` differs from the sum of the indexed tensors' byte sizes.",
    fix=_SHARD_FIX)
SINGLE_AND_SHARDED = rule(
    "MT-SFT-028", "Single weights file beside a sharded index of the same name", Severity.LOW,
    """
    The folder has both ``model.safetensors`` and ``model.safetensors.index.json`` (or the
    same pair under another name). Loaders prefer one or the other by their own rules (Hugging
    Face ``transformers`` takes the single file and never reads the shards), so the weights
    that are loaded may not be the ones a reviewer, a signature or a comparison looked at.
    """,
    fix="Keep one layout: delete the single file, or the index and its shards.", cwe=436)

MAX_INDEX = 64 * 1024 * 1024
"""Largest shard index read."""
MAX_SHARDS = 10_000
_SHARD_NAME = re.compile(r"^(?P<prefix>.+)-(?P<i>\d{5})-of-(?P<n>\d{5})\.safetensors$")




class _Report(Protocol):
    def __call__(self, r: Rule, evidence: str, tensor: str | None = None,
                 member: str | None = None) -> None: ...


def _read_shard_header(path: Path) -> SafetensorsHeader:
    """Read only the header of a shard (bounded), never its tensor data."""
    with open(path, "rb") as fh:
        size = path.stat().st_size
        prefix = fh.read(8)
        n = int.from_bytes(prefix, "little") if len(prefix) == 8 else 0
        body = fh.read(min(n, MAX_HEADER, max(size - 8, 0)))
    return read_header(prefix + body, size)


def _shard_problem(name: str, root: Path) -> str | None:
    """Why shard ``name`` may not be read from ``root``, or None."""
    if not name or "\x00" in name:
        return "is empty or contains a NUL byte"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "is an absolute path"
    if ".." in re.split(r"[/\\]", name):
        return "climbs out of the folder with '..'"
    try:
        inside = (root / name).resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError) as exc:
        return f"cannot be resolved ({type(exc).__name__})"
    return None if inside else "resolves outside the folder (symbolic link)"


def _load_index(index_file: Path) -> tuple[dict[str, str], object, list[str]] | str:
    """``(weight_map, metadata, duplicate keys)`` or the reason the index is unusable."""
    try:
        size = index_file.stat().st_size
        if size > MAX_INDEX:
            return f"index of {size} bytes exceeds the {MAX_INDEX} byte limit"
        dups: list[str] = []
        raw = index_file.read_bytes()
        doc = bounded_json(raw, raw.decode("utf-8"), dups)
    except (OSError, ValueError, RecursionError) as exc:
        return f"cannot parse the index: {short_text(str(exc))}"
    if not isinstance(doc, dict) or not isinstance(doc.get("weight_map"), dict):
        return "no weight_map object"
    wmap = doc["weight_map"]
    bad = sorted(k for k, v in wmap.items() if not isinstance(v, str))
    if bad:
        return f"weight_map values for {short_text(', '.join(map(repr, bad)))} are not file names"
    return wmap, doc.get("metadata"), sorted(set(dups))


def check_sharded_index(
    index_file: Path, shown: str, folder: Path, limits: Limits
) -> list[Finding]:
    """Check a ``*.safetensors.index.json`` against its shards' headers.

    Every shard must exist inside the index's folder, hold exactly the tensors mapped to
    it, and be part of a consistent ``-of-N`` set; ``metadata.total_size`` must match.

    Args:
        index_file: the index on disk.
        shown: the index's path as displayed in reports.
        folder: the scanned folder (shards must stay inside it).
        limits: parser bounds.
    """
    out: list[Finding] = []

    def report(r: Rule, evidence: str, tensor: str | None = None,
               member: str | None = None) -> None:
        out.append(finding(r, shown, evidence, Location(member=member, tensor=tensor)))

    loaded = _load_index(index_file)
    if isinstance(loaded, str):
        report(INDEX_MALFORMED, loaded)
        return out
    wmap, meta, dups = loaded
    for key in dups:
        report(INDEX_MALFORMED, f"key {short_text(key)!r} appears more than once")
    root = index_file.parent
    if not root.resolve().is_relative_to(folder.resolve()):
        root = folder
    by_shard: dict[str, list[str]] = {}
    for tensor, shard in wmap.items():
        by_shard.setdefault(_same_file(shard), []).append(tensor)
    if len(by_shard) > MAX_SHARDS:
        report(INDEX_MALFORMED, f"{len(by_shard)} shards exceed the limit of {MAX_SHARDS}")
        return out
    headers = _shard_headers(sorted(by_shard), root, report)
    total = _match_tensors(by_shard, headers, report)
    stem = index_file.name.removesuffix(".index.json").removesuffix(".safetensors")
    _check_shard_set(sorted(by_shard), stem, root, report)
    if isinstance(meta, dict) and "total_size" in meta and total is not None:
        declared = meta["total_size"]
        if not is_usize(declared) or declared != total:
            report(TOTAL_SIZE, f"metadata.total_size is {short_text(repr(declared))}, the indexed "
                               f"tensors hold {total} bytes")
    return sorted(out, key=Finding.sort_key)


def _shard_headers(names: list[str], root: Path, report: _Report) -> dict[str, SafetensorsHeader]:
    headers: dict[str, SafetensorsHeader] = {}
    for name in names:
        why = _shard_problem(name, root)
        if why is not None:
            report(SHARD_ESCAPE, f"shard name {short_text(name)!r} {why}", member=name)
            continue
        path = root / name
        try:
            if not path.is_file():
                report(SHARD_MISSING, f"shard {short_text(name)!r} does not exist", member=name)
                continue
            headers[name] = _read_shard_header(path)
        except (OSError, SafetensorsHeaderError) as exc:
            report(SHARD_MISSING, f"shard {short_text(name)!r} header unreadable: {exc}",
                   member=name)
    return headers


def _match_tensors(by_shard: dict[str, list[str]], headers: dict[str, SafetensorsHeader],
                   report: _Report) -> int | None:
    """Compare index and shard headers; return the indexed tensors' total bytes."""
    where: dict[str, list[str]] = {}
    for shard, header in sorted(headers.items()):
        for t in header.tensors:
            where.setdefault(t.name, []).append(shard)
    total: int | None = 0 if len(headers) == len(by_shard) else None
    indexed = {t for names in by_shard.values() for t in names}
    for shard, names in sorted(by_shard.items()):
        got = headers.get(shard)
        if got is None:
            continue
        spans = {t.name: t.end - t.begin for t in got.tensors}
        listed = set(names)
        missing = [t for t in sorted(names) if t not in spans]
        for tensor in missing[:MAX_LISTED]:
            report(NOT_IN_SHARD, f"index maps it to {short_text(shard)!r}, whose header "
                                 "does not hold it", tensor, shard)
        if len(missing) > MAX_LISTED:
            report(NOT_IN_SHARD, f"{len(missing) - MAX_LISTED} more indexed tensors are not "
                                 f"in {short_text(shard)!r}", member=shard)
        if missing:
            total = None
        elif total is not None:
            total += sum(spans[t] for t in names)
        hidden = sorted(n for n in spans if n not in listed and n not in indexed)
        if hidden:
            report(UNLISTED_TENSOR, f"{len(hidden)} tensor(s) in {short_text(shard)!r} are not in "
                                    f"the index: {short_text(', '.join(hidden))}", hidden[0], shard)
    for tensor, shards in sorted(where.items()):
        if len(shards) > 1:
            report(TWO_SHARDS, f"in the headers of {short_text(', '.join(shards))}", tensor,
                   shards[0])
    return total


def _same_file(name: str) -> str:
    """One spelling per file: ``./a`` is ``a`` and ``a//b`` is ``a/b``.

    ``..`` is kept (``link/..`` is not ``.`` when ``link`` is a symbolic link), so escapes
    are still seen by :func:`_shard_problem`.
    """
    if name.startswith(("/", "\\")):
        return name
    return "/".join(p for p in name.split("/") if p not in ("", ".")) or name


def _check_shard_set(names: list[str], stem: str, root: Path, report: _Report) -> None:
    """``prefix-0000i-of-0000N`` names: one N per prefix, N shards used, none left over.

    The index's own stem (``model`` for ``model.safetensors.index.json``) is always a prefix,
    so shard files are found even when the index references none of them.
    """
    groups: dict[str, set[str]] = {stem: set()} if stem else {}
    for name in names:
        m = _SHARD_NAME.match(name)
        if m is not None:
            groups.setdefault(m["prefix"], set()).add(name)
    for prefix, used in sorted(groups.items()):
        counts = sorted({int(_SHARD_NAME.match(n)["n"]) for n in used})  # type: ignore[index]
        if counts and (len(counts) > 1 or counts[0] != len(used)):
            report(UNUSED_SHARD, f"the index uses {len(used)} shard(s) named {short_text(prefix)}-"
                                 f"*-of-{'/'.join(f'{c:05d}' for c in counts)}.safetensors",
                   member=sorted(used)[0])
        for present in _present_shards(root, prefix):
            if present not in used:
                report(UNUSED_SHARD, f"shard file {short_text(present)!r} is present but the "
                                     "index does not reference it", member=present)


def _present_shards(root: Path, prefix: str) -> list[str]:
    """Shard-named files for ``prefix`` in the index's folder (bounded listing)."""
    base = Path(prefix)
    folder = root / base.parent
    found: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for i, entry in enumerate(entries):
                if i >= 10 * MAX_SHARDS:
                    break
                m = _SHARD_NAME.match(entry.name)
                if m is not None and m["prefix"] == base.name:
                    found.append(str(base.parent / entry.name) if str(base.parent) != "."
                                 else entry.name)
    except OSError:
        return []
    return sorted(found)


def shard_indexes(
    folder: Path, prefix: str, files: dict[str, FileEntry], limits: Limits
) -> list[Finding]:
    """Every ``*.safetensors.index.json`` of a scanned folder, checked against its shards.

    ``files`` maps paths relative to ``folder`` to their entries; ``prefix`` is how the
    folder is shown in findings. A crash on hostile input becomes a finding, not a traceback.
    """
    found: list[Finding] = []
    for rel in sorted(r for r in files if r.endswith(".safetensors.index.json")):
        single = rel.removesuffix(".index.json")
        if single in files and files[single].format == "safetensors":
            found.append(finding(SINGLE_AND_SHARDED, prefix + rel,
                                 f"{prefix}{single} beside {prefix}{rel}: a loader that takes "
                                 "the single file never reads the shards this index lists",
                                 Location(detail=f"single file {single}")))
        path = folder / rel
        try:
            found += check_sharded_index(path, prefix + rel, path.parent, limits)
        except Exception as exc:  # noqa: BLE001 - a crash on hostile input becomes a finding
            found.append(finding(INTERNAL_ERROR, prefix + rel,
                                 f"sharded index check raised {type(exc).__name__}: {exc}"))
    return found
