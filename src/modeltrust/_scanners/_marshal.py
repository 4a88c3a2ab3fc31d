"""A safe, bounded reader of marshalled Python code objects (Keras Lambda layers).

Keras saves a ``Lambda`` layer's function as ``marshal.dumps(func.__code__)``, base64
encoded, and ``load_model`` turns it back into a function with ``marshal.loads`` and calls
it (CVE-2024-3660). To say what such a function does without creating it, this module reads
the marshal format itself: type codes, references, tuples, strings, integers and code
objects, collecting the names (``co_names``), string constants and file names of every
code object, nested ones included. Nothing is ever handed to :mod:`marshal`.

The marshal format carries no version number and the code-object layout differs between
Python versions, so each known layout is tried in turn; the object budget is shared by all
attempts, which keeps even adversarial inputs linear.
"""

from __future__ import annotations

import ast
import binascii
import struct
from dataclasses import dataclass, field

MAX_OBJECTS = 200_000
MAX_DEPTH = 64
MAX_SOURCE = 64 * 1024

DANGEROUS_NAMES = frozenset({
    "os", "posix", "nt", "subprocess", "sys", "builtins", "__builtins__", "__builtin__",
    "importlib", "import_module", "__import__", "eval", "exec", "execfile", "compile",
    "open", "system", "popen", "Popen", "spawn", "spawnl", "spawnv", "spawnve", "execv",
    "execve", "execl", "fork", "forkpty", "kill", "run", "call", "check_call",
    "check_output", "getoutput", "getstatusoutput", "getattr", "setattr", "delattr",
    "globals", "locals", "vars", "breakpoint", "socket", "urllib", "urlopen", "request",
    "requests", "http", "shutil", "rmtree", "remove", "unlink", "rmdir", "pickle",
    "marshal", "loads", "load", "ctypes", "CDLL", "cdll", "pty", "runpy", "webbrowser",
    "code", "codecs", "base64", "b64decode", "tempfile", "pathlib", "write_text",
    "write_bytes", "input", "help", "exit", "quit", "__subclasses__", "__globals__",
    "__code__", "__reduce__", "__getattribute__", "get_file", "startfile",
})
"""Names whose use by a model function means it reaches the OS, files, network or eval."""
SAFE_IN_CONSTS = frozenset({"run", "call", "load", "input", "request", "code", "help"})
"""Generic words that are only suspicious as names, not as string constants."""


class MarshalError(Exception):
    """The bytes are not a marshalled code object this reader understands."""


@dataclass
class CodeInfo:
    """What a code object (and the code objects nested in it) refers to."""

    names: set[str] = field(default_factory=set)
    consts: set[str] = field(default_factory=set)
    filenames: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    layout: str = ""

    def dangerous(self) -> list[str]:
        """Sorted names and string constants from :data:`DANGEROUS_NAMES`."""
        hits = {n for n in self.names if n in DANGEROUS_NAMES}
        for c in self.consts:
            head = c.split(".", 1)[0]
            if c in DANGEROUS_NAMES - SAFE_IN_CONSTS or head in ("os", "subprocess", "builtins"):
                hits.add(c)
        return sorted(hits)

    def describe(self, limit: int = 20) -> str:
        """One-line evidence: names, string constants and file names."""
        consts = [repr(c if len(c) <= 80 else c[:77] + "...") for c in sorted(self.consts)]
        parts = [f"names={_few(sorted(self.names), limit)}",
                 f"consts={_few(consts, limit)}"]
        if self.filenames:
            parts.append(f"filename={_few(sorted(self.filenames), 3)}")
        return ", ".join(parts)


def _few(items: list[str], limit: int) -> str:
    shown = ", ".join(items[:limit])
    more = f", +{len(items) - limit} more" if len(items) > limit else ""
    return f"[{shown}{more}]"


@dataclass(frozen=True)
class _Code:
    info: CodeInfo


