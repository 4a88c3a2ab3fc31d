"""A symbolic pickle interpreter: CPython's unpickler semantics, none of its effects.

The interpreter walks the opcode stream (opcode meanings and argument formats from
:mod:`pickletools`) with a stack, a mark stack and a memo that behave exactly like
``_pickle.c`` (MEMOIZE stores at ``len(memo)``, POP may pop a mark, popping below the
current mark is an underflow...). Instead of importing or calling anything it records every
callable the stream names and every call it would make, as symbolic values.

The decoding loop is hand-written over a bytes-like buffer rather than driven by
``pickletools.genops``: it allocates nothing per opcode for plain data, which keeps a scan of
millions of opcodes fast and its memory a small fraction of the pickle's size.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import struct
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from modeltrust._scanners.pickle.values import Call, Container, Global, Unknown
from modeltrust._source.interface import Buffer, Limits

_u2 = struct.Struct("<H").unpack_from
_i4 = struct.Struct("<i").unpack_from
_u4 = struct.Struct("<I").unpack_from
_u8 = struct.Struct("<Q").unpack_from
_f8 = struct.Struct(">d").unpack_from

_BIG_INT_BYTES = 4096
"""LONG1/LONG4 operands larger than this are not decoded (only the magic number matters)."""
_TIME_CHECK = 1 << 16


class PickleError(Exception):
    """The stream is malformed where CPython's unpickler would also fail."""


@dataclass
class Reference:
    """Everything seen about one callable name within a stream."""

    module: str
    name: str
    offset: int
    opcode: str
    count: int = 0
    invoked: bool = False
    call_offset: int | None = None
    call_opcode: str = ""
    call_args: Any = None
    dynamic: bool = False


class Anomaly(NamedTuple):
    """A structural trick: computed operands, mutation of imported objects, etc."""

    kind: str
    offset: int
    message: str


class NestedPayload(NamedTuple):
    """Bytes handed to a deserialiser by the stream (``pickle.loads(b'...')``)."""

    offset: int
    loader: str
    payload: bytes


@dataclass
class RunResult:
    """The outcome of interpreting one pickle (up to its STOP)."""

    start: int
    end: int = 0
    protocol: int = 0
    opcodes: int = 0
    stopped: bool = False
    error: str | None = None
    error_offset: int | None = None
    limit: str | None = None
    value: Any = None
    refs: dict[tuple[str, str], Reference] = field(default_factory=dict)
    anomalies: list[Anomaly] = field(default_factory=list)
    nested: list[NestedPayload] = field(default_factory=list)
    persistent_ids: int = 0
    joblib_arrays: int = 0
    embedded: list[NestedPayload] = field(default_factory=list)


class LimitHit(Exception):
    """A configured bound was reached; the message says which."""


# Callables whose first positional argument is a serialized payload we can scan.
LOADERS = frozenset({
    ("pickle", "loads"), ("_pickle", "loads"), ("pickle", "_loads"), ("cPickle", "loads"),
    ("dill", "loads"), ("dill._dill", "loads"), ("cloudpickle", "loads"),
    ("torch.serialization", "_load_from_bytes"), ("torch.storage", "_load_from_bytes"),
    ("joblib", "loads"), ("numpy", "loads"), ("pickle", "Unpickler"),
})
# Pure byte-producing functions we may evaluate on symbolic arguments to recover payloads.
_CODECS_ENCODE = frozenset({("_codecs", "encode"), ("codecs", "encode")})
_WRAPPERS = frozenset({("joblib.numpy_pickle", "NumpyArrayWrapper")})
_COPYREG_INVOKERS = frozenset({("copyreg", "_reconstructor"), ("copyreg", "__newobj__"),
                               ("copyreg", "__newobj_ex__"), ("copy_reg", "_reconstructor")})


