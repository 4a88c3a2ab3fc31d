"""GGUF models (v1-v3): a bounded parse of the header, metadata and tensor table.

A GGUF file is a magic, a version, a tensor count and a key/value count, then the
metadata (typed values: scalars, strings, arrays), then one info record per tensor (name,
dimensions, ggml type, offset), then the aligned data section. Every count and length is
checked against the bytes that remain and against sane maxima *before* anything is read or
allocated (:mod:`._gguf`), so a hostile count of 2**63 is a finding at once rather than an
allocation. The ``gguf`` package is used only for its type tables; its reader trusts its
input. The data section is checked the way llama.cpp lays it out: tensors back to back in
table order, zero padding, nothing after the last tensor.

Chat templates (``tokenizer.chat_template`` and ``tokenizer.chat_template.<name>``) are
Jinja code that inference servers render; each is handed back as a ``<key>.jinja`` child
artifact for the template scanner. A metadata summary (architecture, name, licence, base
models, quantisation) is returned as result properties for later stages.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners import common
from modeltrust._scanners._gguf import UINT32, Kind, Parsed, Reader, Stop, parse, short
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

NUL_BYTE = rule(
    "MT-GGUF-014", "NUL byte in a GGUF key or tensor name", Severity.MEDIUM,
    "A metadata key or tensor name contains a NUL byte. llama.cpp's model loader and ggml "
    "treat names as C strings and cut them at the NUL, so ``tokenizer.chat_template\\0x`` is "
    "the chat template to them while other readers see an unknown key: a parser "
    "differential. Every chat template candidate is handed to the template scanner.",
    fix=_FIX, cwe=436)
TEMPLATE_TYPE = rule(
    "MT-GGUF-015", "Chat template stored as an array", Severity.LOW,
    "A ``tokenizer.chat_template`` key holds an array of strings instead of a string. Readers "
    "that read metadata as text (llama.cpp's ``gguf_kv_to_str``) turn it into one string "
    "``[\"...\", ...]`` that still renders as Jinja; that text is handed to the template "
    "scanner.",
    fix=_FIX, cwe=436)
LAYOUT = rule(
    "MT-GGUF-016", "Unreferenced bytes in the GGUF data section", Severity.MEDIUM,
    "Tensor data is not laid out back to back in tensor-table order (each tensor padded to "
    "the alignment), alignment padding holds non-zero bytes, or bytes follow the last "
    "tensor. llama.cpp refuses gaps and reordering; writers never produce them, and the "
    "bytes belong to no tensor, a place to hide data (an appended archive, for one).",
    fix=_FIX, cwe=912)

_MAX_PER_RULE = 20
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_PROP = 64
_MAX_PADDING_READ = 16 * 1024 * 1024
_ARCH_KEYS = ("context_length", "block_count", "embedding_length", "vocab_size",
              "expert_count")
_SUMMARY_FIRST = ("general.architecture", "general.name", "general.license",
                  "general.license.name", "general.license.link", "general.base_model.count",
                  "general.quantized_by", "general.organization", "general.finetune")
"""Keys always kept in the summary, however many other ``general.*`` keys there are."""
_RULES = {
    Kind.MALFORMED: MALFORMED, Kind.LIMIT: LIMIT, Kind.VALUE_TYPE: VALUE_TYPE,
    Kind.DUPLICATE: DUPLICATE_KEY, Kind.GGML_TYPE: GGML_TYPE, Kind.TENSOR: BAD_TENSOR,
    Kind.NON_UTF8: NON_UTF8, Kind.LONG: LONG_STRING, Kind.NUL: NUL_BYTE,
    Kind.TEMPLATE_TYPE: TEMPLATE_TYPE, Kind.TIME: common.TIME_LIMIT,
}


class _Findings:
    """Reports findings; past a few per rule, only counts them (hostile files repeat)."""

    def __init__(self, ctx: ScanContext, path: str) -> None:
        self.ctx, self.path = ctx, path
        self.counts: Counter[Rule] = Counter()

    def kind(self, kind: Kind, evidence: str, location: Location) -> None:
        self.add(_RULES[kind], evidence, location)

    def add(self, r: Rule, evidence: str, location: Location) -> None:
        self.counts[r] += 1
        if self.counts[r] <= _MAX_PER_RULE:
            self.ctx.report(finding(r, self.path, evidence, location))

    def flush(self) -> None:
        """One summary finding per rule whose findings were only counted."""
        for r, n in sorted(self.counts.items(), key=lambda x: x[0].id):
            if n > _MAX_PER_RULE:
                self.ctx.report(finding(r, self.path, f"{n - _MAX_PER_RULE} more findings of "
                                        "this kind were not listed"))


class GgufScanner(Scanner):
    """GGUF files: bounded structure checks, metadata summary and chat templates."""

    name = "gguf"
    formats = frozenset({Format.GGUF})
    rules = (MALFORMED, LIMIT, VALUE_TYPE, DUPLICATE_KEY, GGML_TYPE, OUT_OF_BOUNDS, MISALIGNED,
             OVERLAP, BAD_TENSOR, ALIGNMENT, NON_UTF8, LONG_STRING, MISSING, NUL_BYTE,
             TEMPLATE_TYPE, LAYOUT)

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Parse header, metadata and tensor table; hand templates on; check the layout."""
        try:
            tables = _tables()
        except ImportError:
            ctx.report(finding(MISSING, artifact.path, "the gguf package is not installed"))
            return Result.not_analysed("install modeltrust[formats] to read GGUF",
                                       format=Format.GGUF)
        sizes = {int(k): v for k, v in tables.GGML_QUANT_SIZES.items()}
        out = _Findings(ctx, artifact.path)
        r = Reader(data, out.kind, ctx.started + ctx.limits.max_seconds,
                   ctx.limits.max_string, ctx.limits.max_member_size)
        parsed = Parsed()
        try:
            parse(r, parsed, sizes)
        except Stop as stop:
            out.kind(stop.kind, stop.evidence, Location(offset=stop.offset))
            parsed.stopped = stop.evidence
        if parsed.version == 0:
            return Result.not_analysed(f"not a readable GGUF file: {parsed.stopped}",
                                       format=Format.GGUF)
        if not parsed.stopped:
            _check_layout(data, out, parsed)
        out.flush()
        partial = _hand_templates(artifact, parsed, ctx)
        return _result(parsed, tables, partial)


