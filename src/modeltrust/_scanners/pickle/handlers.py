"""Handlers for the opcodes the interpreter's fast loop does not inline.

Each handler mirrors the matching ``load_*`` function of CPython's unpickler, minus every
side effect: names are recorded, never imported; calls are recorded, never made. The opcode
table itself (names, protocols, argument formats) is :mod:`pickletools`'; a test checks that
every opcode it defines has a handler here or in the fast loop.
"""

from __future__ import annotations

import codecs
import pickletools
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from modeltrust._scanners.pickle.values import Container, PersistentRef, Unknown

if TYPE_CHECKING:
    from modeltrust._scanners.pickle.vm import Interpreter
    from modeltrust._source.interface import Buffer

_i4 = struct.Struct("<i").unpack_from
_u4 = struct.Struct("<I").unpack_from
_u8 = struct.Struct("<Q").unpack_from
_u2 = struct.Struct("<H").unpack_from
_BIG_INT_BYTES = 4096

Handler = Callable[["Interpreter"], None]
HANDLERS: dict[int, Handler] = {}


def _op(name: str) -> Callable[[Handler], Handler]:
    code = ord(_CODES[name])

    def deco(fn: Handler) -> Handler:
        HANDLERS[code] = fn
        return fn

    return deco


_CODES = {op.name: op.code for op in pickletools.opcodes}


# ------------------------------------------------------------------ framing, protocol
@_op("PROTO")
def _proto(vm: Interpreter) -> None:
    proto = vm._read(1)[0]
    if proto > 5:
        raise vm._fail(f"unsupported pickle protocol {proto}")
    vm.proto = proto


@_op("FRAME")
def _frame(vm: Interpreter) -> None:
    size = _u8(vm.data, vm.pos)[0]
    vm.pos += 8
    if size > len(vm.data) - vm.pos:
        raise vm._fail(f"FRAME of {size} bytes runs past the end of the data")


# ------------------------------------------------------------------ scalars
@_op("NONE")
def _none(vm: Interpreter) -> None:
    vm.stack.append(None)


@_op("NEWTRUE")
def _true(vm: Interpreter) -> None:
    vm.stack.append(True)


@_op("NEWFALSE")
def _false(vm: Interpreter) -> None:
    vm.stack.append(False)


@_op("INT")
def _int(vm: Interpreter) -> None:
    line = vm._readline()
    if line == b"00":
        vm.stack.append(False)
    elif line == b"01":
        vm.stack.append(True)
    else:
        vm.stack.append(_parse_int(line))


@_op("LONG")
def _long(vm: Interpreter) -> None:
    line = vm._readline()
    if line.endswith(b"L"):
        line = line[:-1]
    vm.stack.append(_parse_int(line))


def _parse_int(text: bytes) -> int | Unknown:
    if len(text) > _BIG_INT_BYTES:
        return Unknown("large integer")
    return int(text, 0)


def _long_bytes(vm: Interpreter, n: int) -> None:
    if n < 0:
        raise vm._fail("LONG pickle has negative byte count")
    if n > _BIG_INT_BYTES:
        vm.skip(n)
        vm.stack.append(Unknown("large integer"))
        return
    vm.stack.append(int.from_bytes(vm._read(n), "little", signed=True))


@_op("LONG1")
def _long1(vm: Interpreter) -> None:
    _long_bytes(vm, vm._read(1)[0])


@_op("LONG4")
def _long4(vm: Interpreter) -> None:
    n = _i4(vm.data, vm.pos)[0]
    vm.pos += 4
    _long_bytes(vm, n)


@_op("FLOAT")
def _float(vm: Interpreter) -> None:
    vm.stack.append(float(vm._readline()))


# ------------------------------------------------------------------ strings and bytes
def _count(vm: Interpreter, unpack: Callable[[Buffer, int], tuple[int]], width: int) -> int:
    """Read a little-endian length operand of ``width`` bytes."""
    n = unpack(vm.data, vm.pos)[0]
    vm.pos += width
    return n


