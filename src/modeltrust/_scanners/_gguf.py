"""A bounded reader of GGUF structure (v1-v3): header, metadata and tensor infos.

Every count and length is checked against the bytes that remain and against sane maxima
*before* anything is read or allocated, so a hostile count of 2**63 stops the parse at once
rather than becoming an allocation. Problems are reported by :class:`Kind`; the scanner maps
kinds to rules. The ``gguf`` package's own reader trusts its input, so it is not used here.

Two differentials are resolved the way llama.cpp resolves them: keys are C strings to its
model loader (``tokenizer.chat_template`` + NUL + ``x`` *is* the chat template there), and array
values are turned into text (``["a", "b"]``) when read as strings.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any

from modeltrust.findings import Location

MAX_TENSORS = 1 << 20
MAX_KV = 1 << 20
MAX_DIMS = 4
MAX_NAME = 64
MAX_KEY = 65_535
MAX_NESTED = 1 << 16
"""Most inner arrays in an array of arrays (llama.cpp refuses any)."""
LONG = 1 << 20
MAX_DEPTH = 2
MAX_TEXT = 256
CHECK_EVERY = 4096
SCALARS: dict[int, tuple[str, int]] = {
    0: ("B", 1), 1: ("b", 1), 2: ("H", 2), 3: ("h", 2), 4: ("I", 4), 5: ("i", 4),
    6: ("f", 4), 7: ("?", 1), 10: ("Q", 8), 11: ("q", 8), 12: ("d", 8),
}
"""GGUF scalar value types: struct code and size (the specification's fixed numbering)."""
STRING, ARRAY, UINT32 = 8, 9, 4
TEMPLATE = "tokenizer.chat_template"


class Kind(Enum):
    """Kinds of problems the reader finds; the scanner maps each to a rule."""

    MALFORMED = auto()
    LIMIT = auto()
    VALUE_TYPE = auto()
    DUPLICATE = auto()
    GGML_TYPE = auto()
    TENSOR = auto()
    NON_UTF8 = auto()
    LONG = auto()
    NUL = auto()
    TEMPLATE_TYPE = auto()
    TIME = auto()


Report = Callable[[Kind, str, Location], None]


class Stop(Exception):
    """Parsing cannot continue: carries the problem to report."""

    def __init__(self, kind: Kind, evidence: str, offset: int) -> None:
        super().__init__(evidence)
        self.kind, self.evidence, self.offset = kind, evidence, offset


@dataclass(frozen=True)
class Array:
    """An array value: its item type and length (items are not kept)."""

    item: int
    count: int


@dataclass
class Tensor:
    """One tensor info record; ``nbytes`` is None when its size cannot be computed."""

    name: str
    dims: tuple[int, ...]
    ggml: int
    offset: int
    at: int
    nbytes: int | None = None
    elements: int = 0


@dataclass
class Parsed:
    """What was read before the end of the tensor table (or before parsing stopped)."""

    version: int = 0
    big: bool = False
    n_tensors: int = 0
    n_kv: int = 0
    values: dict[str, Any] = field(default_factory=dict)
    """Scalars as Python values, strings as bytes, arrays as :class:`Array`."""
    types: dict[str, int] = field(default_factory=dict)
    """GGUF value type of each key."""
    templates: list[tuple[str, bytes]] = field(default_factory=list)
    tensors: list[Tensor] = field(default_factory=list)
    info_end: int = 0
    stopped: str = ""


def text(raw: bytes) -> str | None:
    """``raw`` as UTF-8, or None."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def short(value: str) -> str:
    """``value`` cut for evidence and properties."""
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "..."


class Reader:
    """Bounded little/big-endian reads over a buffer, with a wall-clock deadline."""

    def __init__(self, data: Any, report: Report, deadline: float, max_string: int,
                 keep: int) -> None:
        self.data, self.size, self.pos = data, len(data), 0
        self.report, self.deadline = report, deadline
        self.max_string, self.keep = max_string, keep
        self.end, self.wide = "<", True
        self.ticks = 0

    def tick(self) -> None:
        """Count one step; stop once past the deadline (checked every few thousand steps)."""
        self.ticks += 1
        if self.ticks % CHECK_EVERY == 0 and time.monotonic() > self.deadline:
            raise Stop(Kind.TIME, "time limit reached while parsing", self.pos)

    def take(self, n: int, what: str) -> int:
        """Consume ``n`` bytes; return where they start."""
        if n > self.size - self.pos:
            raise Stop(Kind.MALFORMED, f"file ends inside {what} (needs {n} bytes at offset "
                       f"{self.pos}, {self.size - self.pos} left)", self.pos)
        at = self.pos
        self.pos += n
        return at

    def scalar(self, code: str, size: int, what: str) -> Any:
        """One fixed-size value in the file's byte order."""
        return struct.unpack_from(self.end + code, self.data, self.take(size, what))[0]

    def count(self, what: str) -> int:
        """A count or length: 64-bit from version 2 on, 32-bit in version 1."""
        return int(self.scalar("Q", 8, what) if self.wide else self.scalar("I", 4, what))

    def bounded(self, what: str, n: int, unit: int, maximum: int, at: int) -> None:
        """Stop unless ``n`` items of at least ``unit`` bytes fit the limit and the file."""
        if n > maximum:
            raise Stop(Kind.LIMIT, f"{what} {n} exceeds the limit of {maximum}", at)
        if n * unit > self.size - self.pos:
            raise Stop(Kind.LIMIT, f"{what} {n} exceeds the bytes left in the file "
                       f"({self.size - self.pos})", at)

    def checked_count(self, what: str, unit: int, maximum: int) -> int:
        """A count, bounded by :meth:`bounded`."""
        at = self.pos
        n = self.count(what)
        self.bounded(what, n, unit, maximum, at)
        return n

    def string(self, what: str, limit: int) -> tuple[bytes, int]:
        """A length-prefixed string and the offset of its length."""
        at = self.pos
        n = self.count(f"{what} length")
        self.bounded(f"{what} length", n, 1, limit, at)
        start = self.take(n, what)
        return bytes(self.data[start : start + n]), at


def parse(r: Reader, p: Parsed, sizes: dict[int, tuple[int, int]]) -> None:
    """Read header, metadata and tensor infos into ``p``; raises :class:`Stop`.

    ``sizes`` maps each ggml type code to its (block size, bytes per block).
    """
    if bytes(r.data[:4]) != b"GGUF":
        raise Stop(Kind.MALFORMED, f"magic is {bytes(r.data[:4])!r}, not b'GGUF'", 0)
    r.take(4, "the magic")
    version = r.scalar("I", 4, "the version")
    if version & 0xFFFF == 0 and 1 <= version >> 24 <= 3:
        r.end, version = ">", version >> 24
    if not 1 <= version <= 3:
        raise Stop(Kind.MALFORMED, f"unsupported GGUF version {version} (1-3 exist)", 4)
    r.wide = version >= 2
    length = 8 if r.wide else 4
    p.n_tensors = r.checked_count("tensor count", length + 4 + 4 + 8, MAX_TENSORS)
    p.n_kv = r.checked_count("metadata count", length + 4 + 1, MAX_KV)
    p.version, p.big = version, r.end == ">"
    seen: set[bytes] = set()
    for _ in range(p.n_kv):
        _read_kv(r, p, seen)
    seen.clear()
    for _ in range(p.n_tensors):
        r.tick()
        t = _read_tensor(r, sizes, seen)
        p.tensors.append(t)
    p.info_end = r.pos


def _read_kv(r: Reader, p: Parsed, seen: set[bytes]) -> None:
    raw, at = r.string("metadata key", MAX_KEY)
    key = _name(r, raw, at, "metadata key")
    loc = Location(offset=at, detail=key[:80])
    vtype = r.scalar("I", 4, "a value type")
    c_key = key.split("\0", 1)[0]
    is_template = c_key == TEMPLATE or c_key.startswith(TEMPLATE + ".")
    value = _read_value(r, vtype, key, 0, is_template)
    if raw in seen:
        r.report(Kind.DUPLICATE, f"key {short(key)!r} appears more than once", loc)
    seen.add(raw)
    p.values[key], p.types[key] = value, vtype
    if not is_template:
        return
    if isinstance(value, bytes):
        p.templates.append((key, value))
    elif isinstance(value, tuple):
        r.report(Kind.TEMPLATE_TYPE, f"{short(key)!r} is an array of {len(value)} strings, "
                 "not a string", loc)
        p.values[key] = Array(STRING, len(value))
        p.templates.append((key, _as_llama_text(value)))


def _name(r: Reader, raw: bytes, at: int, what: str) -> str:
    """Decode a key or tensor name; report invalid UTF-8 and embedded NUL bytes."""
    decoded = text(raw)
    if decoded is None:
        decoded = raw.decode("utf-8", "replace")
        r.report(Kind.NON_UTF8, f"{what} is not UTF-8", Location(offset=at, detail=decoded[:80]))
    if "\0" in decoded:
        r.report(Kind.NUL, f"{what} {short(decoded)!r} contains a NUL byte: C readers see "
                 f"{short(decoded.split(chr(0), 1)[0])!r}",
                 Location(offset=at, detail=decoded[:80]))
    return decoded


def _as_llama_text(items: tuple[bytes, ...]) -> bytes:
    """An array of strings as llama.cpp's ``gguf_kv_to_str`` turns it into one string."""
    quoted = (b'"' + i.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"' for i in items)
    return b"[" + b", ".join(quoted) + b"]"


def _read_value(r: Reader, vtype: int, key: str, depth: int, keep: bool = False) -> Any:
    """A scalar (int/float/bool), a string (bytes) or an array (:class:`Array`).

    With ``keep``, an array of strings is returned as a tuple of its items (bounded by the
    reader's ``keep`` budget) so a chat template stored as an array can be checked.
    """
    r.tick()
    if vtype in SCALARS:
        code, size = SCALARS[vtype]
        return r.scalar(code, size, f"the value of {key!r}")
    if vtype == STRING:
        raw, at = r.string(f"string {key!r}", r.max_string)
        _check_string(r, raw, at, key)
        return raw
    if vtype == ARRAY:
        return _read_array(r, key, depth, keep)
    raise Stop(Kind.VALUE_TYPE, f"{key!r}: unknown value type {vtype}", r.pos - 4)


def _read_array(r: Reader, key: str, depth: int, keep: bool) -> Any:
    at = r.pos
    item = r.scalar("I", 4, "an array item type")
    if item == ARRAY and depth >= MAX_DEPTH - 1:
        raise Stop(Kind.VALUE_TYPE, f"{key!r}: arrays nested deeper than {MAX_DEPTH}", at)
    unit = SCALARS[item][1] if item in SCALARS else 8
    limit = MAX_NESTED if item == ARRAY else 1 << 40
    n = r.checked_count(f"array length of {key!r}", unit, limit)
    if item in SCALARS:
        r.take(n * unit, f"array {key!r}")
        return Array(item, n)
    if item == STRING:
        items = _read_strings(r, n, key, at, keep)
        return items if keep else Array(item, n)
    if item != ARRAY:
        raise Stop(Kind.VALUE_TYPE, f"{key!r}: unknown array item type {item}", at)
    r.report(Kind.VALUE_TYPE, f"{key!r}: array of arrays (llama.cpp refuses it)",
             Location(offset=at, detail=key[:80]))
    for _ in range(n):
        _read_value(r, item, key, depth + 1)
    return Array(item, n)


def _check_string(r: Reader, raw: bytes, at: int, key: str) -> None:
    if not raw.isascii() and text(raw) is None:
        r.report(Kind.NON_UTF8, f"value of {short(key)!r} is not UTF-8 ({len(raw)} bytes)",
                 Location(offset=at, detail=key[:80]))
    if len(raw) > LONG:
        r.report(Kind.LONG, f"value of {short(key)!r} is {len(raw)} bytes long",
                 Location(offset=at, detail=key[:80]))


def _read_strings(r: Reader, n: int, key: str, at: int, keep: bool) -> tuple[bytes, ...]:
    """An array of strings: every length bounded, problems reported once per key.

    With ``keep``, items are returned until their total reaches the reader's ``keep``
    budget; the rest are still read and checked.
    """
    bad = longest = kept = 0
    items: list[bytes] = []
    for _ in range(n):
        r.tick()
        raw, _pos = r.string(f"an item of {key!r}", r.max_string)
        longest = max(longest, len(raw))
        if not raw.isascii() and text(raw) is None:
            bad += 1
        if keep and kept + len(raw) <= r.keep:
            items.append(raw)
            kept += len(raw)
    loc = Location(offset=at, detail=key[:80])
    if bad:
        r.report(Kind.NON_UTF8, f"{bad} of {n} items of {short(key)!r} are not UTF-8", loc)
    if longest > LONG:
        r.report(Kind.LONG, f"an item of {short(key)!r} is {longest} bytes long", loc)
    return tuple(items)


def _read_tensor(r: Reader, sizes: dict[int, tuple[int, int]], seen: set[bytes]) -> Tensor:
    raw, at = r.string("tensor name", MAX_KEY)
    name = _name(r, raw, at, "tensor name")
    n_dims = r.scalar("I", 4, "a dimension count")
    if n_dims > 16:
        raise Stop(Kind.TENSOR, f"tensor {short(name)!r} has {n_dims} dimensions", at)
    dims = tuple(r.count("a dimension") for _ in range(n_dims))
    ggml = r.scalar("I", 4, "a tensor type")
    offset = r.scalar("Q", 8, "a tensor offset")
    t = Tensor(name, dims, ggml, offset, at)
    loc = Location(offset=at, tensor=short(name))
    if raw in seen:
        r.report(Kind.TENSOR, "tensor name used twice", loc)
    seen.add(raw)
    if len(raw) >= MAX_NAME:
        r.report(Kind.TENSOR, f"name of {len(raw)} bytes (llama.cpp allows {MAX_NAME - 1})", loc)
    if n_dims > MAX_DIMS:
        r.report(Kind.TENSOR, f"{n_dims} dimensions (at most {MAX_DIMS})", loc)
    if ggml not in sizes:
        r.report(Kind.GGML_TYPE, f"ggml type {ggml} is unknown", loc)
        return t
    block, size = sizes[ggml]
    elements = 1
    for d in dims:
        elements = min(elements * d, 1 << 64)
    if elements >= 1 << 63:
        r.report(Kind.TENSOR, f"shape {list(dims)} overflows a 64-bit element count", loc)
    elif (dims[0] if dims else 1) % block:  # ggml fills missing dimensions with 1
        r.report(Kind.TENSOR, f"first dimension {dims[0] if dims else 1} is not a multiple "
                              f"of the block size {block}", loc)
    else:
        t.elements, t.nbytes = elements, elements // block * size
    return t
