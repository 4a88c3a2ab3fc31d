"""A bounded reader of the protobuf wire format, so no message class (or TensorFlow) is needed.

Protobuf bytes are a flat run of ``(tag, value)`` fields; nested messages are just
length-delimited fields whose bytes happen to parse as fields again. This module decodes one
level at a time and leaves the schema (which field numbers mean what) to the caller, so a
hostile file cannot make it allocate or recurse beyond the :class:`Budget` it was given:
every field costs one unit of the budget, lengths are checked against the enclosing range
before anything is sliced, and groups (unused by TensorFlow and ONNX) are rejected.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from modeltrust._source.interface import Buffer

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
_MAX_VARINT_BYTES = 10
MAX_FIELDS = 5_000_000
"""Default: fields decoded per file (all nesting levels together)."""
MAX_DEPTH = 64
"""Default: message nesting followed by callers (protobuf's own C++ limit is 100)."""


class WireError(Exception):
    """The bytes are not valid protobuf wire format (with the offset where it broke)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at offset {offset}")
        self.offset = offset


class LimitError(WireError):
    """A decoding bound (fields, depth, time) was reached; the message may be valid."""


@dataclass
class Budget:
    """What is left to spend on one file: fields and wall-clock time."""

    fields: int = MAX_FIELDS
    deadline: float = float("inf")
    depth: int = MAX_DEPTH

    def spend(self, offset: int) -> None:
        """Take one field; raise :class:`LimitError` when the budget is gone."""
        self.fields -= 1
        if self.fields < 0:
            raise LimitError("field budget exhausted", offset)
        if self.fields % 4096 == 0 and time.monotonic() > self.deadline:
            raise LimitError("time budget exhausted", offset)


@dataclass(frozen=True, slots=True)
class Field:
    """One decoded field. For ``LEN`` fields, ``value``..``end`` is the payload range."""

    number: int
    wire: int
    value: int
    end: int
    offset: int

    @property
    def start(self) -> int:
        """Start of a length-delimited payload (same as ``value``)."""
        return self.value


def read_varint(data: Buffer, pos: int, end: int) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; return ``(value, next position)``."""
    result = 0
    shift = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos + i >= end:
            raise WireError("truncated varint", pos)
        byte = data[pos + i]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos + i + 1
        shift += 7
    raise WireError("varint longer than 10 bytes", pos)


def iter_fields(data: Buffer, start: int, end: int, budget: Budget) -> Iterator[Field]:
    """Yield the fields of the message in ``data[start:end]`` (one level, no recursion)."""
    if start < 0 or end > len(data) or start > end:
        raise WireError("message range outside the buffer", start)
    pos = start
    while pos < end:
        budget.spend(pos)
        tag_at = pos
        tag, pos = read_varint(data, pos, end)
        number, wire = tag >> 3, tag & 7
        if number == 0 or number > 0x1FFFFFFF:
            raise WireError(f"invalid field number {number}", tag_at)
        if wire == VARINT:
            value, pos = read_varint(data, pos, end)
            yield Field(number, wire, value, pos, tag_at)
        elif wire in (I64, I32):
            size = 8 if wire == I64 else 4
            if pos + size > end:
                raise WireError("truncated fixed-width field", tag_at)
            value = int.from_bytes(bytes(data[pos : pos + size]), "little")
            pos += size
            yield Field(number, wire, value, pos, tag_at)
        elif wire == LEN:
            length, body = read_varint(data, pos, end)
            if length > end - body:
                raise WireError(f"length {length} runs past the end of its message", tag_at)
            pos = body + length
            yield Field(number, wire, body, pos, tag_at)
        else:
            raise WireError(f"unsupported wire type {wire} (field {number})", tag_at)


def fields(data: Buffer, start: int, end: int, budget: Budget) -> list[Field]:
    """All fields of one message level, as a list (validated to the end)."""
    return list(iter_fields(data, start, end, budget))


def payload(data: Buffer, f: Field, limit: int = 1 << 20) -> bytes:
    """The bytes of a length-delimited field, cut at ``limit``."""
    return bytes(data[f.start : min(f.end, f.start + limit)])


def text(data: Buffer, f: Field, limit: int = 4096) -> str:
    """A length-delimited field as text (UTF-8, undecodable bytes replaced), cut at ``limit``."""
    return payload(data, f, limit).decode("utf-8", "replace")


def is_message(data: Buffer, start: int, end: int, budget: Budget) -> bool:
    """True when ``data[start:end]`` parses completely as fields (empty counts as a message)."""
    try:
        for _ in iter_fields(data, start, end, budget):
            pass
    except LimitError:
        raise
    except WireError:
        return False
    return True


def iter_strings(
    data: Buffer, start: int, end: int, budget: Budget, depth: int = 0,
    prefix: bytes = b"",
) -> Iterator[Field]:
    """Every length-delimited field, at any depth, whose payload starts with ``prefix``.

    Used to find embedded documents (Keras JSON configs) without knowing the schema: a
    payload that parses as a message is also descended into, up to ``budget.depth``.
    """
    if depth > budget.depth:
        raise LimitError(f"nesting deeper than {budget.depth}", start)
    try:
        found = fields(data, start, end, budget)
    except LimitError:
        raise
    except WireError:
        return
    for f in found:
        if f.wire != LEN or f.end == f.start:
            continue
        if bytes(data[f.start : f.start + len(prefix)]) == prefix:
            yield f
        elif data[f.start] & 7 in (VARINT, I64, LEN, I32) and data[f.start] >> 3:
            yield from iter_strings(data, f.start, f.end, budget, depth + 1, prefix)


# --- text format ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r\f\v]+)|(?P<nl>\n)|(?P<comment>\#[^\n]*)"""
    r"""|(?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
    r"""|(?P<word>[A-Za-z0-9_.+\-/]+)|(?P<punct>[{}\[\]:,;<>])|(?P<bad>.)""",
)
_ESCAPES = {"n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11, "\\": 92, "'": 39,
            '"': 34, "?": 63}


@dataclass
class TextField:
    """One ``name: value`` (or ``name { ... }``) entry of a text-format message."""

    name: str
    value: str | TextMessage
    line: int
    quoted: bool = False


@dataclass
class TextMessage:
    """A parsed text-format message: its fields in file order."""

    fields: list[TextField]


class TextError(Exception):
    """The text is not protobuf text format (with the line where it broke)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"{message} (line {line})")
        self.line = line