class Interpreter:
    """Interprets one pickle stream starting at ``start`` inside ``data``."""

    def __init__(self, data: Buffer, limits: Limits, deadline: float | None = None, depth: int = 0):
        self.data = data
        self.limits = limits
        self.deadline = deadline
        self.depth = depth

    # ----------------------------------------------------------------- driver
    def run(self, start: int) -> RunResult:
        """Interpret from ``start`` to the first STOP (or error / limit)."""
        res = RunResult(start=start)
        self.res = res
        self.stack: list[Any] = []
        self.marks: list[int] = []
        self.memo: dict[int, Any] = {}
        self.proto = 0
        self.pos = start
        self.op_pos = start
        try:
            self._loop(start)
        except PickleError as exc:
            res.error = str(exc)
        except LimitHit as exc:
            res.limit = str(exc)
        except (IndexError, struct.error):
            res.error = "pickle data was truncated"
        except (ValueError, UnicodeDecodeError, OverflowError) as exc:
            res.error = f"invalid operand: {exc}"
        if res.error is not None and res.error_offset is None:
            res.error_offset = self.op_pos
        res.end = self.pos
        res.protocol = self.proto
        return res

    def _fail(self, msg: str) -> PickleError:
        return PickleError(msg)

    # ------------------------------------------------------------- the loop
    def _loop(self, pos: int) -> None:  # noqa: C901 - one dispatch loop, kept flat for speed
        data = self.data
        end = len(data)
        stack = self.stack
        push = stack.append
        marks = self.marks
        memo = self.memo
        res = self.res
        limits = self.limits
        max_ops = limits.max_opcodes
        n_ops = 0
        next_check = _TIME_CHECK
        op_pos = pos
        try:
            while True:
                if pos >= end:
                    break
                op = data[pos]
                op_pos = pos
                pos += 1
                n_ops += 1
                if n_ops >= next_check:
                    next_check += _TIME_CHECK
                    self._checkpoint(n_ops, max_ops)
                # Plain data first: these dominate large benign pickles.
                if op == 0x4B:  # BININT1
                    push(data[pos])
                    pos += 1
                elif op == 0x47:  # BINFLOAT
                    push(_f8(data, pos)[0])
                    pos += 8
                elif op == 0x4A:  # BININT
                    push(_i4(data, pos)[0])
                    pos += 4
                elif op == 0x4D:  # BININT2
                    push(_u2(data, pos)[0])
                    pos += 2
                elif op == 0x71:  # BINPUT
                    if len(stack) <= (marks[-1] if marks else 0):
                        raise self._fail("stack underflow (empty stack where a value is needed)")
                    memo[data[pos]] = stack[-1]
                    pos += 1
                elif op == 0x94:  # MEMOIZE
                    if len(stack) <= (marks[-1] if marks else 0):
                        raise self._fail("stack underflow (empty stack where a value is needed)")
                    n = len(memo)
                    if n >= limits.max_memo:
                        raise LimitHit(f"more than {limits.max_memo} memo entries")
                    memo[n] = stack[-1]
                elif op == 0x28:  # MARK
                    marks.append(len(stack))
                elif op == 0x65:  # APPENDS
                    self.op_pos = op_pos
                    self._appends(self._pop_mark())
                elif op == 0x75:  # SETITEMS
                    self.op_pos = op_pos
                    self._setitems(self._pop_mark())
                elif op == 0x68:  # BINGET
                    key = data[pos]
                    pos += 1
                    try:
                        push(memo[key])
                    except KeyError:
                        raise self._fail(
                            f"memo key {key} not found (GET of an unset memo entry)") from None
                elif op == 0x8C:  # SHORT_BINUNICODE
                    n = data[pos]
                    pos += 1
                    if pos + n > end:
                        raise IndexError
                    push(str(data[pos : pos + n], "utf-8", "surrogatepass"))
                    if n > 23 and data[pos] in _EMBED_FIRST:
                        self.op_pos = op_pos
                        self.embedded(stack[-1])
                    pos += n
                elif op == 0x2E:  # STOP
                    self.op_pos = op_pos
                    self.pos = pos
                    res.value = self._pop()
                    res.stopped = True
                    res.opcodes = n_ops
                    return
                else:
                    self.op_pos = op_pos
                    self.pos = pos
                    handler = _HANDLERS.get(op)
                    if handler is None:
                        raise self._fail(f"invalid opcode 0x{op:02x}")
                    handler(self)
                    pos = self.pos
        finally:
            self.op_pos = op_pos
            if self.pos < pos:
                self.pos = pos
            res.opcodes = n_ops
        self.pos = pos
        raise self._fail("pickle data ended without a STOP opcode")

    def _checkpoint(self, n_ops: int, max_ops: int) -> None:
        if n_ops > max_ops:
            raise LimitHit(f"more than {max_ops} opcodes")
        if len(self.stack) > self.limits.max_stack:
            raise LimitHit(f"stack deeper than {self.limits.max_stack} items")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise LimitHit("time budget for this file exhausted")

    # ----------------------------------------------------------- stack tools
    def _need(self, n: int) -> None:
        if self.pos + n > len(self.data):
            raise IndexError

    def _fence(self) -> int:
        return self.marks[-1] if self.marks else 0

    def _top(self) -> Any:
        if len(self.stack) <= self._fence():
            raise self._fail("stack underflow (empty stack where a value is needed)")
        return self.stack[-1]

    def _pop(self) -> Any:
        if len(self.stack) <= self._fence():
            raise self._fail("stack underflow (empty stack where a value is needed)")
        return self.stack.pop()

    def _pop_mark(self) -> list[Any]:
        if not self.marks:
            raise self._fail("could not find MARK")
        k = self.marks.pop()
        items = self.stack[k:]
        del self.stack[k:]
        return items

    def _memo_get(self, key: int) -> Any:
        try:
            return self.memo[key]
        except KeyError:
            raise self._fail(f"memo key {key} not found (GET of an unset memo entry)") from None

    def _read(self, n: int) -> bytes:
        pos = self.pos
        if n < 0 or pos + n > len(self.data):
            raise IndexError
        self.pos = pos + n
        return bytes(self.data[pos : pos + n])

    def _readline(self) -> bytes:
        pos = self.pos
        limit = min(len(self.data), pos + self.limits.max_string)
        nl = self.data.find(b"\n", pos, limit)
        if nl < 0:
            if limit < len(self.data):
                raise LimitHit(f"text operand longer than {self.limits.max_string} bytes")
            raise IndexError
        self.pos = nl + 1
        return bytes(self.data[pos:nl])

    def skip(self, n: int) -> None:
        """Step over ``n`` operand bytes without reading them (they must exist)."""
        if n < 0 or self.pos + n > len(self.data):
            raise IndexError
        self.pos += n

    # -------------------------------------------------------- container ops
    def _appends(self, items: list[Any]) -> None:
        target = self._top()
        self._mutate(target, "APPENDS")
        if isinstance(target, Container):
            target.extend(items)
        elif isinstance(target, Call):
            target.items += len(items)

    def _setitems(self, items: list[Any]) -> None:
        if len(items) % 2:
            raise self._fail("odd number of items for SETITEMS")
        target = self._top()
        self._mutate(target, "SETITEMS")
        if isinstance(target, Container):
            target.extend(items)
        elif isinstance(target, Call):
            target.items += len(items) // 2

    def _mutate(self, target: Any, opcode: str) -> None:
        """Flag writes into objects the pickle did not create (module dicts, classes)."""
        if isinstance(target, Global):
            self.res.anomalies.append(
                Anomaly("mutate-global", self.op_pos,
                        f"{opcode} at offset {self.op_pos:#x} writes into imported object "
                        f"{target.qualname} (named via {target.opcode} at {target.offset:#x})")
            )

    # ------------------------------------------------------------ callables
    def _global(self, module: str, name: str, opcode: str, dynamic: bool = False) -> Global:
        if self.proto < 3:
            module, name = _fix_imports(module, name)
        g = Global(module, name, self.op_pos, opcode, dynamic)
        ref = self.res.refs.get((module, name))
        if ref is None:
            ref = Reference(module, name, self.op_pos, opcode, dynamic=dynamic)
            self.res.refs[(module, name)] = ref
        ref.count += 1
        return g

    def _call(self, func: Any, args: Any, opcode: str) -> Call:
        call = Call(func, args, self.op_pos, opcode)
        if isinstance(func, Global):
            self._invoked(func, args, opcode)
            key = (func.module, func.name)
            if key in _COPYREG_INVOKERS and isinstance(args, tuple):
                for a in args[:2]:
                    if isinstance(a, Global):
                        self._invoked(a, args, f"{opcode} via {func.qualname}")
            if key in LOADERS or (func.name in ("loads", "load") and func.module in
                                  ("pickle", "_pickle", "dill", "cloudpickle", "joblib")):
                self._nested(func, args)
        else:
            what = type(func).__name__ if not isinstance(func, Call) else f"result of {func!r}"
            self.res.anomalies.append(
                Anomaly("call-computed", self.op_pos,
                        f"{opcode} at offset {self.op_pos:#x} calls a value computed at load "
                        f"time ({what}), not a named callable")
            )
        return call

    def _invoked(self, g: Global, args: Any, opcode: str) -> None:
        ref = self.res.refs[(g.module, g.name)]
        if not ref.invoked:
            ref.invoked = True
            ref.call_offset = self.op_pos
            ref.call_opcode = opcode
            ref.call_args = args

    def embedded(self, value: str | bytes | bytearray) -> None:
        """Remember data operands that look like a serialized pickle (a hidden stage)."""
        if len(self.res.embedded) >= self.limits.max_nested_pickles:
            return
        payload, how = _embedded_pickle(value)
        if payload is not None:
            self.res.embedded.append(NestedPayload(self.op_pos, how, payload))

    def _nested(self, func: Global, args: Any) -> None:
        if not isinstance(args, tuple) or not args:
            return
        payload = _as_bytes(args[0])
        if payload is None or len(self.res.nested) >= self.limits.max_nested_pickles:
            return
        self.res.nested.append(NestedPayload(self.op_pos, func.qualname, payload))

    def _build(self) -> None:
        state = self._pop()
        target = self._top()
        if isinstance(target, Global):
            self.res.anomalies.append(
                Anomaly("mutate-global", self.op_pos,
                        f"BUILD at offset {self.op_pos:#x} sets state "
                        f"{_keys_preview(state)} on imported object {target.qualname} "
                        f"(named via {target.opcode} at {target.offset:#x})")
            )
        elif isinstance(target, Call):
            target.state = state
            func = target.func
            if isinstance(func, Global) and (func.module, func.name) in _WRAPPERS:
                self._skip_joblib_array(target)

    def _skip_joblib_array(self, wrapper: Call) -> None:
        """Joblib writes raw array bytes (or a nested pickle) right after the wrapper."""
        from modeltrust._scanners.pickle.joblib_arrays import array_layout

        layout = array_layout(wrapper.state)
        if layout is None:
            raise self._fail("joblib array wrapper with a state that cannot be sized")
        has_object, nbytes, padded = layout
        self.res.joblib_arrays += 1
        if has_object:
            if self.depth >= 8:
                raise LimitHit("joblib object arrays nested too deeply")
            sub = Interpreter(self.data, self.limits, self.deadline, self.depth + 1)
            inner = sub.run(self.pos)
            _merge(self.res, inner)
            if not inner.stopped:
                raise self._fail(f"nested joblib object-array pickle broken: {inner.error}")
            self.pos = inner.end
        else:
            if padded:
                pad = self._read(1)[0]
                self._read(pad)
            self._need(nbytes)
            self.pos += nbytes
        # The loader replaces the wrapper on the stack by the array it read.
        self.stack[-1] = Unknown("ndarray")


