"""Build pickle byte streams opcode by opcode, for tests.

Malicious samples call real dangerous functions but with a harmless marker command
(``touch <path>``); the canary test asserts the marker never appears after scanning.
Nothing here ever unpickles.
"""

from __future__ import annotations

import struct

MARKER = "/tmp/modeltrust-test-marker-DO-NOT-CREATE"
MARKER_CMD = f"touch {MARKER}"


def proto(n: int = 4) -> bytes:
    return b"\x80" + bytes([n])


def sbu(s: str) -> bytes:
    """SHORT_BINUNICODE (protocol 4)."""
    raw = s.encode()
    assert len(raw) < 256
    return b"\x8c" + bytes([len(raw)]) + raw


def binunicode(s: str) -> bytes:
    raw = s.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def string0(s: str) -> bytes:
    """Protocol 0 STRING."""
    return b"S'" + s.encode("unicode_escape").replace(b"'", b"\\'") + b"'\n"


def global0(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def stack_global(module: str, name: str) -> bytes:
    return sbu(module) + sbu(name) + b"\x93"


def call1(callable_ops: bytes, arg_ops: bytes) -> bytes:
    """callable(arg) via TUPLE1 + REDUCE."""
    return callable_ops + arg_ops + b"\x85R"


def stop() -> bytes:
    return b"."


def system_call_p0(cmd: str = MARKER_CMD, module: str = "os") -> bytes:
    """Protocol 0: ``os.system(cmd)`` with GLOBAL, no PROTO opcode."""
    return global0(module, "system") + b"(" + string0(cmd) + b"tR."


def system_call_p4(cmd: str = MARKER_CMD) -> bytes:
    return proto(4) + call1(stack_global("os", "system"), sbu(cmd)) + stop()


def binint1(n: int) -> bytes:
    return b"K" + bytes([n])


def binput(i: int) -> bytes:
    return b"q" + bytes([i])


def binget(i: int) -> bytes:
    return b"h" + bytes([i])


MEMOIZE = b"\x94"
MARK = b"("
TUPLE = b"t"
REDUCE = b"R"
BUILD = b"b"
NEWOBJ = b"\x81"
EMPTY_TUPLE = b")"
EMPTY_DICT = b"}"
EMPTY_LIST = b"]"
SETITEM = b"s"
POP = b"0"
NONE = b"N"