def unescape(quoted: str) -> str:
    """Decode a C-escaped protobuf string literal (quotes included) to text."""
    body = quoted[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out += ch.encode("utf-8")
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "xX":
            digits = re.match(r"[0-9a-fA-F]{1,2}", body[i + 2 :])
            out.append(int(digits.group(0), 16) if digits else ord(nxt))
            i += 2 + (len(digits.group(0)) if digits else 0)
        elif nxt in "01234567":
            digits = re.match(r"[0-7]{1,3}", body[i + 1 :])
            assert digits is not None
            out.append(int(digits.group(0), 8) & 0xFF)
            i += 1 + len(digits.group(0))
        else:
            out += nxt.encode("utf-8")
            i += 2
    return out.decode("utf-8", "replace")


class _TextParser:
    def __init__(self, text: str, max_tokens: int, max_depth: int) -> None:
        self.tokens: list[tuple[str, str, int]] = []
        self.pos = 0
        self.max_depth = max_depth
        line = 1
        for m in _TOKEN.finditer(text):
            kind = m.lastgroup or "bad"
            if kind == "nl":
                line += 1
            elif kind == "bad":
                raise TextError(f"unexpected character {m.group(0)!r}", line)
            elif kind not in ("ws", "comment"):
                self.tokens.append((kind, m.group(0), line))
                if len(self.tokens) > max_tokens:
                    raise TextError(f"more than {max_tokens} tokens", line)

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            last = self.tokens[-1][2] if self.tokens else 1
            raise TextError("unexpected end of text", last)
        self.pos += 1
        return tok

    def message(self, closer: str, depth: int) -> TextMessage:
        if depth > self.max_depth:
            raise TextError(f"nesting deeper than {self.max_depth}", self.tokens[self.pos][2])
        msg = TextMessage([])
        while True:
            tok = self.peek()
            if tok is None:
                if closer:
                    self.take()
                return msg
            kind, value, line = self.take()
            if value == closer and kind == "punct":
                return msg
            if value in (";", ","):
                continue
            if value == "[":
                parts = []
                while (part := self.take())[1] != "]":
                    parts.append(part[1])
                value = "[" + "".join(parts) + "]"
            elif kind != "word":
                raise TextError(f"expected a field name, found {value!r}", line)
            self.field(msg, value, line, depth)

    def field(self, msg: TextMessage, name: str, line: int, depth: int) -> None:
        nxt = self.peek()
        if nxt is not None and nxt[1] == ":":
            self.take()
            nxt = self.peek()
        if nxt is not None and nxt[1] == "[":
            self.take()
            while True:
                if self.peek() is not None and self.peek()[1] == "]":  # type: ignore[index]
                    self.take()
                    return
                self.value(msg, name, line, depth)
                if self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                    self.take()
        self.value(msg, name, line, depth)

    def value(self, msg: TextMessage, name: str, line: int, depth: int) -> None:
        kind, value, vline = self.take()
        if value in ("{", "<") and kind == "punct":
            child = self.message("}" if value == "{" else ">", depth + 1)
            msg.fields.append(TextField(name, child, vline))
        elif kind == "str":
            text = unescape(value)
            while (nxt := self.peek()) is not None and nxt[0] == "str":
                text += unescape(self.take()[1])
            msg.fields.append(TextField(name, text, vline, quoted=True))
        elif kind == "word":
            msg.fields.append(TextField(name, value, vline))
        else:
            raise TextError(f"expected a value for {name!r}, found {value!r}", vline)


def parse_text(text: str, max_tokens: int = MAX_FIELDS, max_depth: int = MAX_DEPTH
               ) -> tuple[TextMessage, TextError | None]:
    """Parse protobuf text format into a tree; on error, the part read so far and the error."""
    root = TextMessage([])
    try:
        parser = _TextParser(text, max_tokens, max_depth)
        root = parser.message("", 0)
    except TextError as exc:
        return root, exc
    except RecursionError:
        return root, TextError("nesting too deep", 0)
    return root, None
