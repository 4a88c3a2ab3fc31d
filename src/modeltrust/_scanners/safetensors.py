"""safetensors files: the whole header validated without touching the tensor data.

A safetensors file is an 8-byte little-endian header length, a JSON header and a data area.
Nothing in it runs code, so the risks are parser differentials: a header that one reader
accepts and another reads differently (duplicate keys, overlapping or out-of-range offsets,
gaps that hide bytes no tensor claims) and files a loader refuses. The header is parsed
once with :func:`json.loads` and checked in one pass over the tensors sorted by offset, so
headers with tens of thousands of tensors stay fast. Sharded checkpoints (an
``*.safetensors.index.json`` plus its shards) are checked by :func:`check_sharded_index`,
which reads only the shards' headers.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Protocol

from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, Buffer, Limits
from modeltrust.errors import Error
from modeltrust.findings import Finding, Location, Rule, Severity
from modeltrust.rules import finding, rule

_RELOAD = "Re-create the file with the safetensors library from the original weights."
MALFORMED = rule(
    "MT-SFT-001", "Malformed safetensors header", Severity.MEDIUM,
    "The header length, encoding or JSON is not what the safetensors format allows (length "
    "past the end of the file or over 100 MB, invalid UTF-8 or JSON, not a JSON object). The "
    "reference loader refuses such a file; malformed headers are also built to crash or "
    "mislead scanners, so nothing in it was vouched for.",
    fix=_RELOAD, cwe=20)
DUPLICATE_KEY = rule(
    "MT-SFT-002", "Duplicate key in safetensors header", Severity.HIGH,
    "A JSON key appears twice in the header. JSON parsers disagree on which copy wins, so a "
    "scanner can check one tensor entry while a loader uses the other: a parser "
    "differential. The reference writer never produces duplicates.",
    fix=_RELOAD, cwe=436)
UNKNOWN_DTYPE = rule(
    "MT-SFT-003", "Unknown tensor dtype", Severity.MEDIUM,
    "A tensor declares a dtype the safetensors specification does not define, so its byte "
    "size cannot be checked and the reference loader refuses the file.",
    fix=_RELOAD, cwe=20)
BAD_ENTRY = rule(
    "MT-SFT-004", "Invalid tensor entry", Severity.MEDIUM,
    "A tensor entry lacks ``dtype``, ``shape`` or ``data_offsets``, or holds values of the "
    "wrong type (negative or non-integer sizes, reversed offsets). The reference loader "
    "refuses the file.",
    fix=_RELOAD, cwe=20)
SPAN_MISMATCH = rule(
    "MT-SFT-005", "Tensor byte span does not match its shape and dtype", Severity.MEDIUM,
    "``data_offsets`` cover a different number of bytes than shape × dtype size (or a "
    "sub-byte dtype does not end on a byte boundary). Readers that trust the shape read "
    "other bytes than readers that trust the offsets.",
    fix=_RELOAD, cwe=130)
OUT_OF_BOUNDS = rule(
    "MT-SFT-006", "Tensor data outside the data area", Severity.HIGH,
    "A tensor's ``data_offsets`` end past the end of the file. Readers that do not check "
    "bounds read beyond the buffer; others refuse the file.",
    fix=_RELOAD, cwe=125)
OVERLAP = rule(
    "MT-SFT-007", "Tensors overlap", Severity.HIGH,
    "Two tensors share bytes of the data area. The reference writer lays tensors out back "
    "to back; overlap lets one set of bytes mean two things to different readers.",
    fix=_RELOAD, cwe=436)
GAP = rule(
    "MT-SFT-008", "Unreferenced bytes in the data area", Severity.MEDIUM,
    "Bytes between tensors, or after the last one, belong to no tensor. The reference "
    "loader refuses such files; the bytes are a place to hide data that no tensor reader "
    "will look at.",
    fix=_RELOAD, cwe=912)
METADATA_TYPE = rule(
    "MT-SFT-009", "Non-string value in __metadata__", Severity.LOW,
    "``__metadata__`` must map strings to strings. Other values (numbers, lists, objects) "
    "make the reference loader refuse the file, while lenient readers accept it. "
    "``__metadata__`` that is not an object at all is raised to medium.",
    fix="Store metadata values as strings.", cwe=20)
PADDING = rule(
    "MT-SFT-010", "Unusual header padding", Severity.LOW,
    "The header is preceded by whitespace, or padded with whitespace other than the spaces "
    "the reference writer adds (up to 7 to align the data to 8 bytes), or with unusually "
    "much of it. Loaders accept it; the whitespace itself can carry hidden data.",
    fix=_RELOAD)
EXTRA_FIELD = rule(
    "MT-SFT-011", "Unknown field in a tensor entry", Severity.LOW,
    "A tensor entry has fields besides ``dtype``, ``shape`` and ``data_offsets``. Loaders "
    "ignore them, so they can carry data no loader shows.",
    fix=_RELOAD)

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

MAX_HEADER = 100_000_000
"""The reference implementation's limit on the JSON header (bytes)."""
MAX_INDEX = 64 * 1024 * 1024
"""Largest shard index read."""
MAX_SHARDS = 10_000
_USIZE = 1 << 64
_PADDING_OK = 4096
_MAX_EVIDENCE = 120
_MAX_LISTED = 10
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8,
    "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64,
    "U64": 64,
}
"""Bits per element of every dtype the safetensors specification (0.8) defines."""
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_FIELDS = frozenset({"dtype", "shape", "data_offsets"})
_SHARD_NAME = re.compile(r"^(?P<prefix>.+)-(?P<i>\d{5})-of-(?P<n>\d{5})\.safetensors$")


