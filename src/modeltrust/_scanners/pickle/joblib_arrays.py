"""Size the raw array data joblib writes inline after a ``NumpyArrayWrapper``.

joblib's unpickler reads an array's bytes straight from the file right after the wrapper's
BUILD opcode, so a pickle stream written by ``joblib.dump`` is opcodes, raw data, opcodes...
To keep interpreting we must skip exactly the bytes joblib would read, computed from the
wrapper's recorded state (shape, dtype, alignment) — never by loading numpy.
"""

from __future__ import annotations

import re
from typing import Any

from modeltrust._scanners.pickle.values import Call, Container, Global

_TYPESTR = re.compile(r"^[<>|=]?([a-zA-Z])(\d*)")
_MAX_BYTES = 1 << 50


def array_layout(state: Any) -> tuple[bool, int, bool] | None:
    """Return ``(has_object, nbytes, padded)`` for a wrapper state, or None if unknowable."""
    fields = _dict_items(state)
    if fields is None:
        return None
    shape = fields.get("shape")
    dtype = fields.get("dtype")
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        return None
    info = _dtype_info(dtype)
    if info is None:
        return None
    has_object, itemsize = info
    count = 1
    for d in shape:
        count *= d
        if count > _MAX_BYTES:
            return None
    padded = fields.get("numpy_array_alignment_bytes") is not None and (
        "numpy_array_alignment_bytes" in fields
    )
    return has_object, count * itemsize, padded


def _dict_items(state: Any) -> dict[str, Any] | None:
    if not isinstance(state, Container) or state.kind != "dict":
        return None
    items = state.preview
    out: dict[str, Any] = {}
    for i in range(0, len(items) - 1, 2):
        if isinstance(items[i], str):
            out[items[i]] = items[i + 1]
    return out


def _dtype_info(dtype: Any) -> tuple[bool, int] | None:
    if not isinstance(dtype, Call) or not isinstance(dtype.func, Global):
        return None
    if dtype.func.name != "dtype" or not dtype.func.module.startswith("numpy"):
        return None
    args = dtype.args
    if not isinstance(args, tuple) or not args or not isinstance(args[0], str):
        return None
    m = _TYPESTR.match(args[0])
    if m is None:
        return None
    kind, digits = m.group(1), m.group(2)
    state = dtype.state
    flags = 0
    elsize = -1
    if isinstance(state, tuple) and len(state) >= 8:
        elsize = state[5] if isinstance(state[5], int) else -1
        flags = state[7] if isinstance(state[7], int) else 0
    has_object = kind == "O" or bool(flags & 1)
    if elsize > 0:
        return has_object, elsize
    if digits:
        return has_object, int(digits)
    if kind in ("b", "B", "?"):
        return has_object, 1
    return None
