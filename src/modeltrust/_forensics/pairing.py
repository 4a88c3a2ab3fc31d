"""Pair the tensors of a base and a derived model: by name first, then renamed ones by shape.

Renames happen when a model is re-exported (``model.`` prefixes, ``transformer.`` vs
``model.``): after exact names, tensors are matched by name with a common prefix removed,
then leftover tensors of a unique shape are matched to the leftover of the same shape.
Everything that stays unmatched is reported, as are shape and dtype changes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from modeltrust._forensics.tensors import TensorRef


@dataclass
class Pairing:
    """The outcome of pairing two tensor lists."""

    pairs: list[tuple[TensorRef, TensorRef]] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    shape_changes: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(
        default_factory=list)
    dtype_changes: list[tuple[str, str, str]] = field(default_factory=list)
    only_base: list[str] = field(default_factory=list)
    only_derived: list[str] = field(default_factory=list)


_PREFIXES = ("model.", "transformer.", "bert.", "module.", "base_model.model.", "roberta.")


def _strip(name: str) -> str:
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def pair(base: list[TensorRef], derived: list[TensorRef]) -> Pairing:
    """Pair tensors; the result is sorted by base name (deterministic)."""
    out = Pairing()
    left = {t.name: t for t in base}
    right = {t.name: t for t in derived}
    matched: list[tuple[TensorRef, TensorRef]] = []
    for name in sorted(set(left) & set(right)):
        matched.append((left.pop(name), right.pop(name)))
    stripped = {_strip(n): n for n in right}
    if len(stripped) == len(right):
        for name in sorted(left):
            other = stripped.get(_strip(name))
            if other is not None and other in right:
                matched.append((left.pop(name), right.pop(other)))
                out.renamed.append((name, other))
    by_shape: dict[tuple[int, ...], list[str]] = defaultdict(list)
    for name in sorted(right):
        by_shape[right[name].shape].append(name)
    left_shapes: dict[tuple[int, ...], int] = defaultdict(int)
    for t in left.values():
        left_shapes[t.shape] += 1
    for name in sorted(left):
        candidates = by_shape.get(left[name].shape, [])
        if len(candidates) == 1 and left_shapes[left[name].shape] == 1:
            other = candidates.pop()
            matched.append((left.pop(name), right.pop(other)))
            out.renamed.append((name, other))
    for a, b in sorted(matched, key=lambda p: p[0].name):
        if a.shape != b.shape:
            out.shape_changes.append((a.name, a.shape, b.shape))
            continue
        if a.dtype != b.dtype:
            out.dtype_changes.append((a.name, a.dtype, b.dtype))
        out.pairs.append((a, b))
    out.only_base = sorted(left)
    out.only_derived = sorted(right)
    return out
