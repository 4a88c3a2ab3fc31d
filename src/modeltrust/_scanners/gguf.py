"""GGUF models (v1-v3): a bounded parse of the header, metadata and tensor table.

A GGUF file is a magic, a version, a tensor count and a key/value count, then the
metadata (typed values: scalars, strings, arrays), then one info record per tensor (name,
dimensions, ggml type, offset), then the aligned data section. Every count and length is
checked against the bytes that remain and against sane maxima *before* anything is read or
allocated, so a hostile count of 2**63 is a finding at once rather than an allocation. The
``gguf`` package is used only for its type tables; its reader trusts its input.

Chat templates (``tokenizer.chat_template`` and ``tokenizer.chat_template.<name>``) are
Jinja code that inference servers render; each is handed back as a ``<key>.jinja`` child
artifact for the template scanner. A metadata summary (architecture, name, licence, base
models, quantisation) is returned as result properties for later stages.
"""

from __future__ import annotations

import importlib.util
import struct
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners import common
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, Buffer
from modeltrust.findings import Location, Rule, Severity
from modeltrust.rules import finding, rule

_FIX = "Re-convert the model with llama.cpp's convert scripts from the original weights."
MALFORMED = rule(
    "MT-GGUF-001", "Malformed GGUF file", Severity.MEDIUM,
    "The magic, version or structure is not valid GGUF (versions 1-3), or the file ends in "
    "the middle of the header, metadata or tensor table. Loaders refuse it; broken headers "
    "are also built to crash scanners, so what follows the break was not analysed.",
    fix=_FIX, cwe=20)
LIMIT = rule(
    "MT-GGUF-002", "GGUF count or length beyond the file or a sane limit", Severity.MEDIUM,
    "A tensor count, metadata count, string length or array length is larger than the bytes "
    "left in the file or than any real model needs. Readers that allocate before checking "
    "run out of memory or overflow; parsing stopped here.",
    fix=_FIX, cwe=789)
VALUE_TYPE = rule(
    "MT-GGUF-003", "Unknown or unsupported GGUF metadata value type", Severity.MEDIUM,
    "A metadata value has a type code the GGUF specification does not define (or an array "
    "nested in an array, which llama.cpp refuses). Its size is unknown, so nothing after it "
    "could be parsed.",
    fix=_FIX, cwe=20)
DUPLICATE_KEY = rule(
    "MT-GGUF-004", "Duplicate GGUF metadata key", Severity.MEDIUM,
    "The same metadata key appears twice. llama.cpp refuses the file, other readers keep "
    "the first or the last copy: a scanner can check one value (say, a chat template) while "
    "the loader uses the other.",
    fix=_FIX, cwe=436)
GGML_TYPE = rule(
    "MT-GGUF-005", "Unknown ggml tensor type", Severity.MEDIUM,
    "A tensor has a ggml type code with no known block size, so its byte size cannot be "
    "checked. Loaders refuse it (or read it with a newer, unreviewed code path).",
    fix=_FIX, cwe=20)
OUT_OF_BOUNDS = rule(
    "MT-GGUF-006", "GGUF tensor data outside the file", Severity.HIGH,
    "A tensor's offset plus its size ends past the end of the file. Readers that do not "
    "check bounds read beyond the mapping; others refuse the file.",
    fix=_FIX, cwe=125)
MISALIGNED = rule(
    "MT-GGUF-007", "GGUF tensor offset not aligned", Severity.MEDIUM,
    "A tensor's offset is not a multiple of the file's alignment (``general.alignment``, "
    "default 32). llama.cpp refuses the file; no writer produces it.",
    fix=_FIX, cwe=20)
OVERLAP = rule(
    "MT-GGUF-008", "GGUF tensors overlap", Severity.HIGH,
    "Two tensors share bytes of the data section. Writers never do this; overlap lets the "
    "same bytes mean different things to different readers.",
    fix=_FIX, cwe=436)
