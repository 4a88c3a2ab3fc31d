"""Is a delta no larger than the rounding of the derived tensor's number grid?

Quantisation moves every weight to the nearest point of a grid: a GGUF block's scale, a
narrower float format's spacing, or an int8/int4 scale per row, per block or per tensor
("fake-quantised" weights stored as floats). A delta within half a grid step everywhere is
what quantisation does; anything larger is an edit, whatever the storage format.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from modeltrust._forensics.tensors import FloatArray, TensorRef

BLOCK = 32
INSIDE = 0.999
"""Fraction of elements that must lie within the tolerance (clamped outliers are allowed)."""
SLACK = 1.02
"""Tolerance on half a step (the scales are themselves rounded to fp16)."""

LEGACY_BLOCKS = {"Q8_0": 34, "Q4_0": 18, "Q4_1": 20, "Q5_0": 22, "Q5_1": 24}
"""GGUF block types whose first fp16 is the step of 32 weights, and their block bytes."""
LEVELS = {"Q2_K": 3, "Q3_K": 7, "Q4_K": 15, "Q5_K": 31, "Q6_K": 63, "Q8_K": 255,
          "IQ4_NL": 15, "IQ4_XS": 15, "IQ3_S": 7, "IQ3_XXS": 7, "IQ2_S": 3, "IQ2_XS": 3,
          "IQ2_XXS": 3, "IQ1_S": 2, "IQ1_M": 2, "TQ1_0": 2, "TQ2_0": 3, "MXFP4": 15}
"""Grid levels per block for GGUF types whose scales are nested (step estimated per block)."""
MANTISSA = {"F16": (10, 2.0**-24), "BF16": (7, 2.0**-133), "F8_E4M3": (3, 2.0**-9),
            "F8_E5M2": (2, 2.0**-16)}
"""Mantissa bits and smallest subnormal of narrow float formats."""
_WIDTH = {"F64": 64, "F32": 32, "F16": 16, "BF16": 16, "F8_E4M3": 8, "F8_E5M2": 8}


def quantisation_grid(b: TensorRef, bv: FloatArray, delta: FloatArray, base_dtype: str) -> str:
    """Name the grid that explains ``delta`` (``""`` when the delta is an edit)."""
    d = delta.reshape(-1)  # |d| is taken only once a grid is plausible
    vals = bv.reshape(-1)
    if b.dtype in LEGACY_BLOCKS and vals.size % BLOCK == 0:
        step = _legacy_steps(b)
        if step is not None and _within(d, 0.5 * SLACK * step[:, None]
                                        + 2.0**-10 * np.abs(vals.reshape(-1, BLOCK))):
            return f"{b.dtype} block grid"
        return ""
    if b.dtype in LEVELS and vals.size % BLOCK == 0:
        blocks = vals.reshape(-1, BLOCK)
        step = (blocks.max(axis=1) - blocks.min(axis=1)) / LEVELS[b.dtype]
        return f"{b.dtype} block grid" if _within(d, SLACK * step) else ""
    if b.dtype in MANTISSA and _WIDTH.get(base_dtype, 0) > _WIDTH[b.dtype]:
        bits, tiny = MANTISSA[b.dtype]
        tol = np.abs(vals) * 2.0**-bits + tiny
        return f"{b.dtype} float grid" if _within(d, tol, flat=True) else ""
    if b.dtype in ("F32", "F16", "BF16", "F64"):
        row = vals.size // b.shape[0] if len(b.shape) >= 2 and b.shape[0] else 0
        return _fake_quant(vals, d, row)
    return ""


def _legacy_steps(b: TensorRef) -> npt.NDArray[np.float32] | None:
    raw = b.raw()
    size = LEGACY_BLOCKS[b.dtype]
    if raw.size % size:
        return None
    if raw.size // size * BLOCK != b.size:
        return None
    scales = np.ascontiguousarray(raw.reshape(-1, size)[:, :2]).view("<f2")
    return np.abs(scales.astype(np.float32)).reshape(-1)


def _within(delta: FloatArray, tol: npt.NDArray[np.floating], flat: bool = False) -> bool:
    """At least :data:`INSIDE` of ``|delta|`` are within ``tol`` (per element or per block)."""
    err = np.abs(delta)
    if flat or tol.ndim == 2:
        inside = np.count_nonzero(err.reshape(tol.shape) <= tol)
    else:
        inside = np.count_nonzero(err.reshape(tol.shape[0], -1) <= tol.reshape(-1, 1))
    return bool(inside >= INSIDE * err.size)


def _fake_quant(vals: FloatArray, delta: FloatArray, row: int) -> str:
    """Values on a symmetric int8/int4 grid (per tensor, per 32-block or per row) as floats."""
    n = vals.size
    layouts: list[tuple[str, int]] = [("per-tensor", n)]
    if n % BLOCK == 0:
        layouts.append(("per-block", BLOCK))
    layouts.append(("per-row", row))
    for label, width in layouts:
        if width <= 1 or n % width:
            continue
        groups = vals.reshape(-1, width)
        head = groups[: max(1, 4096 // width), :4096]
        head_max = _abs_max(groups[: head.shape[0]])
        for bits, levels in (("int8", 127.0), ("int4", 7.0)):
            if not _on_grid(head, head_max / levels):
                continue  # the first few thousand values decide cheaply
            step = _abs_max(groups) / levels
            if _on_grid(groups, step) and _within(delta, 0.5 * SLACK * step.reshape(-1)):
                return f"{bits} {label} grid"
    return ""


def _abs_max(groups: FloatArray) -> FloatArray:
    """Largest ``|x|`` of each row, as a column, from max and min (no full-size temporary)."""
    top: FloatArray = np.maximum(groups.max(axis=1, keepdims=True),
                                 -groups.min(axis=1, keepdims=True))
    return top


def _on_grid(groups: FloatArray, step: npt.NDArray[np.floating]) -> bool:
    scale = np.where(step == 0, 1.0, step)
    q = groups / scale
    return bool(np.count_nonzero(np.abs(q - np.rint(q)) <= 1e-3) >= INSIDE * groups.size)
