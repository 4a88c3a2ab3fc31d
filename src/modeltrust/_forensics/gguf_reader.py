"""GGUF tensors via the ``gguf`` package: memory-mapped, dequantised one tensor at a time.

``GGUFReader`` parses the header and maps the file; it executes nothing. Quantised types
(Q8_0, Q4_0, Q4_1, Q5_x, the K-quants...) are dequantised with ``gguf.quants.dequantize``;
a type the installed package cannot dequantise is reported, not guessed.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

from modeltrust._forensics.tensors import (
    BYTES_PER,
    ByteArray,
    FloatArray,
    TensorRef,
    map_range,
    to_float32,
)

FLOAT_TYPES = {"F32": "F32", "F16": "F16", "BF16": "BF16", "F64": "F64"}
"""GGUF float types and their safetensors spelling (stored values are exact)."""


def read_gguf(path: Path, shown: str, problems: list[str]) -> list[TensorRef]:
    """The tensors of a GGUF file; unreadable files and types become problem strings."""
    try:
        from gguf import GGUFReader
    except ImportError:
        problems.append(f"{shown}: install modeltrust[formats] to read GGUF tensors")
        return []
    try:
        reader = GGUFReader(path)
    except (ValueError, KeyError, IndexError, OSError, TypeError, AssertionError,
            OverflowError, struct.error) as exc:
        problems.append(f"{shown}: unreadable GGUF file: {type(exc).__name__}: {exc}"[:300])
        return []
    size = path.stat().st_size
    out: list[TensorRef] = []
    for t in reader.tensors:
        shape = tuple(int(d) for d in reversed([int(x) for x in t.shape]))
        qtype = t.tensor_type
        if int(t.data_offset) + int(t.n_bytes) > size:
            problems.append(f"{shown}: tensor {t.name!r} data runs past the end of the file")
            continue
        out.append(_ref(path, shown, str(t.name), qtype, shape, int(t.data_offset),
                        int(t.n_bytes)))
    del reader
    return out


def _ref(path: Path, shown: str, name: str, qtype: Any, shape: tuple[int, ...],
         offset: int, length: int) -> TensorRef:
    """A lazy tensor mapping only its own bytes, so nothing stays mapped between tensors."""
    dtype = FLOAT_TYPES.get(qtype.name, qtype.name)

    def raw() -> ByteArray:
        return map_range(path, offset, length)

    def decode(data: ByteArray) -> FloatArray:
        if dtype in BYTES_PER:
            return to_float32(data, dtype, shape)
        from gguf.quants import dequantize, quant_shape_to_byte_shape

        blocks = data.reshape(quant_shape_to_byte_shape(shape, qtype))
        values = dequantize(blocks, qtype)
        return np.ascontiguousarray(values, dtype=np.float32).reshape(shape)

    return TensorRef(name, dtype, shape, shown, raw, decode)