def _push_data(vm: Interpreter, value: str | bytes | bytearray) -> None:
    """Push a string/bytes operand; the VM checks whether it carries a hidden pickle."""
    vm.stack.append(value)
    vm.embedded(value)


def _push_sized(vm: Interpreter, n: int, what: str,
                convert: Callable[[bytes], str | bytes | bytearray]) -> None:
    """Push a length-prefixed operand; one over the string limit is stepped over unread.

    Big operands are tensor data in real pickles, and a payload can sit after one: reading
    it would cost the file's size in memory, stopping there would leave the payload unseen.
    Its value becomes opaque, so a name or argument built from it is still reported.
    """
    if n > vm.limits.max_string:
        vm.skip(n)
        vm.stack.append(Unknown(f"{what} operand of {n} bytes (not read)"))
        return
    _push_data(vm, convert(vm._read(n)))


def _latin1(raw: bytes) -> str:
    return raw.decode("latin-1")


def _utf8(raw: bytes) -> str:
    return str(raw, "utf-8", "surrogatepass")


def _same(raw: bytes) -> bytes:
    return raw


@_op("STRING")
def _string(vm: Interpreter) -> None:
    line = vm._readline()
    if len(line) >= 2 and line[0] == line[-1] and line[:1] in (b"'", b'"'):
        raw = codecs.escape_decode(line[1:-1])[0]
        _push_data(vm, raw.decode("latin-1"))
    else:
        raise vm._fail("the STRING opcode argument must be quoted")


@_op("BINSTRING")
def _binstring(vm: Interpreter) -> None:
    n = _count(vm, _i4, 4)
    if n < 0:
        raise vm._fail("BINSTRING pickle has negative byte count")
    _push_sized(vm, n, "BINSTRING", _latin1)


@_op("SHORT_BINSTRING")
def _short_binstring(vm: Interpreter) -> None:
    _push_data(vm, vm._read(vm._read(1)[0]).decode("latin-1"))


@_op("UNICODE")
def _unicode(vm: Interpreter) -> None:
    _push_data(vm, str(vm._readline(), "raw-unicode-escape"))


@_op("BINUNICODE")
def _binunicode(vm: Interpreter) -> None:
    _push_sized(vm, _count(vm, _u4, 4), "BINUNICODE", _utf8)


@_op("BINUNICODE8")
def _binunicode8(vm: Interpreter) -> None:
    _push_sized(vm, _count(vm, _u8, 8), "BINUNICODE8", _utf8)


@_op("BINBYTES")
def _binbytes(vm: Interpreter) -> None:
    _push_sized(vm, _count(vm, _u4, 4), "BINBYTES", _same)


@_op("SHORT_BINBYTES")
def _short_binbytes(vm: Interpreter) -> None:
    _push_data(vm, vm._read(vm._read(1)[0]))


@_op("BINBYTES8")
def _binbytes8(vm: Interpreter) -> None:
    _push_sized(vm, _count(vm, _u8, 8), "BINBYTES8", _same)


@_op("BYTEARRAY8")
def _bytearray8(vm: Interpreter) -> None:
    _push_sized(vm, _count(vm, _u8, 8), "BYTEARRAY8", bytearray)


@_op("NEXT_BUFFER")
def _next_buffer(vm: Interpreter) -> None:
    vm.stack.append(Unknown("out-of-band buffer"))


@_op("READONLY_BUFFER")
def _readonly_buffer(vm: Interpreter) -> None:
    vm._top()


# ------------------------------------------------------------------ containers
@_op("EMPTY_LIST")
def _empty_list(vm: Interpreter) -> None:
    vm.stack.append(Container("list"))


@_op("EMPTY_DICT")
def _empty_dict(vm: Interpreter) -> None:
    vm.stack.append(Container("dict"))