# (header longs, object fields after the longs; "L" = a raw 4-byte long)
_LAYOUTS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("python>=3.11", 5, ("code", "consts", "names", "localsplusnames", "localspluskinds",
                         "filename", "name", "qualname", "L", "linetable", "exceptiontable")),
    ("python3.8-3.10", 6, ("code", "consts", "names", "varnames", "freevars", "cellvars",
                           "filename", "name", "L", "lnotab")),
    ("python3.0-3.7", 5, ("code", "consts", "names", "varnames", "freevars", "cellvars",
                          "filename", "name", "L", "lnotab")),
    ("python2", 4, ("code", "consts", "names", "varnames", "freevars", "cellvars",
                    "filename", "name", "L", "lnotab")),
)
_NO_REF = frozenset("NFTS.0")


class _Reader:
    def __init__(self, data: bytes, max_objects: int, max_depth: int) -> None:
        self.data = data
        self.pos = 0
        self.refs: list[object] = []
        self.interned: list[str] = []  # Python 2 'R' references point into this list
        self.budget = max_objects
        self.max_depth = max_depth
        self.depth = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise MarshalError(f"truncated at offset {self.pos} (need {n} bytes)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def long(self) -> int:
        value: int = struct.unpack("<i", self.take(4))[0]
        return value

    def obj(self) -> object:
        self.budget -= 1
        if self.budget < 0:
            raise MarshalError("object budget exhausted")
        if self.depth >= self.max_depth:
            raise MarshalError(f"nesting deeper than {self.max_depth}")
        raw = self.take(1)[0]
        kind = chr(raw & 0x7F)
        slot = -1
        if raw & 0x80 and kind not in _NO_REF:
            slot = len(self.refs)
            self.refs.append(None)
        self.depth += 1
        try:
            value = self._value(kind)
        finally:
            self.depth -= 1
        if slot >= 0:
            self.refs[slot] = value
        return value

    def _value(self, kind: str) -> object:  # noqa: PLR0911, C901 - one branch per type code
        simple = {"N": None, "F": False, "T": True, "S": StopIteration, ".": Ellipsis}
        if kind in simple:
            return simple[kind]
        if kind == "0":
            raise MarshalError("NULL object outside a dict")
        if kind == "i":
            return self.long()
        if kind == "l":
            n = self.long()
            if abs(n) > 100_000:
                raise MarshalError(f"long integer of {n} digits")
            self.take(2 * abs(n))
            return 0
        if kind == "g":
            return struct.unpack("<d", self.take(8))[0]
        if kind == "y":
            self.take(16)
            return 0j
        if kind in "fx":
            for _ in range(2 if kind == "x" else 1):
                self.take(self.take(1)[0])
            return 0.0
        if kind in "stuaA":
            n = self.long()
            raw = self.take(n)
            if kind == "s":
                return raw
            text = raw.decode("utf-8", "replace")
            if kind == "t":
                self.interned.append(text)
            return text
        if kind == "R":
            idx = self.long()
            if not 0 <= idx < len(self.interned):
                raise MarshalError(f"string reference {idx} to an unknown string")
            return self.interned[idx]
        if kind in "zZ":
            return self.take(self.take(1)[0]).decode("latin-1")
        if kind in "([<>)":
            n = self.take(1)[0] if kind == ")" else self.long()
            if n < 0 or n > len(self.data):
                raise MarshalError(f"container of {n} items")
            return tuple(self.obj() for _ in range(n))
        if kind == "{":
            return self._dict()
        if kind == "r":
            idx = self.long()
            if not 0 <= idx < len(self.refs):
                raise MarshalError(f"reference {idx} to an unknown object")
            return self.refs[idx]
        if kind == ":":
            return tuple(self.obj() for _ in range(3))
        if kind == "c":
            return self._code()
        raise MarshalError(f"unknown type code {kind!r} at offset {self.pos - 1}")

    def _dict(self) -> dict[object, object]:
        out: dict[object, object] = {}
        while True:
            if self.pos < len(self.data) and self.data[self.pos] == ord("0"):
                self.pos += 1
                return out
            key = self.obj()
            value = self.obj()
            if isinstance(key, str | int | bytes | None):
                out[key] = value

    def _code(self) -> _Code:
        start, nrefs, nint = self.pos, len(self.refs), len(self.interned)
        problems: list[str] = []
        for layout, longs, names in _LAYOUTS:
            self.pos = start
            del self.refs[nrefs:]
            del self.interned[nint:]
            try:
                return self._code_layout(layout, longs, names)
            except MarshalError as exc:
                if "budget" in str(exc) or "deeper" in str(exc):
                    raise
                problems.append(f"{layout}: {exc}")
        raise MarshalError("code object matches no known layout (" + "; ".join(problems) + ")")

    def _code_layout(self, layout: str, longs: int, names: tuple[str, ...]) -> _Code:
        for _ in range(longs):
            self.long()
        values: dict[str, object] = {}
        for name in names:
            values[name] = self.long() if name == "L" else self.obj()
        if not isinstance(values["code"], bytes) or not isinstance(values["consts"], tuple):
            raise MarshalError("bytecode or constants have the wrong type")
        filename = values["filename"]
        if isinstance(filename, bytes) and layout == "python2":
            filename = filename.decode("utf-8", "replace")
        if not isinstance(values["names"], tuple) or not isinstance(filename, str):
            raise MarshalError("names or filename have the wrong type")
        if layout.startswith("python>=3.11") and not isinstance(values["localspluskinds"], bytes):
            raise MarshalError("localspluskinds is not bytes")
        if not layout.startswith("python>=3.11") and not isinstance(values["cellvars"], tuple):
            raise MarshalError("cellvars is not a tuple")
        info = CodeInfo(layout=layout)
        info.names.update(_text(n) for n in values["names"] if isinstance(n, str | bytes))
        info.filenames.add(filename)
        if isinstance(values["name"], str | bytes):
            info.functions.add(_text(values["name"]))
        _merge_consts(info, values["consts"], 0)
        return _Code(info)


def _merge_consts(info: CodeInfo, consts: object, depth: int) -> None:
    if depth > MAX_DEPTH or not isinstance(consts, tuple):
        return
    for c in consts:
        if isinstance(c, str):
            info.consts.add(c)
        elif isinstance(c, bytes) and c:
            info.consts.add(_text(c))
        elif isinstance(c, _Code):
            info.names |= c.info.names
            info.consts |= c.info.consts
            info.filenames |= c.info.filenames
            info.functions |= c.info.functions
        elif isinstance(c, tuple):
            _merge_consts(info, c, depth + 1)


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def function_bytes(text: str) -> bytes:
    """The bytes Keras' ``func_load`` hands to ``marshal.loads`` for a function string.

    Keras decodes leniently: ``codecs.decode(text.encode("ascii"), "base64")``, which skips
    characters outside the base64 alphabet, and when that fails it falls back to
    ``text.encode("raw_unicode_escape")`` (raw marshal bytes stored as text). Decoding the
    same way means prefixes, junk characters or raw bytes cannot hide the bytecode.
    """
    try:
        return binascii.a2b_base64(text.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return text.encode("raw_unicode_escape")


def looks_like_code(data: bytes) -> bool:
    """True when ``data`` starts with a marshal code-object type byte."""
    return len(data) > 16 and data[0] in (ord("c"), ord("c") | 0x80)


def read_code(data: bytes, max_objects: int = MAX_OBJECTS, max_depth: int = MAX_DEPTH
              ) -> CodeInfo:
    """Read a marshalled code object; raise :class:`MarshalError` on anything else."""
    if not looks_like_code(data):
        raise MarshalError("not a marshalled code object (type byte is not 'c')")
    reader = _Reader(data, max_objects, max_depth)
    try:
        top = reader.obj()
    except RecursionError as exc:
        raise MarshalError("nesting too deep") from exc
    if not isinstance(top, _Code):
        raise MarshalError("top-level object is not a code object")
    return top.info


def read_source(source: str) -> CodeInfo:
    """Names and string constants of Python source text, parsed (never compiled or run)."""
    if len(source) > MAX_SOURCE:
        raise MarshalError(f"source longer than {MAX_SOURCE} characters")
    try:
        tree = ast.parse(source, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise MarshalError(f"not Python source: {type(exc).__name__}") from exc
    info = CodeInfo(layout="source")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            info.names.add(node.id)
        elif isinstance(node, ast.Attribute):
            info.names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            info.consts.add(node.value)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            info.names.add("__import__")
            info.names.update(a.name.split(".")[0] for a in node.names)
            if isinstance(node, ast.ImportFrom) and node.module:
                info.names.add(node.module.split(".")[0])
    return info