class Issue(Enum):
    """Kinds of problems :func:`read_header` finds; each maps to one rule."""

    DUPLICATE = DUPLICATE_KEY
    DTYPE = UNKNOWN_DTYPE
    ENTRY = BAD_ENTRY
    SPAN = SPAN_MISMATCH
    BOUNDS = OUT_OF_BOUNDS
    OVERLAP = OVERLAP
    GAP = GAP
    METADATA = METADATA_TYPE
    PADDING = PADDING
    EXTRA = EXTRA_FIELD


@dataclass(frozen=True)
class Problem:
    """One problem in a header: its kind, the tensor concerned and the evidence."""

    issue: Issue
    evidence: str
    tensor: str | None = None
    severity: Severity | None = None


@dataclass(frozen=True)
class TensorInfo:
    """A well-formed tensor entry; ``begin``/``end`` are relative to the data area."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def elements(self) -> int:
        """Number of elements (the product of the shape, capped at 2**64)."""
        return _capped_elements(self.shape)


@dataclass(frozen=True)
class SafetensorsHeader:
    """A parsed and validated header. ``problems`` is empty for a file the loader accepts."""

    header_length: int
    file_size: int
    tensors: tuple[TensorInfo, ...]
    """Well-formed entries, sorted by ``(begin, end, name)``."""
    metadata: dict[str, str] = field(default_factory=dict)
    """String entries of ``__metadata__``."""
    problems: tuple[Problem, ...] = ()

    @property
    def data_start(self) -> int:
        """File offset of the data area."""
        return 8 + self.header_length


class SafetensorsHeaderError(Error):
    """The header cannot be read at all (length, encoding, JSON or top-level type).

    ``offset`` is the file offset the problem was found at.
    """

    def __init__(self, reason: str, offset: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


def read_header(data: Buffer, file_size: int | None = None) -> SafetensorsHeader:
    """Parse and validate a safetensors header without reading tensor data.

    Args:
        data: the file's bytes, or at least its first ``8 + header length`` bytes.
        file_size: the whole file's size when ``data`` is only a prefix.

    Raises:
        SafetensorsHeaderError: the header cannot be read as a JSON object.
    """
    size = len(data) if file_size is None else file_size
    if len(data) < 8:
        raise SafetensorsHeaderError(f"file of {size} bytes is too short for a header length")
    n = int.from_bytes(data[:8], "little")
    if n > MAX_HEADER:
        raise SafetensorsHeaderError(f"header length {n} exceeds the {MAX_HEADER} byte limit")
    if 8 + n > min(size, len(data)):
        raise SafetensorsHeaderError(
            f"header length {n} runs past the end of the file ({size} bytes)")
    raw = bytes(data[8 : 8 + n])
    dups: list[str] = []
    try:
        text = raw.decode("utf-8")
        top = json.loads(text, object_pairs_hook=lambda p: _pairs(p, dups),
                         parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise SafetensorsHeaderError(f"header is not UTF-8 (byte {exc.start})",
                                     8 + exc.start) from None
    except (ValueError, RecursionError) as exc:
        raise SafetensorsHeaderError(f"header is not valid JSON: {_short(str(exc))}", 8) from None
    if not isinstance(top, dict):
        raise SafetensorsHeaderError(f"header is a JSON {type(top).__name__}, not an object", 8)
    if _SURROGATE.search(text) and _has_lone_surrogate(top):
        raise SafetensorsHeaderError("header escapes a lone UTF-16 surrogate (not Unicode)", 8)
    problems = _Problems()
    problems.extend(Problem(Issue.DUPLICATE, f"key {_short(k)!r} appears more than once")
                    for k in sorted(set(dups)))
    problems.extend(_padding(text))
    metadata = _metadata(top.pop("__metadata__", None), problems)
    placed = _entries(top, problems)
    problems.extend(_layout(placed, size - 8 - n))
    tensors = tuple(t for t in placed if t.dtype in DTYPE_BITS)
    return SafetensorsHeader(n, size, tensors, metadata, problems.done())


class _Problems(list[Problem]):
    """Keeps the first few problems of each kind and counts the rest (bounded reports)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[Issue] = Counter()

    def append(self, p: Problem) -> None:
        self.counts[p.issue] += 1
        if self.counts[p.issue] <= _MAX_LISTED:
            super().append(p)

    def extend(self, items: Iterable[Problem]) -> None:
        for p in items:
            self.append(p)

    def done(self) -> tuple[Problem, ...]:
        extra = [Problem(issue, f"{n - _MAX_LISTED} more problems of this kind")
                 for issue, n in sorted(self.counts.items(), key=lambda x: x[0].name)
                 if n > _MAX_LISTED]
        return (*self, *extra)


