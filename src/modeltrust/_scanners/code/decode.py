"""Bounded, pure-stdlib decoding of literal payloads (base64, zlib, bz2, lzma, hex, rot13).

Only constants written in the source are decoded, never values computed at run time, and
no decoder may produce more than :data:`MAX_DECODED` bytes (decompression bombs stop there).
"""

from __future__ import annotations

import ast
import base64
import binascii
import bz2
import codecs
import lzma
import re
import string
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_DECODED = 1024 * 1024
"""Largest decoded payload kept (bytes or characters)."""
MAX_STEPS = 100_000
"""Non-trivial literal evaluations per file (stops exponential constant doubling)."""
MAX_PRODUCED = 32 * 1024 * 1024
"""Bytes/characters literal evaluation may build per file, all payloads together."""
DECODERS = frozenset({
    "base64.b64decode", "base64.b32decode", "base64.b16decode", "base64.b85decode",
    "base64.a85decode", "base64.decodebytes", "base64.standard_b64decode",
    "base64.urlsafe_b64decode", "binascii.a2b_base64", "binascii.unhexlify", "binascii.a2b_hex",
    "zlib.decompress", "gzip.decompress", "bz2.decompress", "lzma.decompress", "codecs.decode",
    "codecs.encode",
    "builtins.bytes.fromhex", "builtins.bytearray.fromhex", "marshal.loads",
})


@dataclass
class Decoded:
    value: str | bytes | None
    decoded: bool = False
    code_object: bool = False
    code: str | None = None
    """What a marshalled code object refers to, read without unmarshalling it."""
    dangerous: bool = False


@dataclass
class State:
    """Shared by a file's analysis and the analyses of payloads decoded from it."""

    limits: list[str] = field(default_factory=list)
    nodes: int = 0
    deadline: float = 0.0
    steps: int = 0
    """Non-trivial literal evaluations (concatenations, slices, calls) so far."""
    produced: int = 0
    """Bytes/characters built by literal evaluation so far."""
    tokens: int = 0
    """Tokens of decoded payloads parsed so far."""