def _alignment(out: _Findings, p: Parsed) -> int:
    """``general.alignment`` as llama.cpp and gguf-py accept it: a UINT32 power of two."""
    value = p.values.get("general.alignment")
    if value is None:
        return 32
    kind = p.types.get("general.alignment")
    ok = kind == UINT32 and isinstance(value, int) and value > 0 and value & (value - 1) == 0
    if not ok:
        shown = value if kind == UINT32 else f"{value!r} of value type {kind} (not UINT32)"
        out.add(ALIGNMENT, f"general.alignment is {shown}", Location(detail="general.alignment"))
        return 32
    return int(value)


def _pad(n: int, align: int) -> int:
    return -(-n // align) * align


def _check_layout(data: Buffer, out: _Findings, p: Parsed) -> None:
    """Alignment, bounds, overlaps, then (when every size is known) order and stray bytes."""
    align = _alignment(out, p)
    start = _pad(p.info_end, align)
    end, last = 0, ""
    for t in sorted(p.tensors, key=lambda t: (t.offset, t.name)):
        loc = Location(offset=t.at, tensor=short(t.name))
        if t.offset % align:
            out.add(MISALIGNED, f"offset {t.offset} is not a multiple of {align}", loc)
        if t.nbytes is None:
            continue
        if start + t.offset + t.nbytes > len(data):
            out.add(OUT_OF_BOUNDS, f"data [{start + t.offset}, {start + t.offset + t.nbytes}) "
                                   f"ends past the end of the file ({len(data)} bytes)", loc)
        if t.offset < end:
            out.add(OVERLAP, f"data at offset {t.offset} overlaps tensor {short(last)!r} "
                             f"(which ends at {end})", loc)
        if t.offset + t.nbytes >= end:
            end, last = t.offset + t.nbytes, t.name
    if all(t.nbytes is not None for t in p.tensors):
        _check_order(out, p, align)
        _check_unreferenced(data, out, p, start, align)


def _check_order(out: _Findings, p: Parsed, align: int) -> None:
    """Each tensor must start where the previous one in table order ends, padded.

    That is llama.cpp's rule. Misaligned offsets are already findings of their own.
    """
    expected = 0
    for t in p.tensors:
        if t.offset % align == 0 and t.offset != expected:
            out.add(LAYOUT, f"data at offset {t.offset}, where llama.cpp expects {expected} "
                            f"(the previous tensor's end padded to {align})",
                    Location(offset=t.at, tensor=short(t.name)))
        expected = _pad(t.offset + (t.nbytes or 0), align)


def _check_unreferenced(data: Buffer, out: _Findings, p: Parsed, start: int,
                        align: int) -> None:
    """Alignment padding must be zeros and nothing may follow the last tensor's padding.

    Gaps between tensors are :func:`_check_order` findings; padding reads are bounded.
    """
    spans = sorted((start + t.offset, start + t.offset + (t.nbytes or 0))
                   for t in p.tensors if t.nbytes)
    pos, budget = p.info_end, _MAX_PADDING_READ
    for begin, stop in [*spans, (len(data), len(data))]:
        if begin > pos:
            limit = start if pos <= start else start + _pad(pos - start, align)
            padding_end = min(begin, limit)
            if padding_end > pos and budget > 0:
                chunk = bytes(data[pos : min(padding_end, pos + budget)])
                budget -= len(chunk)
                if chunk.count(0) != len(chunk):
                    out.add(LAYOUT, f"alignment padding [{pos}, {padding_end}) holds "
                                    f"{len(chunk) - chunk.count(0)} non-zero bytes",
                            Location(offset=pos))
            if begin == len(data) and begin > limit:
                out.add(LAYOUT, f"{begin - limit} bytes at [{limit}, {begin}) follow the last "
                                "tensor's data and belong to no tensor", Location(offset=limit))
        pos = max(pos, stop)


def _hand_templates(artifact: Artifact, p: Parsed, ctx: ScanContext) -> bool:
    """Hand every chat template to the template scanner; True if one was cut short.

    Child names are unique (``#2`` for a duplicate key) and never hold a NUL byte.
    """
    cut = False
    used: Counter[str] = Counter()
    for key, raw in sorted(p.templates):
        data = raw[: ctx.limits.max_member_size]
        cut = cut or len(data) < len(raw)
        name = key.replace("\0", "\\0")
        used[name] += 1
        suffix = f"#{used[name]}" if used[name] > 1 else ""
        ctx.scan_child(artifact.child(f"{name}{suffix}.jinja", data))
    return cut


def _result(p: Parsed, tables: Any, cut: bool) -> Result:
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


def _properties(p: Parsed, tables: Any) -> dict[str, str]:
    """The metadata summary later stages use (licence, lineage, inventory).

    Keys a hostile file could crowd out (architecture, licence, base models) come first.
    """
    props = {"gguf.version": str(p.version), "gguf.tensor_count": str(p.n_tensors),
             "gguf.kv_count": str(p.n_kv)}
    general = sorted(k for k in p.values if k.startswith("general.") and k != "general.file_type")
    first = [k for k in general if k in _SUMMARY_FIRST or k.startswith("general.base_model.")]
    for key in [*first[:_MAX_PROP], *general]:
        shown = _value_text(p.values[key])
        name = "gguf." + _printable(short(key[len("general."):]))
        if shown is not None and name not in props and len(props) < 2 * _MAX_PROP:
            props[name] = shown
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
        props["gguf.chat_templates"] = _printable(short(",".join(sorted({k for k, _ in
                                                                         p.templates}))))
    return props


def _printable(value: str) -> str:
    """Control characters (NUL above all) escaped: reports are JSON, XML and terminals."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", value)


def _value_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return _printable(short(value.decode("utf-8", "replace")))
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