@_op("EMPTY_SET")
def _empty_set(vm: Interpreter) -> None:
    vm.stack.append(Container("set"))


@_op("EMPTY_TUPLE")
def _empty_tuple(vm: Interpreter) -> None:
    vm.stack.append(())


@_op("TUPLE1")
def _tuple1(vm: Interpreter) -> None:
    vm.stack.append((vm._pop(),))


@_op("TUPLE2")
def _tuple2(vm: Interpreter) -> None:
    b = vm._pop()
    a = vm._pop()
    vm.stack.append((a, b))


@_op("TUPLE3")
def _tuple3(vm: Interpreter) -> None:
    c = vm._pop()
    b = vm._pop()
    a = vm._pop()
    vm.stack.append((a, b, c))


@_op("TUPLE")
def _tuple(vm: Interpreter) -> None:
    vm.stack.append(tuple(vm._pop_mark()))


@_op("LIST")
def _list(vm: Interpreter) -> None:
    items = vm._pop_mark()
    c = Container("list")
    c.extend(items)
    vm.stack.append(c)


@_op("DICT")
def _dict(vm: Interpreter) -> None:
    items = vm._pop_mark()
    if len(items) % 2:
        raise vm._fail("odd number of items for DICT")
    c = Container("dict")
    c.extend(items)
    vm.stack.append(c)


@_op("FROZENSET")
def _frozenset(vm: Interpreter) -> None:
    c = Container("frozenset")
    c.extend(vm._pop_mark())
    vm.stack.append(c)


@_op("APPEND")
def _append(vm: Interpreter) -> None:
    value = vm._pop()
    vm._appends([value])


@_op("SETITEM")
def _setitem(vm: Interpreter) -> None:
    value = vm._pop()
    key = vm._pop()
    vm._setitems([key, value])


@_op("ADDITEMS")
def _additems(vm: Interpreter) -> None:
    items = vm._pop_mark()
    target = vm._top()
    vm._mutate(target, "ADDITEMS")
    if isinstance(target, Container):
        target.extend(items)


# ------------------------------------------------------------------ stack and memo
@_op("POP")
def _pop(vm: Interpreter) -> None:
    if vm.marks and vm.marks[-1] == len(vm.stack):
        vm.marks.pop()
    else:
        vm._pop()


@_op("POP_MARK")
def _pop_mark(vm: Interpreter) -> None:
    vm._pop_mark()


@_op("DUP")
def _dup(vm: Interpreter) -> None:
    vm.stack.append(vm._top())


@_op("GET")
def _get(vm: Interpreter) -> None:
    vm.stack.append(vm._memo_get(int(vm._readline())))


@_op("LONG_BINGET")
def _long_binget(vm: Interpreter) -> None:
    key = _u4(vm.data, vm.pos)[0]
    vm.pos += 4
    vm.stack.append(vm._memo_get(key))


def _put(vm: Interpreter, key: int) -> None:
    if key < 0:
        raise vm._fail("negative PUT argument")
    if key not in vm.memo and len(vm.memo) >= vm.limits.max_memo:
        from modeltrust._scanners.pickle.vm import LimitHit

        raise LimitHit(f"more than {vm.limits.max_memo} memo entries")
    vm.memo[key] = vm._top()


@_op("PUT")
def _put_text(vm: Interpreter) -> None:
    _put(vm, int(vm._readline()))


@_op("LONG_BINPUT")
def _long_binput(vm: Interpreter) -> None:
    key = _u4(vm.data, vm.pos)[0]
    vm.pos += 4
    _put(vm, key)


# ------------------------------------------------------------------ names and calls
def _text_name(vm: Interpreter) -> tuple[str, str]:
    module = vm._readline().decode("utf-8")
    name = vm._readline().decode("utf-8")
    return module, name


@_op("GLOBAL")
def _global_op(vm: Interpreter) -> None:
    module, name = _text_name(vm)
    vm.stack.append(vm._global(module, name, "GLOBAL"))