BAD_TENSOR = rule(
    "MT-GGUF-009", "Invalid GGUF tensor info", Severity.MEDIUM,
    "A tensor record is invalid: more than 4 dimensions, a name of 64 bytes or more, a "
    "name used twice, a size that overflows, or a first dimension that is not a multiple of "
    "the type's block size. llama.cpp refuses such files.",
    fix=_FIX, cwe=20)
ALIGNMENT = rule(
    "MT-GGUF-010", "Invalid general.alignment", Severity.MEDIUM,
    "``general.alignment`` is not an unsigned 32-bit power of two. Readers disagree on "
    "where the data section starts; the default of 32 was assumed.",
    fix=_FIX, cwe=20)
NON_UTF8 = rule(
    "MT-GGUF-011", "GGUF string is not UTF-8", Severity.LOW,
    "A metadata key or string value is not valid UTF-8, as the specification requires. "
    "Readers decode it differently (or fail); undecodable bytes can smuggle data.",
    fix=_FIX)
LONG_STRING = rule(
    "MT-GGUF-012", "Very long GGUF metadata string", Severity.LOW,
    "A metadata string is longer than 1 MiB. Real metadata (even chat templates) is far "
    "shorter; long strings hide payloads and slow down readers.",
    fix="Check what the string holds before using the model.")
MISSING = rule(
    "MT-GGUF-013", "GGUF support not installed", Severity.INFO,
    "The GGUF file was not analysed because the optional ``gguf`` package (its type tables) "
    "is missing.",
    fix="pip install 'modeltrust[formats]'")

MAX_TENSORS = 1 << 20
MAX_KV = 1 << 20
MAX_DIMS = 4
MAX_NAME = 64
MAX_KEY = 65_535
LONG = 1 << 20
_MAX_DEPTH = 2
_MAX_PROP = 256
_CHECK_EVERY = 4096
_MAX_PER_RULE = 20
_SCALARS: dict[int, tuple[str, int]] = {
    0: ("B", 1), 1: ("b", 1), 2: ("H", 2), 3: ("h", 2), 4: ("I", 4), 5: ("i", 4),
    6: ("f", 4), 7: ("?", 1), 10: ("Q", 8), 11: ("q", 8), 12: ("d", 8),
}
"""GGUF scalar value types: struct code and size (the specification's fixed numbering)."""
_STRING, _ARRAY, _UINT32 = 8, 9, 4
_TEMPLATE = "tokenizer.chat_template"
_ARCH_KEYS = ("context_length", "block_count", "embedding_length", "vocab_size",
              "expert_count")


class _Stop(Exception):
    """Parsing cannot continue: carries the finding to report."""

    def __init__(self, r: Rule, evidence: str, offset: int) -> None:
        super().__init__(evidence)
        self.rule, self.evidence, self.offset = r, evidence, offset


@dataclass(frozen=True)
class _Array:
    item: int
    count: int


@dataclass
class _Tensor:
    name: str
    dims: tuple[int, ...]
    ggml: int
    offset: int
    at: int
    nbytes: int | None = None
    elements: int = 0


@dataclass
class _Parsed:
    version: int = 0
    big: bool = False
    n_tensors: int = 0
    n_kv: int = 0
    values: dict[str, Any] = field(default_factory=dict)
    templates: list[tuple[str, bytes]] = field(default_factory=list)
    tensors: list[_Tensor] = field(default_factory=list)
    info_end: int = 0
    stopped: str = ""