def _merge(outer: RunResult, inner: RunResult) -> None:
    for key, ref in inner.refs.items():
        mine = outer.refs.get(key)
        if mine is None:
            outer.refs[key] = ref
        else:
            mine.count += ref.count
            if ref.invoked and not mine.invoked:
                mine.invoked, mine.call_offset = True, ref.call_offset
                mine.call_opcode, mine.call_args = ref.call_opcode, ref.call_args
    outer.anomalies.extend(inner.anomalies)
    outer.nested.extend(inner.nested)
    outer.embedded.extend(inner.embedded)
    outer.opcodes += inner.opcodes
    outer.joblib_arrays += inner.joblib_arrays
    outer.persistent_ids += inner.persistent_ids


def _fix_imports(module: str, name: str) -> tuple[str, str]:
    """Map Python 2 names the way ``Unpickler(fix_imports=True)`` does for protocol < 3."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return module, name


def _as_bytes(value: Any) -> bytes | None:
    """Recover literal bytes from a symbolic value when it is plainly computable."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, Call) and isinstance(value.func, Global):
        key = (value.func.module, value.func.name)
        args = value.args if isinstance(value.args, tuple) else ()
        if key in _CODECS_ENCODE and args and isinstance(args[0], str):
            enc = args[1] if len(args) > 1 and isinstance(args[1], str) else "utf-8"
            try:
                out = codecs.encode(args[0], enc)
            except (LookupError, ValueError, TypeError):
                return None
            return out if isinstance(out, bytes) else None
        if key in (("builtins", "bytes"), ("builtins", "bytearray")) and args:
            inner = args[0]
            if isinstance(inner, bytes):
                return inner
            if isinstance(inner, str) and len(args) > 1 and isinstance(args[1], str):
                try:
                    return inner.encode(args[1])
                except (LookupError, ValueError):
                    return None
        if key == ("builtins", "bytes.fromhex") and args and isinstance(args[0], str):
            try:
                return bytes.fromhex(args[0])
            except ValueError:
                return None
        if key in (("base64", "b64decode"), ("base64", "standard_b64decode")) and args:
            import base64
            import binascii

            src = args[0]
            if isinstance(src, str | bytes):
                try:
                    return base64.b64decode(src)
                except (binascii.Error, ValueError):
                    return None
    return None


