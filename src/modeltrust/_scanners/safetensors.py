"""safetensors files: the whole header validated without touching the tensor data.

A safetensors file is an 8-byte little-endian header length, a JSON header and a data area.
Nothing in it runs code, so the risks are parser differentials: a header that one reader
accepts and another reads differently (duplicate keys, overlapping or out-of-range offsets,
gaps that hide bytes no tensor claims) and files a loader refuses. The header is parsed
once with :func:`json.loads` and checked in one pass over the tensors sorted by offset, so
headers with tens of thousands of tensors stay fast. Sharded checkpoints (an
``*.safetensors.index.json`` plus its shards) are checked by :mod:`.shards`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, Buffer
from modeltrust.errors import Error
from modeltrust.findings import Location, Severity
from modeltrust.rules import finding, rule

_RELOAD = "Re-create the file with the safetensors library from the original weights."
MALFORMED = rule(
    "MT-SFT-001", "Malformed safetensors header", Severity.MEDIUM,
    "The header length, encoding or JSON is not what the safetensors format allows (length "
    "past the end of the file or over 100 MB, invalid UTF-8 or JSON, not a JSON object), or "
    "it holds more JSON items than can be parsed within the memory bound. The "
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
    "much of it, or holds more whitespace between JSON tokens than one space per ``,`` and "
    "``:``. Loaders accept it; the whitespace itself can carry hidden data.",
    fix=_RELOAD)
EXTRA_FIELD = rule(
    "MT-SFT-011", "Unknown field in a tensor entry", Severity.LOW,
    "A tensor entry has fields besides ``dtype``, ``shape`` and ``data_offsets``. Loaders "
    "ignore them, so they can carry data no loader shows.",
    fix=_RELOAD)

MAX_HEADER = 100_000_000
"""The reference implementation's limit on the JSON header (bytes)."""
MAX_JSON_ITEMS = 2_000_000
"""Most objects, arrays and items (``{``, ``[`` and ``,``) parsed in one JSON document.

Python objects cost 20-30 times their JSON text (``[{},{},...]``), so a 100 MB header could
take gigabytes; real headers need about 8 per tensor, so this still allows 250,000 tensors.
"""
_USIZE = 1 << 64
_PADDING_OK = 4096
_MAX_EVIDENCE = 120
MAX_LISTED = 10
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8,
    "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64,
    "U64": 64,
}
"""Bits per element of every dtype the safetensors specification (0.8) defines."""
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_FIELDS = frozenset({"dtype", "shape", "data_offsets"})
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
"""A JSON string literal (the text is valid JSON when this is used)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ODD_SPACE = re.compile(r"[\t\r\n]+|(?<![,:]) +| {2,}")
"""Whitespace no JSON writer emits between tokens (compact, or ``, `` and ``: ``)."""


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
        top = bounded_json(raw, text, dups)
    except UnicodeDecodeError as exc:
        raise SafetensorsHeaderError(f"header is not UTF-8 (byte {exc.start})",
                                     8 + exc.start) from None
    except JsonLimitError as exc:
        raise SafetensorsHeaderError(f"header not parsed: {exc}", 8) from None
    except (ValueError, RecursionError) as exc:
        reason = f"header is not valid JSON: {short_text(str(exc))}"
        raise SafetensorsHeaderError(reason, 8) from None
    if not isinstance(top, dict):
        raise SafetensorsHeaderError(f"header is a JSON {type(top).__name__}, not an object", 8)
    if _SURROGATE.search(text) and _has_lone_surrogate(top):
        raise SafetensorsHeaderError("header escapes a lone UTF-16 surrogate (not Unicode)", 8)
    problems = _Problems()
    problems.extend(Problem(Issue.DUPLICATE, f"key {short_text(k)!r} appears more than once")
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
        if self.counts[p.issue] <= MAX_LISTED:
            super().append(p)

    def extend(self, items: Iterable[Problem]) -> None:
        for p in items:
            self.append(p)

    def done(self) -> tuple[Problem, ...]:
        extra = [Problem(issue, f"{n - MAX_LISTED} more problems of this kind")
                 for issue, n in sorted(self.counts.items(), key=lambda x: x[0].name)
                 if n > MAX_LISTED]
        return (*self, *extra)


class JsonLimitError(ValueError):
    """A JSON document too large to parse within the memory bound."""


def bounded_json(raw: bytes, text: str, dups: list[str]) -> object:
    """``json.loads`` with a memory bound; duplicate keys are collected in ``dups``.

    Raises:
        JsonLimitError: the text holds more than :data:`MAX_JSON_ITEMS` items.
        ValueError: the text is not JSON.
    """
    items = raw.count(b"{") + raw.count(b"[") + raw.count(b",")
    if items > MAX_JSON_ITEMS:
        raise JsonLimitError(f"{items} objects, arrays and items exceed the limit of "
                         f"{MAX_JSON_ITEMS}")
    return json.loads(text, object_pairs_hook=lambda p: pairs_hook(p, dups),
                      parse_constant=reject_constant)


def pairs_hook(pairs: list[tuple[str, object]], dups: list[str]) -> dict[str, object]:
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


def reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def short_text(text: str) -> str:
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
    body = text.strip(" \t\r\n")
    if any(c in body for c in " \t\r\n"):
        tokens = _STRINGS.sub('""', body)
        odd = len(_ODD_SPACE.findall(tokens))
        if odd:
            found.append(Problem(Issue.PADDING, f"{odd} runs of whitespace between JSON tokens "
                                                "other than one space after ',' or ':'"))
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
                                f"{short_text(', '.join(map(repr, bad)))}"))
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
                                f"fields {short_text(', '.join(map(repr, fields)))}",
                                sorted(extra)[0]))
    tensors.sort(key=lambda t: (t.begin, t.end, t.name))
    return tensors


def is_usize(value: object) -> bool:
    return type(value) is int and 0 <= value < _USIZE


def _entry(name: str, entry: dict[str, object], problems: list[Problem]) -> TensorInfo | None:
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(shape, list) or not all(is_usize(d) for d in shape):
        problems.append(Problem(Issue.ENTRY, f"shape {short_text(repr(shape))} is not a list of "
                                "non-negative integers", name))
        return None
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(is_usize(o) for o in offsets) or offsets[0] > offsets[1]):
        problems.append(Problem(Issue.ENTRY, f"data_offsets {short_text(repr(offsets))} is not "
                                "[begin, end] with 0 <= begin <= end", name))
        return None
    info = TensorInfo(name, str(dtype), tuple(shape), offsets[0], offsets[1])
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        problems.append(Problem(Issue.DTYPE, f"dtype {short_text(repr(dtype))}", name))
        return info
    bits = _capped_elements(info.shape) * DTYPE_BITS[dtype]
    span = info.end - info.begin
    if bits % 8:
        problems.append(Problem(Issue.SPAN, f"{dtype} shape {list(shape)} does not end on a "
                                "byte boundary", name))
    elif bits // 8 != span:
        need = "an overflowing number of" if bits >= 8 * _USIZE else str(bits // 8)
        problems.append(Problem(Issue.SPAN, f"{dtype} shape {short_text(str(list(shape)))} needs "
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
                                    f"are also part of tensor {short_text(last)!r}", t.name))
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
             OVERLAP, GAP, METADATA_TYPE, PADDING, EXTRA_FIELD)

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


def _printable(value: str) -> str:
    """Control characters (NUL above all) escaped: reports are JSON, XML and terminals."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", value)


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
        props[_printable(short_text(name))] = _printable(short_text(value))
    broken = any(p.issue in (Issue.ENTRY, Issue.DTYPE) for p in header.problems)
    return Result(
        coverage=Coverage.PARTIAL if broken else Coverage.ANALYSED,
        reason="some tensor entries are invalid and were not checked" if broken else "",
        detail=detail, format=Format.SAFETENSORS, properties=tuple(sorted(props.items())))