class _Reader:
    """Bounded little/big-endian reads over the artifact's buffer."""

    def __init__(self, data: Buffer, ctx: ScanContext, path: str) -> None:
        self.data, self.size, self.pos = data, len(data), 0
        self.ctx, self.path = ctx, path
        self.end, self.wide = "<", True
        self.deadline = ctx.started + ctx.limits.max_seconds
        self.ticks = 0
        self.counts: Counter[Rule] = Counter()

    def report(self, r: Rule, evidence: str, location: Location) -> None:
        """Report a finding; past a few per rule, only count them (hostile files repeat)."""
        self.counts[r] += 1
        if self.counts[r] <= _MAX_PER_RULE:
            self.ctx.report(finding(r, self.path, evidence, location))

    def flush(self) -> None:
        """One summary finding per rule whose findings were only counted."""
        for r, n in sorted(self.counts.items(), key=lambda x: x[0].id):
            if n > _MAX_PER_RULE:
                self.ctx.report(finding(r, self.path, f"{n - _MAX_PER_RULE} more findings of "
                                        "this kind were not listed"))

    def tick(self) -> None:
        self.ticks += 1
        if self.ticks % _CHECK_EVERY == 0 and time.monotonic() > self.deadline:
            raise _Stop(common.TIME_LIMIT, f"stopped after {self.ctx.limits.max_seconds:g} s "
                        "of parsing", self.pos)

    def take(self, n: int, what: str) -> int:
        if n > self.size - self.pos:
            raise _Stop(MALFORMED, f"file ends inside {what} (needs {n} bytes at offset "
                        f"{self.pos}, {self.size - self.pos} left)", self.pos)
        at = self.pos
        self.pos += n
        return at

    def scalar(self, code: str, size: int, what: str) -> Any:
        return struct.unpack_from(self.end + code, self.data, self.take(size, what))[0]

    def count(self, what: str) -> int:
        return int(self.scalar("Q", 8, what) if self.wide else self.scalar("I", 4, what))

    def bounded(self, what: str, n: int, unit: int, maximum: int, at: int) -> None:
        """Stop unless ``n`` items of at least ``unit`` bytes fit the limit and the file."""
        if n > maximum:
            raise _Stop(LIMIT, f"{what} {n} exceeds the limit of {maximum}", at)
        if n * unit > self.size - self.pos:
            raise _Stop(LIMIT, f"{what} {n} exceeds the bytes left in the file "
                        f"({self.size - self.pos})", at)

    def checked_count(self, what: str, unit: int, maximum: int) -> int:
        at = self.pos
        n = self.count(what)
        self.bounded(what, n, unit, maximum, at)
        return n

    def string(self, what: str, limit: int) -> tuple[bytes, int]:
        at = self.pos
        n = self.count(f"{what} length")
        self.bounded(f"{what} length", n, 1, limit, at)
        start = self.take(n, what)
        return bytes(self.data[start : start + n]), at