class StaticEvaluator:
    """Evaluates literal-only expressions; the analyser supplies names and constants."""

    consts: dict[str, ast.expr]
    state: State
    _memo: dict[str, Decoded]

    def _qualname(self, expr: ast.AST, d: int = 0) -> str | None:
        raise NotImplementedError

    def _limit(self, why: str) -> None:
        raise NotImplementedError

    def _static(self, expr: ast.AST, d: int) -> Decoded:
        """Evaluate literal-only expressions (constants, concatenation, decoders), bounded."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str | bytes):
            return Decoded(expr.value)
        if d > 30 or not isinstance(expr, ast.Name | ast.BinOp | ast.Subscript | ast.Call
                                    | ast.JoinedStr | ast.FormattedValue):
            return Decoded(None)
        st = self.state
        st.steps += 1
        if st.steps > MAX_STEPS or st.produced > MAX_PRODUCED:
            self._limit("literal evaluation budget exhausted: later payloads not decoded")
            return Decoded(None)
        if isinstance(expr, ast.Name):
            if expr.id not in self.consts:
                return Decoded(None)
            if expr.id not in self._memo:
                self._memo[expr.id] = Decoded(None)  # breaks self-reference cycles
                self._memo[expr.id] = self._static(self.consts[expr.id], d + 1)
            return self._memo[expr.id]
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            left, right = self._static(expr.left, d + 1), self._static(expr.right, d + 1)
            lv, rv = left.value, right.value
            dec = left.decoded or right.decoded
            if isinstance(lv, str) and isinstance(rv, str):
                return Decoded(self._keep(lv + rv), dec)
            if isinstance(lv, bytes) and isinstance(rv, bytes):
                return Decoded(self._keep(lv + rv), dec)
            return Decoded(None, dec)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
            return self._percent(expr, d)
        if isinstance(expr, ast.JoinedStr | ast.FormattedValue):
            return self._fstring(expr, d)
        if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Slice):
            inner = self._static(expr.value, d + 1)
            bounds = [self._int(p) for p in (expr.slice.lower, expr.slice.upper, expr.slice.step)]
            if inner.value is not None and bounds[2] != 0:
                return Decoded(self._keep(inner.value[bounds[0]:bounds[1]:bounds[2]]),
                               inner.decoded)
            return Decoded(None, inner.decoded)
        if isinstance(expr, ast.Call):
            return self._static_call(expr, d)
        return Decoded(None)

    def _percent(self, expr: ast.BinOp, d: int) -> Decoded:
        """``"import %s" % "os"`` with literal operands."""
        fmt = self._static(expr.left, d + 1)
        right = expr.right
        items = right.elts if isinstance(right, ast.Tuple) else [right]
        vals = [self._static(e, d + 1).value for e in items]
        if (not isinstance(fmt.value, str) or not all(isinstance(v, str) for v in vals)
                or _PERCENT.sub("", fmt.value).count("%")):
            return Decoded(None, fmt.decoded)  # only %s and %%: widths build huge strings
        try:
            return Decoded(self._keep(fmt.value % tuple(vals)), fmt.decoded)
        except (TypeError, ValueError, KeyError, OverflowError):
            return Decoded(None, fmt.decoded)

    def _fstring(self, expr: ast.JoinedStr | ast.FormattedValue, d: int) -> Decoded:
        """``f"import {name}"`` where every interpolated value is literal."""
        if isinstance(expr, ast.FormattedValue):
            if expr.format_spec is not None:
                return Decoded(None)
            inner = self._static(expr.value, d + 1)
            return inner if isinstance(inner.value, str) else Decoded(None, inner.decoded)
        out: list[str] = []
        for part in expr.values[:256]:
            v = self._static(part, d + 1).value
            if not isinstance(v, str):
                return Decoded(None)
            out.append(v)
        return Decoded(self._keep("".join(out)))

    def _keep(self, value: str | bytes) -> str | bytes | None:
        """Count what evaluation built; values over MAX_DECODED are dropped."""
        self.state.produced += len(value)
        return value if len(value) <= MAX_DECODED else None

    def _int(self, node: ast.expr | None) -> int | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
                and isinstance(node.operand, ast.Constant)
                and isinstance(node.operand.value, int)):
            return -node.operand.value
        return None

    def _static_call(self, call: ast.Call, d: int) -> Decoded:
        func, args = call.func, call.args
        name = self._qualname(func)
        if name == "builtins.chr" and len(args) == 1:
            code = _int_const(args[0])
            return Decoded(chr(code) if code is not None and 0 <= code <= 0x10FFFF else None)
        if name in ("builtins.bytes", "builtins.bytearray") and args:
            nums = _ints(args[0])
            return Decoded(bytes(nums) if nums is not None else None)
        if name in DECODERS:
            return self._decoder(name, args, d)
        if isinstance(func, ast.Attribute) and func.attr == "format":
            return self._format(func, call, d)
        if isinstance(func, ast.Attribute) and func.attr == "join" and args:
            recv = self._static(func.value, d + 1).value
            items = _chars(args[0])
            if (items is None and isinstance(args[0], ast.Call) and args[0].args
                    and self._qualname(args[0].func) == "builtins.reversed"):
                rev = self._static(args[0].args[0], d + 1).value
                items = list(reversed(rev)) if isinstance(rev, str) else None
            if items is None and isinstance(args[0], ast.List | ast.Tuple):
                parts = [self._static(e, d + 1).value for e in args[0].elts]
                strs = [p for p in parts if isinstance(p, str)]
                items = strs if len(strs) == len(parts) else None
            if not isinstance(recv, str) or items is None:
                return Decoded(None)
            return Decoded(self._keep(recv.join(items)))
        if isinstance(func, ast.Attribute) and func.attr in ("decode", "encode"):
            recv_d = self._static(func.value, d + 1)
            enc = self._static(args[0], d + 1).value if args else "utf-8"
            if recv_d.value is None or not isinstance(enc, str):
                return Decoded(None, recv_d.decoded)
            plain = enc.lower().replace("-", "").replace("_", "") in ("utf8", "ascii", "latin1")
            return Decoded(_transcode(recv_d.value, func.attr, enc),
                            recv_d.decoded or not plain)
        return Decoded(None)

    def _format(self, func: ast.Attribute, call: ast.Call, d: int) -> Decoded:
        """``"import {}".format("os")`` with literal arguments."""
        fmt = self._static(func.value, d + 1)
        args = [self._static(a, d + 1).value for a in call.args]
        kwargs = {k.arg: self._static(k.value, d + 1).value for k in call.keywords if k.arg}
        if (not isinstance(fmt.value, str) or len(kwargs) != len(call.keywords)
                or not all(isinstance(v, str) for v in [*args, *kwargs.values()])):
            return Decoded(None, fmt.decoded)
        try:
            # plain fields only: a width ("{:>999999999}") would build a huge string
            if any(spec or conv not in (None, "r", "s", "a")
                   or (field and not field.isidentifier() and not field.isdigit())
                   for _lit, field, spec, conv in string.Formatter().parse(fmt.value)):
                return Decoded(None, fmt.decoded)
            return Decoded(self._keep(fmt.value.format(*args, **kwargs)), fmt.decoded)
        except (IndexError, KeyError, ValueError):
            return Decoded(None, fmt.decoded)

    def _decoder(self, name: str, args: list[ast.expr], d: int) -> Decoded:
        if name == "marshal.loads":
            return marshalled(self._static(args[0], d + 1) if args else Decoded(None))
        inner = self._static(args[0], d + 1) if args else Decoded(None)
        extra: object = self._static(args[1], d + 1).value if len(args) > 1 else None
        if len(args) > 1 and isinstance(args[1], ast.Constant):
            extra = args[1].value
        if inner.value is None:
            return Decoded(None, True, inner.code_object)
        decoded = decode(name, inner.value, extra)
        if decoded is TOO_BIG:
            self._limit(f"decoded payload larger than {MAX_DECODED} bytes not analysed")
            return Decoded(None, True)
        return Decoded(self._keep(decoded) if isinstance(decoded, str | bytes) else None, True)


def marshalled(inner: Decoded) -> Decoded:
    """Read a literal marshalled code object's names and constants, never unmarshalling it."""
    from modeltrust._scanners._marshal import MarshalError, read_code

    if not isinstance(inner.value, bytes):
        return Decoded(None, True, True)
    try:
        info = read_code(inner.value)
    except MarshalError as exc:
        return Decoded(None, True, True, f"unreadable: {exc}")
    return Decoded(None, True, True, info.describe(), bool(info.dangerous()))