def _pairs(pairs: list[tuple[str, object]], dups: list[str]) -> dict[str, object]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                dups.append(key)
            seen.add(key)
    return out


def _has_lone_surrogate(top: dict[str, object]) -> bool:
    """Strict readers (serde_json) reject lone surrogates that Python's json accepts."""
    try:
        json.dumps(top, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _short(text: str) -> str:
    return text if len(text) <= _MAX_EVIDENCE else text[:_MAX_EVIDENCE] + "..."


def _padding(text: str) -> list[Problem]:
    found: list[Problem] = []
    if text[:1] != "{":
        found.append(Problem(Issue.PADDING, "header starts with whitespace, not '{'"))
    tail = text[len(text.rstrip(" \t\r\n")):]
    if tail.strip(" "):
        found.append(Problem(Issue.PADDING, f"header padded with {tail.count(chr(32))} spaces "
                                            f"and {len(tail) - tail.count(chr(32))} other "
                                            "whitespace characters"))
    elif len(tail) > _PADDING_OK:
        found.append(Problem(Issue.PADDING, f"header padded with {len(tail)} spaces"))
    return found


def _metadata(meta: object, problems: list[Problem]) -> dict[str, str]:
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        problems.append(Problem(Issue.METADATA, f"__metadata__ is a JSON "
                                f"{type(meta).__name__}, not an object",
                                severity=Severity.MEDIUM))
        return {}
    bad = sorted(k for k, v in meta.items() if not isinstance(v, str))
    if bad:
        kinds = sorted({type(meta[k]).__name__ for k in bad})
        problems.append(Problem(Issue.METADATA, f"{len(bad)} non-string value(s) "
                                f"({', '.join(kinds)}) under key(s) "
                                f"{_short(', '.join(map(repr, bad)))}"))
    return {k: v for k, v in meta.items() if isinstance(v, str)}


def _entries(top: dict[str, object], problems: list[Problem]) -> list[TensorInfo]:
    """Entries with usable offsets (including unknown dtypes, which still take up room)."""
    tensors: list[TensorInfo] = []
    extra: list[str] = []
    for name, entry in top.items():
        if not isinstance(entry, dict):
            problems.append(Problem(Issue.ENTRY, f"entry is a JSON {type(entry).__name__}, "
                                    "not an object", name))
            continue
        if not entry.keys() >= _FIELDS:
            missing = ", ".join(sorted(_FIELDS - entry.keys()))
            problems.append(Problem(Issue.ENTRY, f"missing {missing}", name))
            continue
        if len(entry) > len(_FIELDS):
            extra.append(name)
        info = _entry(name, entry, problems)
        if info is not None:
            tensors.append(info)
    if extra:
        fields = sorted({k for n in extra for k in top[n] if k not in _FIELDS})  # type: ignore[attr-defined]
        problems.append(Problem(Issue.EXTRA, f"{len(extra)} tensor entries carry unknown "
                                f"fields {_short(', '.join(map(repr, fields)))}",
                                sorted(extra)[0]))
    tensors.sort(key=lambda t: (t.begin, t.end, t.name))
    return tensors


def _is_usize(value: object) -> bool:
    return type(value) is int and 0 <= value < _USIZE


def _entry(name: str, entry: dict[str, object], problems: list[Problem]) -> TensorInfo | None:
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(shape, list) or not all(_is_usize(d) for d in shape):
        problems.append(Problem(Issue.ENTRY, f"shape {_short(repr(shape))} is not a list of "
                                "non-negative integers", name))
        return None
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(_is_usize(o) for o in offsets) or offsets[0] > offsets[1]):
        problems.append(Problem(Issue.ENTRY, f"data_offsets {_short(repr(offsets))} is not "
                                "[begin, end] with 0 <= begin <= end", name))
        return None
    info = TensorInfo(name, str(dtype), tuple(shape), offsets[0], offsets[1])
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        problems.append(Problem(Issue.DTYPE, f"dtype {_short(repr(dtype))}", name))
        return info
    bits = _capped_elements(info.shape) * DTYPE_BITS[dtype]
    span = info.end - info.begin
    if bits % 8:
        problems.append(Problem(Issue.SPAN, f"{dtype} shape {list(shape)} does not end on a "
                                "byte boundary", name))
    elif bits // 8 != span:
        need = "an overflowing number of" if bits >= 8 * _USIZE else str(bits // 8)
        problems.append(Problem(Issue.SPAN, f"{dtype} shape {_short(str(list(shape)))} needs "
                                f"{need} bytes, data_offsets cover {span}", name))
    return info


def _capped_elements(shape: tuple[int, ...]) -> int:
    """Product of the shape, stopped once it cannot be a valid size (keeps ints small)."""
    n = 1
    for d in shape:
        n *= d
        if n >= _USIZE:
            return 0 if 0 in shape else _USIZE
    return n


def _layout(tensors: list[TensorInfo], data_size: int) -> list[Problem]:
    """One pass over tensors sorted by offset: bounds, overlaps and gaps."""
    problems: list[Problem] = []
    end, last = 0, ""
    for t in tensors:
        if t.end > data_size:
            problems.append(Problem(Issue.BOUNDS, f"data_offsets [{t.begin}, {t.end}] end past "
                                    f"the data area of {data_size} bytes", t.name))
        if t.begin < end:
            problems.append(Problem(Issue.OVERLAP, f"bytes [{t.begin}, {min(t.end, end)}) "
                                    f"are also part of tensor {_short(last)!r}", t.name))
        elif t.begin > end:
            problems.append(Problem(Issue.GAP, f"{t.begin - end} bytes at [{end}, {t.begin}) "
                                    "belong to no tensor", t.name))
        if t.end >= end:
            end, last = t.end, t.name
    if end < data_size:
        problems.append(Problem(Issue.GAP, f"{data_size - end} bytes after the last tensor "
                                "belong to no tensor"))
    return problems


class SafetensorsScanner(Scanner):
    """safetensors files: header, dtypes, offsets, layout and metadata."""

    name = "safetensors"
    formats = frozenset({Format.SAFETENSORS})
    rules = (MALFORMED, DUPLICATE_KEY, UNKNOWN_DTYPE, BAD_ENTRY, SPAN_MISMATCH, OUT_OF_BOUNDS,
             OVERLAP, GAP, METADATA_TYPE, PADDING, EXTRA_FIELD, INDEX_MALFORMED, SHARD_MISSING,
             SHARD_ESCAPE, NOT_IN_SHARD, TWO_SHARDS, UNUSED_SHARD, UNLISTED_TENSOR, TOTAL_SIZE)

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Validate the header and report every problem; never read the tensors."""
        try:
            header = read_header(data)
        except SafetensorsHeaderError as exc:
            ctx.report(finding(MALFORMED, artifact.path, exc.reason, Location(offset=exc.offset)))
            return Result.not_analysed(f"unreadable safetensors header: {exc.reason}",
                                       format=Format.SAFETENSORS)
        for p in header.problems:
            ctx.report(finding(p.issue.value, artifact.path, p.evidence,
                               Location(offset=8, tensor=p.tensor), severity=p.severity))
        return _result(header)


def _result(header: SafetensorsHeader) -> Result:
    tensors = header.tensors
    params = sum(t.elements for t in tensors)
    dtypes = Counter(t.dtype for t in tensors)
    dtype_text = ", ".join(f"{d}×{c}" for d, c in sorted(dtypes.items()))
    detail = f"safetensors: {len(tensors)} tensors, {params} parameters"
    if dtype_text:
        detail += f", {dtype_text}"
    props = {"safetensors.tensors": str(len(tensors)), "safetensors.parameters": str(params),
             "safetensors.dtypes": ",".join(sorted(dtypes)),
             "safetensors.header_length": str(header.header_length)}
    for key, value in sorted(header.metadata.items())[:32]:
        name = "safetensors.format" if key == "format" else f"safetensors.metadata.{key}"
        props[_short(name)] = _short(value)
    broken = any(p.issue in (Issue.ENTRY, Issue.DTYPE) for p in header.problems)
    return Result(
        coverage=Coverage.PARTIAL if broken else Coverage.ANALYSED,
        reason="some tensor entries are invalid and were not checked" if broken else "",
        detail=detail, format=Format.SAFETENSORS, properties=tuple(sorted(props.items())))


# ---- sharded checkpoints ---------------------------------------------------------------


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
        doc = json.loads(index_file.read_bytes().decode("utf-8"),
                         object_pairs_hook=lambda p: _pairs(p, dups),
                         parse_constant=_reject_constant)
    except (OSError, ValueError, RecursionError) as exc:
        return f"cannot parse the index: {_short(str(exc))}"
    if not isinstance(doc, dict) or not isinstance(doc.get("weight_map"), dict):
        return "no weight_map object"
    wmap = doc["weight_map"]
    bad = sorted(k for k, v in wmap.items() if not isinstance(v, str))
    if bad:
        return f"weight_map values for {_short(', '.join(map(repr, bad)))} are not file names"
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
        report(INDEX_MALFORMED, f"key {_short(key)!r} appears more than once")
    root = index_file.parent
    if not root.resolve().is_relative_to(folder.resolve()):
        root = folder
    by_shard: dict[str, list[str]] = {}
    for tensor, shard in wmap.items():
        by_shard.setdefault(shard, []).append(tensor)
    if len(by_shard) > MAX_SHARDS:
        report(INDEX_MALFORMED, f"{len(by_shard)} shards exceed the limit of {MAX_SHARDS}")
        return out
    headers = _shard_headers(sorted(by_shard), root, report)
    total = _match_tensors(by_shard, headers, report)
    _check_shard_set(sorted(by_shard), root, report)
    if isinstance(meta, dict) and "total_size" in meta and total is not None:
        declared = meta["total_size"]
        if not _is_usize(declared) or declared != total:
            report(TOTAL_SIZE, f"metadata.total_size is {_short(repr(declared))}, the indexed "
                               f"tensors hold {total} bytes")
    return sorted(out, key=Finding.sort_key)


def _shard_headers(names: list[str], root: Path, report: _Report) -> dict[str, SafetensorsHeader]:
    headers: dict[str, SafetensorsHeader] = {}
    for name in names:
        why = _shard_problem(name, root)
        if why is not None:
            report(SHARD_ESCAPE, f"shard name {_short(name)!r} {why}", member=name)
            continue
        path = root / name
        try:
            if not path.is_file():
                report(SHARD_MISSING, f"shard {_short(name)!r} does not exist", member=name)
                continue
            headers[name] = _read_shard_header(path)
        except (OSError, SafetensorsHeaderError) as exc:
            report(SHARD_MISSING, f"shard {_short(name)!r} header unreadable: {exc}",
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
        for tensor in missing[:_MAX_LISTED]:
            report(NOT_IN_SHARD, f"index maps it to {_short(shard)!r}, whose header "
                                 "does not hold it", tensor, shard)
        if len(missing) > _MAX_LISTED:
            report(NOT_IN_SHARD, f"{len(missing) - _MAX_LISTED} more indexed tensors are not "
                                 f"in {_short(shard)!r}", member=shard)
        if missing:
            total = None
        elif total is not None:
            total += sum(spans[t] for t in names)
        hidden = sorted(n for n in spans if n not in listed and n not in indexed)
        if hidden:
            report(UNLISTED_TENSOR, f"{len(hidden)} tensor(s) in {_short(shard)!r} are not in "
                                    f"the index: {_short(', '.join(hidden))}", hidden[0], shard)
    for tensor, shards in sorted(where.items()):
        if len(shards) > 1:
            report(TWO_SHARDS, f"in the headers of {_short(', '.join(shards))}", tensor,
                   shards[0])
    return total


def _check_shard_set(names: list[str], root: Path, report: _Report) -> None:
    """``prefix-0000i-of-0000N`` names: one N per prefix, N shards used, none left over."""
    groups: dict[str, set[str]] = {}
    for name in names:
        m = _SHARD_NAME.match(name)
        if m is not None:
            groups.setdefault(m["prefix"], set()).add(name)
    for prefix, used in sorted(groups.items()):
        counts = sorted({int(_SHARD_NAME.match(n)["n"]) for n in used})  # type: ignore[index]
        if len(counts) > 1 or counts[0] != len(used):
            report(UNUSED_SHARD, f"the index uses {len(used)} shard(s) named {_short(prefix)}-"
                                 f"*-of-{'/'.join(f'{c:05d}' for c in counts)}.safetensors",
                   member=sorted(used)[0])
        for present in _present_shards(root, prefix):
            if present not in used:
                report(UNUSED_SHARD, f"shard file {_short(present)!r} is present but the "
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