def _text(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _short(text: str) -> str:
    return text if len(text) <= _MAX_PROP else text[:_MAX_PROP] + "..."


class GgufScanner(Scanner):
    """GGUF files: bounded structure checks, metadata summary and chat templates."""

    name = "gguf"
    formats = frozenset({Format.GGUF})
    rules = (MALFORMED, LIMIT, VALUE_TYPE, DUPLICATE_KEY, GGML_TYPE, OUT_OF_BOUNDS, MISALIGNED,
             OVERLAP, BAD_TENSOR, ALIGNMENT, NON_UTF8, LONG_STRING, MISSING)

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Parse header, metadata and tensor table; hand templates on; check the layout."""
        try:
            tables = _tables()
        except ImportError:
            ctx.report(finding(MISSING, artifact.path, "the gguf package is not installed"))
            return Result.not_analysed("install modeltrust[formats] to read GGUF",
                                       format=Format.GGUF)
        sizes = {int(k): v for k, v in tables.GGML_QUANT_SIZES.items()}
        r = _Reader(data, ctx, artifact.path)
        parsed = _Parsed()
        try:
            _parse(r, parsed, sizes)
        except _Stop as stop:
            r.report(stop.rule, stop.evidence, Location(offset=stop.offset))
            parsed.stopped = stop.evidence
        if parsed.version == 0:
            return Result.not_analysed(f"not a readable GGUF file: {parsed.stopped}",
                                       format=Format.GGUF)
        if not parsed.stopped:
            _check_layout(r, parsed)
        r.flush()
        partial = _hand_templates(artifact, parsed, ctx)
        return _result(parsed, tables, partial)


def _parse(r: _Reader, p: _Parsed, sizes: dict[int, tuple[int, int]]) -> None:
    if bytes(r.data[:4]) != b"GGUF":
        raise _Stop(MALFORMED, f"magic is {bytes(r.data[:4])!r}, not b'GGUF'", 0)
    r.take(4, "the magic")
    version = r.scalar("I", 4, "the version")
    if version & 0xFFFF == 0 and 1 <= version >> 24 <= 3:
        r.end, version = ">", version >> 24
    if not 1 <= version <= 3:
        raise _Stop(MALFORMED, f"unsupported GGUF version {version} (1-3 exist)", 4)
    r.wide = version >= 2
    length = 8 if r.wide else 4
    p.n_tensors = r.checked_count("tensor count", length + 4 + 4 + 8, MAX_TENSORS)
    p.n_kv = r.checked_count("metadata count", length + 4 + 1, MAX_KV)
    p.version, p.big = version, r.end == ">"
    for _ in range(p.n_kv):
        _read_kv(r, p)
    names: set[str] = set()
    for _ in range(p.n_tensors):
        r.tick()
        t = _read_tensor(r, sizes)
        if t.name in names:
            r.report(BAD_TENSOR, "tensor name used twice", Location(offset=t.at, tensor=t.name))
        names.add(t.name)
        p.tensors.append(t)
    p.info_end = r.pos


def _read_kv(r: _Reader, p: _Parsed) -> None:
    raw, at = r.string("metadata key", MAX_KEY)
    key = _text(raw)
    if key is None:
        key = raw.decode("utf-8", "replace")
        r.report(NON_UTF8, "metadata key is not UTF-8", Location(offset=at, detail=key[:80]))
    vtype = r.scalar("I", 4, "a value type")
    value = _read_value(r, vtype, key, 0)
    if key in p.values:
        r.report(DUPLICATE_KEY, f"key {_short(key)!r} appears more than once",
                 Location(offset=at, detail=key[:80]))
    p.values[key] = value
    if (key == _TEMPLATE or key.startswith(_TEMPLATE + ".")) and isinstance(value, bytes):
        p.templates.append((key, value))


def _read_value(r: _Reader, vtype: int, key: str, depth: int) -> Any:
    """A scalar (int/float/bool), a string (as bytes) or an array (its type and length)."""
    r.tick()
    if vtype in _SCALARS:
        code, size = _SCALARS[vtype]
        return r.scalar(code, size, f"the value of {key!r}")
    if vtype == _STRING:
        raw, at = r.string(f"string {key!r}", r.ctx.limits.max_string)
        _check_string(r, raw, at, key)
        return raw
    if vtype == _ARRAY:
        at = r.pos
        item = r.scalar("I", 4, "an array item type")
        if item == _ARRAY and depth >= _MAX_DEPTH - 1:
            raise _Stop(VALUE_TYPE, f"{key!r}: arrays nested deeper than {_MAX_DEPTH}", at)
        unit = _SCALARS[item][1] if item in _SCALARS else 8
        n = r.checked_count(f"array length of {key!r}", unit, 1 << 40)
        if item in _SCALARS:
            r.take(n * unit, f"array {key!r}")
            return _Array(item, n)
        if item not in (_STRING, _ARRAY):
            raise _Stop(VALUE_TYPE, f"{key!r}: unknown array item type {item}", at)
        if item == _STRING:
            _read_strings(r, n, key, at)
            return _Array(item, n)
        r.report(VALUE_TYPE, f"{key!r}: array of arrays (llama.cpp refuses it)",
                 Location(offset=at, detail=key[:80]))
        for _ in range(n):
            _read_value(r, item, key, depth + 1)
        return _Array(item, n)
    raise _Stop(VALUE_TYPE, f"{key!r}: unknown value type {vtype}", r.pos - 4)


def _check_string(r: _Reader, raw: bytes, at: int, key: str) -> None:
    if not raw.isascii() and _text(raw) is None:
        r.report(NON_UTF8, f"value of {_short(key)!r} is not UTF-8 ({len(raw)} bytes)",
                 Location(offset=at, detail=key[:80]))
    if len(raw) > LONG:
        r.report(LONG_STRING, f"value of {_short(key)!r} is {len(raw)} bytes long",
                 Location(offset=at, detail=key[:80]))


def _read_strings(r: _Reader, n: int, key: str, at: int) -> None:
    """An array of strings: every length bounded, problems reported once per key."""
    bad = longest = 0
    limit = r.ctx.limits.max_string
    for _ in range(n):
        r.tick()
        raw, _pos = r.string(f"an item of {key!r}", limit)
        longest = max(longest, len(raw))
        if not raw.isascii() and _text(raw) is None:
            bad += 1
    loc = Location(offset=at, detail=key[:80])
    if bad:
        r.report(NON_UTF8, f"{bad} of {n} items of {_short(key)!r} are not UTF-8", loc)
    if longest > LONG:
        r.report(LONG_STRING, f"an item of {_short(key)!r} is {longest} bytes long", loc)


def _read_tensor(r: _Reader, sizes: dict[int, tuple[int, int]]) -> _Tensor:
    raw, at = r.string("tensor name", MAX_KEY)
    name = raw.decode("utf-8", "replace")
    n_dims = r.scalar("I", 4, "a dimension count")
    if n_dims > 16:
        raise _Stop(BAD_TENSOR, f"tensor {_short(name)!r} has {n_dims} dimensions", at)
    dims = tuple(r.count("a dimension") for _ in range(n_dims))
    ggml = r.scalar("I", 4, "a tensor type")
    offset = r.scalar("Q", 8, "a tensor offset")
    t = _Tensor(name, dims, ggml, offset, at)
    loc = Location(offset=at, tensor=_short(name))
    if len(raw) >= MAX_NAME:
        r.report(BAD_TENSOR, f"name of {len(raw)} bytes (llama.cpp allows {MAX_NAME - 1})", loc)
    if n_dims > MAX_DIMS:
        r.report(BAD_TENSOR, f"{n_dims} dimensions (at most {MAX_DIMS})", loc)
    if ggml not in sizes:
        r.report(GGML_TYPE, f"ggml type {ggml} is unknown", loc)
        return t
    block, size = sizes[ggml]
    elements = 1
    for d in dims:
        elements = min(elements * d, 1 << 64)
    if elements >= 1 << 63:
        r.report(BAD_TENSOR, f"shape {list(dims)} overflows a 64-bit element count", loc)
    elif dims and dims[0] % block:
        r.report(BAD_TENSOR, f"first dimension {dims[0]} is not a multiple of the block "
                             f"size {block}", loc)
    else:
        t.elements, t.nbytes = elements, elements // block * size
    return t


def _alignment(r: _Reader, p: _Parsed) -> int:
    value = p.values.get("general.alignment")
    if value is None:
        return 32
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value < 1 << 32 \
        and value & (value - 1) == 0
    if not ok:
        r.report(ALIGNMENT, f"general.alignment is {value!r}", Location(detail="general.alignment"))
        return 32
    return int(value)


def _check_layout(r: _Reader, p: _Parsed) -> None:
    """Sorted pass: alignment, bounds and overlaps of the tensor data."""
    align = _alignment(r, p)
    start = -(-p.info_end // align) * align
    end, last = 0, ""
    for t in sorted(p.tensors, key=lambda t: (t.offset, t.name)):
        loc = Location(offset=t.at, tensor=_short(t.name))
        if t.offset % align:
            r.report(MISALIGNED, f"offset {t.offset} is not a multiple of {align}", loc)
        if t.nbytes is None:
            continue
        if start + t.offset + t.nbytes > r.size:
            r.report(OUT_OF_BOUNDS, f"data [{start + t.offset}, {start + t.offset + t.nbytes}) "
                                    f"ends past the end of the file ({r.size} bytes)", loc)
        if t.offset < end:
            r.report(OVERLAP, f"data at offset {t.offset} overlaps tensor {_short(last)!r} "
                              f"(which ends at {end})", loc)
        if t.offset + t.nbytes >= end:
            end, last = t.offset + t.nbytes, t.name


def _hand_templates(artifact: Artifact, p: _Parsed, ctx: ScanContext) -> bool:
    """Hand every chat template to the template scanner; True if one was cut short."""
    cut = False
    for key, raw in sorted(p.templates):
        data = raw[: ctx.limits.max_member_size]
        cut = cut or len(data) < len(raw)
        ctx.scan_child(artifact.child(f"{key}.jinja", data))
    return cut


def _result(p: _Parsed, tables: Any, cut: bool) -> Result:
    props = _properties(p, tables)
    arch = props.get("gguf.architecture", "unknown architecture")
    params = sum(t.elements for t in p.tensors)
    detail = (f"GGUF v{p.version}{' (big-endian)' if p.big else ''}: {len(p.tensors)} tensors, "
              f"{len(p.values)} metadata keys, {arch}, {params} parameters")
    if p.stopped:
        return Result(Coverage.PARTIAL, f"parsing stopped: {p.stopped}", detail, Format.GGUF,
                      tuple(sorted(props.items())))
    reason = "a chat template was larger than the member limit" if cut else ""
    return Result(Coverage.PARTIAL if cut else Coverage.ANALYSED, reason, detail, Format.GGUF,
                  tuple(sorted(props.items())))


def _properties(p: _Parsed, tables: Any) -> dict[str, str]:
    props = {"gguf.version": str(p.version), "gguf.tensor_count": str(p.n_tensors),
             "gguf.kv_count": str(p.n_kv)}
    for key, value in sorted(p.values.items()):
        if key.startswith("general.") and len(props) < 64 and key != "general.file_type":
            shown = _value_text(value, key)
            if shown is not None:
                props["gguf." + _short(key[len("general."):])] = shown
    arch = props.get("gguf.architecture")
    for suffix in _ARCH_KEYS:
        value = p.values.get(f"{arch}.{suffix}")
        if isinstance(value, int) and not isinstance(value, bool):
            props[f"gguf.{suffix}"] = str(value)
    ftype = p.values.get("general.file_type")
    if isinstance(ftype, int):
        try:
            props["gguf.file_type"] = tables.LlamaFileType(ftype).name
        except ValueError:
            props["gguf.file_type"] = str(ftype)
    types = Counter(t.ggml for t in p.tensors)
    if types:
        props["gguf.tensor_types"] = ",".join(f"{_type_name(tables, k)}:{v}"
                                              for k, v in sorted(types.items()))
        quant = [k for k in types if k not in (0, 1, 28, 30)] or list(types)
        props["gguf.quantization"] = _type_name(tables, max(quant, key=lambda k: (types[k], -k)))
    props["gguf.parameters"] = str(sum(t.elements for t in p.tensors))
    if p.templates:
        props["gguf.chat_templates"] = ",".join(sorted(k for k, _ in p.templates))
    return props


def _value_text(value: Any, key: str) -> str | None:
    if isinstance(value, bytes):
        return _short(value.decode("utf-8", "replace"))
    if isinstance(value, bool | int | float):
        return str(value)
    return None


def _type_name(tables: Any, code: int) -> str:
    try:
        return str(tables.GGMLQuantizationType(code).name)
    except ValueError:
        return str(code)


@cache
def _tables() -> Any:
    """The ``gguf`` package's type tables (``gguf/constants.py``), without the package.

    Importing ``gguf`` itself pulls in numpy and its reader and writer; the constants
    module depends on the standard library only, so it is loaded on its own. Raises
    ImportError when the package is not installed.
    """
    loaded = sys.modules.get("gguf.constants")
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("gguf")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("gguf is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "constants.py"
    cspec = importlib.util.spec_from_file_location("modeltrust._gguf_constants", path)
    if cspec is None or cspec.loader is None or not path.is_file():
        raise ImportError("gguf/constants.py not found")
    module = importlib.util.module_from_spec(cspec)
    try:
        cspec.loader.exec_module(module)
    except ImportError:
        import gguf.constants as module  # a layout that needs the package after all
    return module