TOO_BIG = object()
_PERCENT = re.compile(r"%[s%]")
_SIMPLE_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "base64.b64decode": base64.b64decode, "base64.standard_b64decode": base64.b64decode,
    "base64.decodebytes": base64.decodebytes, "binascii.a2b_base64": binascii.a2b_base64,
    "base64.urlsafe_b64decode": base64.urlsafe_b64decode, "base64.b32decode": base64.b32decode,
    "base64.b16decode": base64.b16decode, "base64.b85decode": base64.b85decode,
    "base64.a85decode": base64.a85decode,
}


def preview(value: str | bytes) -> str:
    """A short, printable rendering of decoded data for evidence."""
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return f"{len(value)} bytes of binary data (starts {value[:16].hex()})"
    else:
        text = value
    text = " ".join(text.split())
    return repr(text if len(text) <= 120 else text[:117] + "...")


def _int_const(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(
            node.value, bool):
        return node.value
    return None


def _ints(node: ast.AST) -> list[int] | None:
    if not isinstance(node, ast.List | ast.Tuple) or len(node.elts) > MAX_DECODED:
        return None
    out = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, int)
           and not isinstance(e.value, bool) and 0 <= e.value < 256]
    return out if len(out) == len(node.elts) else None


def _chars(node: ast.AST) -> list[str] | None:
    """``map(chr, [..])`` or ``(chr(c) for c in [..])`` over literal code points."""
    seq: ast.AST | None = None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "map"
            and len(node.args) == 2 and isinstance(node.args[0], ast.Name)
            and node.args[0].id == "chr"):
        seq = node.args[1]
    elif (isinstance(node, ast.GeneratorExp | ast.ListComp) and len(node.generators) == 1
          and isinstance(node.elt, ast.Call) and isinstance(node.elt.func, ast.Name)
          and node.elt.func.id == "chr"):
        seq = node.generators[0].iter
    if not isinstance(seq, ast.List | ast.Tuple) or len(seq.elts) > MAX_DECODED:
        return None
    out = [chr(e.value) for e in seq.elts if isinstance(e, ast.Constant)
           and isinstance(e.value, int) and not isinstance(e.value, bool)
           and 0 <= e.value <= 0x10FFFF]
    return out if len(out) == len(seq.elts) else None