_EMBED_FIRST = frozenset(b"g8c(\xc2")
_PICKLE_HEAD = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
_MAX_EMBED = 16 * 1024 * 1024


def _embedded_pickle(value: str | bytes | bytearray) -> tuple[bytes | None, str]:
    """Decode ``value`` as a pickle carried in data (raw, base64 or hex), if it is one."""
    import base64
    import binascii

    if len(value) > _MAX_EMBED or len(value) < 16:
        return None, ""
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
        return (raw, "raw bytes") if _pickle_like(raw) else (None, "")
    text = value.strip()
    if text.startswith("\x80"):
        raw = text.encode("latin-1", "replace")
        return (raw, "latin-1 text") if _pickle_like(raw) else (None, "")
    if text.startswith("gA"):
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None, ""
        return (raw, "base64 text") if _pickle_like(raw) else (None, "")
    if text[:2] == "80" and len(text) % 2 == 0:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            return None, ""
        return (raw, "hex text") if _pickle_like(raw) else (None, "")
    if text[:1] in ("c", "(") and "\n" in text and text.endswith("."):
        raw = text.encode("latin-1", "replace")
        return (raw, "protocol-0 text") if _pickle_like(raw) else (None, "")
    return None, ""


def _pickle_like(raw: bytes) -> bool:
    if raw.startswith(_PICKLE_HEAD):
        return raw.rstrip(b"\x00").endswith(b".")
    return raw[:1] in (b"c", b"(") and raw.endswith(b".") and b"\n" in raw[:200]


def _keys_preview(state: Any) -> str:
    if isinstance(state, Container) and state.kind == "dict":
        keys = [repr(k) for k in state.preview[0::2][:6]]
        return "{" + ", ".join(keys) + (", ..." if state.count > 6 else "") + "}"
    if isinstance(state, tuple):
        return "(" + ", ".join(_keys_preview(s) for s in state[:2]) + ")"
    return type(state).__name__


from modeltrust._scanners.pickle.handlers import HANDLERS as _HANDLERS  # noqa: E402