@_op("STACK_GLOBAL")
def _stack_global(vm: Interpreter) -> None:
    name = vm._pop()
    module = vm._pop()
    if isinstance(module, str) and isinstance(name, str):
        vm.stack.append(vm._global(module, name, "STACK_GLOBAL"))
        return
    from modeltrust._scanners.pickle.vm import Anomaly

    vm.res.anomalies.append(
        Anomaly("computed-global", vm.op_pos,
                f"STACK_GLOBAL at offset {vm.op_pos:#x} takes its module/name from values "
                f"computed at load time ({module!r}, {name!r}), not from string literals")
    )
    mod = module if isinstance(module, str) else "<computed>"
    nm = name if isinstance(name, str) else "<computed>"
    vm.stack.append(vm._global(mod, nm, "STACK_GLOBAL", dynamic=True))


@_op("INST")
def _inst(vm: Interpreter) -> None:
    module, name = _text_name(vm)
    args = tuple(vm._pop_mark())
    cls = vm._global(module, name, "INST")
    vm.stack.append(vm._call(cls, args, "INST"))


@_op("OBJ")
def _obj(vm: Interpreter) -> None:
    items = vm._pop_mark()
    if not items:
        raise vm._fail("OBJ without a class on the stack")
    vm.stack.append(vm._call(items[0], tuple(items[1:]), "OBJ"))


@_op("REDUCE")
def _reduce(vm: Interpreter) -> None:
    args = vm._pop()
    func = vm._pop()
    vm.stack.append(vm._call(func, args, "REDUCE"))


@_op("NEWOBJ")
def _newobj(vm: Interpreter) -> None:
    args = vm._pop()
    cls = vm._pop()
    vm.stack.append(vm._call(cls, args, "NEWOBJ"))


@_op("NEWOBJ_EX")
def _newobj_ex(vm: Interpreter) -> None:
    kwargs = vm._pop()
    args = vm._pop()
    cls = vm._pop()
    vm.stack.append(vm._call(cls, (args, kwargs), "NEWOBJ_EX"))


@_op("BUILD")
def _build(vm: Interpreter) -> None:
    vm._build()


def _ext(vm: Interpreter, code: int) -> None:
    import copyreg

    from modeltrust._scanners.pickle.vm import Anomaly

    if code <= 0:
        raise vm._fail("EXT specifies code <= 0")
    registry: dict[int, tuple[str, str]] = getattr(copyreg, "_inverted_registry", {})
    known = registry.get(code)
    vm.res.anomalies.append(
        Anomaly("extension-code", vm.op_pos,
                f"EXT opcode at offset {vm.op_pos:#x} names extension code {code}, resolved "
                "through the loading process's copyreg registry"
                + (f" (here: {known[0]}.{known[1]})" if known else " (unregistered here)"))
    )
    if known:
        vm.stack.append(vm._global(known[0], known[1], "EXT"))
    else:
        vm.stack.append(vm._global("<copyreg-extension>", str(code), "EXT", dynamic=True))


@_op("EXT1")
def _ext1(vm: Interpreter) -> None:
    _ext(vm, vm._read(1)[0])


@_op("EXT2")
def _ext2(vm: Interpreter) -> None:
    _ext(vm, _u2(vm._read(2), 0)[0])


@_op("EXT4")
def _ext4(vm: Interpreter) -> None:
    _ext(vm, _i4(vm._read(4), 0)[0])


@_op("PERSID")
def _persid(vm: Interpreter) -> None:
    pid = vm._readline().decode("ascii")
    vm.res.persistent_ids += 1
    vm.stack.append(PersistentRef(pid))


@_op("BINPERSID")
def _binpersid(vm: Interpreter) -> None:
    pid = vm._pop()
    vm.res.persistent_ids += 1
    vm.stack.append(PersistentRef(pid))