def _transcode(value: str | bytes, op: str, enc: str) -> str | bytes | None:
    key = enc.lower().replace("-", "_")
    try:
        if key in ("rot13", "rot_13") and isinstance(value, str):
            return codecs.decode(value, "rot13")
        if op == "decode" and isinstance(value, bytes) and key in ("utf_8", "utf8", "ascii",
                                                                    "latin_1", "latin1"):
            return value.decode(enc)
        if op == "encode" and isinstance(value, str) and key in ("utf_8", "utf8", "ascii",
                                                                  "latin_1", "latin1"):
            return value.encode(enc)
    except (UnicodeError, LookupError):
        return None
    return None


def decode(name: str, value: str | bytes, extra: object) -> object:
    """Apply one stdlib decoder to literal data, never producing more than MAX_DECODED."""
    data = value.encode("latin-1", "replace") if isinstance(value, str) else value
    try:
        if name == "codecs.decode":
            kind = str(extra or "utf-8").lower().replace("-", "_")
            if kind in ("rot13", "rot_13") and isinstance(value, str):
                return codecs.decode(value, "rot13")
            name = {"base64": "base64.b64decode", "base_64": "base64.b64decode",
                    "base64_codec": "base64.b64decode", "hex": "binascii.unhexlify",
                    "hex_codec": "binascii.unhexlify", "zlib": "zlib.decompress",
                    "zip": "zlib.decompress", "zlib_codec": "zlib.decompress",
                    "bz2": "bz2.decompress", "bz2_codec": "bz2.decompress"}.get(kind, "")
        elif name == "codecs.encode":  # rot13 is its own inverse
            kind = str(extra or "").lower().replace("-", "_")
            if kind in ("rot13", "rot_13") and isinstance(value, str):
                return codecs.encode(value, "rot13")
            return None
        if name in _SIMPLE_DECODERS:
            return _SIMPLE_DECODERS[name](data)
        if name in ("builtins.bytes.fromhex", "builtins.bytearray.fromhex", "binascii.unhexlify",
                    "binascii.a2b_hex"):
            return binascii.unhexlify(b"".join(data.split()))
        if name in ("zlib.decompress", "gzip.decompress"):
            wbits = 31 if name == "gzip.decompress" else (
                extra if isinstance(extra, int) else zlib.MAX_WBITS)
            z = zlib.decompressobj(wbits)
            out = z.decompress(data, MAX_DECODED)
            return TOO_BIG if z.unconsumed_tail else out
        if name in ("bz2.decompress", "lzma.decompress"):
            dec: bz2.BZ2Decompressor | lzma.LZMADecompressor = (
                bz2.BZ2Decompressor() if name == "bz2.decompress" else lzma.LZMADecompressor())
            out = dec.decompress(data, MAX_DECODED)
            return TOO_BIG if not dec.eof and not dec.needs_input else out
    except (ValueError, TypeError, binascii.Error, zlib.error, OSError, EOFError,
            lzma.LZMAError, LookupError):
        return None
    return None
