"""Symbolic values the pickle interpreter pushes instead of real objects.

Nothing here ever becomes a live object: a ``Global`` is just a (module, name) pair, a
``Call`` records what would have been called with which arguments. Containers keep only a
bounded preview of their items so memory stays proportional to what matters for analysis,
not to the size of the data.
"""

from __future__ import annotations

from typing import Any

PREVIEW_ITEMS = 64
"""Items kept per container; enough for evidence and for BUILD/SETITEM key checks."""


class Global:
    """A callable or attribute named by GLOBAL, STACK_GLOBAL, INST or EXT."""

    __slots__ = ("module", "name", "offset", "opcode", "dynamic")

    def __init__(self, module: str, name: str, offset: int, opcode: str, dynamic: bool = False):
        self.module = module
        self.name = name
        self.offset = offset
        self.opcode = opcode
        self.dynamic = dynamic

    @property
    def qualname(self) -> str:
        """``module.name`` as a user would write it."""
        return f"{self.module}.{self.name}"

    def __repr__(self) -> str:
        return self.qualname


class Call:
    """The result of invoking ``func`` (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST)."""

    __slots__ = ("func", "args", "offset", "opcode", "state", "items")

    def __init__(self, func: Any, args: Any, offset: int, opcode: str):
        self.func = func
        self.args = args
        self.offset = offset
        self.opcode = opcode
        self.state: Any = None
        self.items = 0

    def __repr__(self) -> str:
        return f"{self.func!r}{_args_preview(self.args)}"


class Container:
    """A list, dict, set, frozenset or bytearray built by the pickle."""

    __slots__ = ("kind", "preview", "count")

    def __init__(self, kind: str, preview: list[Any] | None = None, count: int = 0):
        self.kind = kind
        self.preview: list[Any] = preview if preview is not None else []
        self.count = count

    def extend(self, items: list[Any]) -> None:
        """Record appended items, keeping only the first few."""
        room = PREVIEW_ITEMS - len(self.preview)
        if room > 0:
            self.preview.extend(items[:room])
        self.count += len(items)

    def __repr__(self) -> str:
        inner = ", ".join(preview(v, 40) for v in self.preview[:8])
        more = ", ..." if self.count > 8 else ""
        if self.kind == "dict":
            return f"{{{inner}{more}}}"
        return f"{self.kind}[{inner}{more}]"


class PersistentRef:
    """An object the loader's ``persistent_load`` supplies (torch storages)."""

    __slots__ = ("pid",)

    def __init__(self, pid: Any):
        self.pid = pid

    def __repr__(self) -> str:
        return f"persistent_id({preview(self.pid, 80)})"


class Unknown:
    """A value the interpreter cannot or need not know (big data, buffers...)."""

    __slots__ = ("what",)

    def __init__(self, what: str):
        self.what = what

    def __repr__(self) -> str:
        return f"<{self.what}>"


def preview(value: Any, limit: int = 120) -> str:
    """A short, safe ``repr`` of a symbolic value for evidence strings."""
    if isinstance(value, str | bytes | bytearray) and len(value) > limit:
        text = repr(value[:limit])
        return f"{text}... ({len(value)} chars)"
    text = _args_preview(value) if isinstance(value, tuple) else repr(value)
    if len(text) > limit:
        return text[: limit - 3] + "..."
    return text


def _args_preview(args: Any) -> str:
    if isinstance(args, tuple):
        inner = ", ".join(preview(a, 80) for a in args[:6])
        if len(args) > 6:
            inner += ", ..."
        if len(args) == 1:
            inner += ","
        return f"({inner})"
    return preview(args, 120)
