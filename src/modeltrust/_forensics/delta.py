"""Per-tensor deltas: identical, re-serialised, quantisation-level or changed, and how.

For a changed matrix the delta's spectrum tells edits apart: an abliteration is rank 1 along
one residual direction, a merged LoRA has exact rank r, a fine-tune is dense. The spectrum
comes from a randomized SVD (Halko, Martinsson & Tropp 2011) with a fixed seed, so reports
are deterministic; the statistics over elements are accumulated in chunks so temporaries
stay small.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from modeltrust._forensics.grid import quantisation_grid
from modeltrust._forensics.tensors import ByteArray, FloatArray, TensorRef

CHUNK = 1 << 16
"""Elements per chunk for elementwise statistics: a chunk of each tensor, of the delta and
of the scratch buffers fit in a core's L2 cache together."""
TOP_K = 16
"""Singular values reported per changed matrix."""
SKETCH = 24
"""Columns of the randomized range sketch (top-k plus oversampling)."""
POWER_ITERATIONS = 1
"""Subspace iterations, run only when the first sketch is neither exact nor clearly dense."""
KEEP_VECTORS = 3
"""Singular vectors kept per side for the cross-layer direction analysis."""
EXACT_TAIL = 1e-4
"""Energy left outside the top r below which a delta has exact rank r."""
GAP = 1e-2
"""``s[r] / s[r-1]`` below this marks the end of an exact low rank."""


@dataclass
class Spectrum:
    """The top of a delta matrix's singular spectrum."""

    singular_values: list[float]
    energy_top1: float
    energy_top3: float
    stable_rank: float
    rank: int | None
    """Exact low rank r (``None`` when the delta is not exactly low rank within the sketch)."""
    energy_top_r: float
    u: FloatArray = field(repr=False)
    """Top left singular vectors, ``(rows, KEEP_VECTORS)``."""
    v: FloatArray = field(repr=False)
    """Top right singular vectors, ``(cols, KEEP_VECTORS)``."""


@dataclass
class TensorDelta:
    """Everything measured about one tensor pair."""

    name: str
    derived_name: str
    shape: tuple[int, ...]
    base_dtype: str
    derived_dtype: str
    status: str
    """``identical``, ``reserialized``, ``quantized`` or ``changed``."""
    rel_norm: float = 0.0
    cosine: float = 1.0
    correlation: float = 1.0
    max_abs: float = 0.0
    changed_fraction: float = 0.0
    new_zeros: int = 0
    new_zeros_fraction: float = 0.0
    two_four: bool = False
    changed_rows: int = 0
    grid: str = ""
    base_norm: float = 0.0
    delta_energy: float = 0.0
    spectrum: Spectrum | None = None

    @property
    def pruned(self) -> bool:
        """Most of the change is weights set to exactly zero."""
        changed = self.changed_fraction
        return self.new_zeros_fraction >= 0.01 and changed > 0 and \
            self.new_zeros_fraction >= 0.5 * changed


def compare(a: TensorRef, b: TensorRef, svd: bool = True,
            raws: tuple[ByteArray, ByteArray] | None = None) -> TensorDelta:
    """Measure one pair of tensors of equal shape (bytes first, values when they differ).

    ``raws`` are the pair's stored bytes when a reader thread has already read them.
    """
    out = TensorDelta(a.name, b.name, a.shape, a.dtype, b.dtype, "identical")
    ra, rb = raws if raws is not None else (a.raw(), b.raw())
    if a.dtype == b.dtype and same_bytes(ra, rb):
        out.base_norm = math.nan
        return out
    with np.errstate(all="ignore"):  # inf and NaN in hostile weights are measured, not warned
        _values(out, a, b, ra, rb, svd)
    return out


def _values(out: TensorDelta, a: TensorRef, b: TensorRef, ra: ByteArray, rb: ByteArray,
            svd: bool) -> None:
    """Measure a pair whose bytes differ: statistics, then grid, then spectrum."""
    av, bv = a.decode(ra), b.decode(rb)
    rows = a.shape[0] if len(a.shape) >= 2 else 0
    delta = _statistics(out, av.reshape(-1), bv.reshape(-1), rows)
    if out.changed_fraction == 0.0:
        out.status = "reserialized"
        return
    out.status = "changed"
    grid = quantisation_grid(b, bv, delta, base_dtype=a.dtype)
    if grid:
        out.status, out.grid = "quantized", grid
        return
    del av, bv  # converted copies (bf16, fp8) are freed before the SVD
    # Non-finite deltas (inf, NaN) have no spectrum: the eigensolver cannot converge on them.
    if svd and min(rows, a.size // max(rows, 1)) >= 2 and math.isfinite(out.delta_energy):
        out.spectrum = spectrum(delta.reshape(rows, -1), out.delta_energy)


def same_bytes(ra: ByteArray, rb: ByteArray) -> bool:
    """Byte equality in chunks of 64-bit words: no full-size temporary, stops at a difference."""
    if ra.size != rb.size:
        return False
    words = ra.size // 8 * 8
    wa, wb = ra[:words].view(np.uint64), rb[:words].view(np.uint64)
    step = CHUNK
    for s in range(0, wa.size, step):
        if not np.array_equal(wa[s:s + step], wb[s:s + step]):
            return False
    return bool(np.array_equal(ra[words:], rb[words:]))


class _Pass:
    """Running sums of one pass over a tensor pair, chunk by chunk.

    Each chunk is small enough to stay in the CPU cache while the reductions run over it,
    so the pass costs about one read of both tensors and one write of the delta. Sums are
    taken of ``a`` and ``d = b - a`` (``b``'s follow exactly): the small quantities that
    1 - cosine and the relative norm depend on are then measured directly.
    """

    def __init__(self, n: int, rows: int) -> None:
        self.sums = [0.0] * 5  # a, d, aa, ad, dd
        self.changed = 0
        self.zeros = 0
        self.max_abs = 0.0
        self.rowlen = max(1, n // max(rows, 1))
        self.row_changed = np.zeros(max(rows, 1), dtype=bool)
        self.scratch = np.empty(min(n, CHUNK), dtype=np.float32)
        self.ones = np.ones(min(n, CHUNK), dtype=np.float32)
        self.flags = np.empty(min(n, CHUNK), dtype=bool)

    def add(self, s: int, ac: FloatArray, bc: FloatArray, dc: FloatArray) -> None:
        """Fold one chunk (starting at element ``s``) into the sums."""
        k = dc.size
        ones, flags = self.ones[:k], self.flags[:k]
        for i, x in enumerate((np.dot(ac, ones), np.dot(dc, ones), np.dot(ac, ac),
                               np.dot(ac, dc), np.dot(dc, dc))):
            self.sums[i] += float(x)
        mag = np.abs(dc, out=self.scratch[:k])
        changed = int(np.count_nonzero(mag.view(np.int32)))  # bits: -0.0 is 0, NaN is not
        self.changed += changed
        if np.count_nonzero(np.equal(bc, 0, out=flags)):  # rare: exact zeros in DERIVED
            self.zeros += int(np.count_nonzero(flags & (ac != 0)))
        if changed:
            self._rows(s, mag, dense=changed == k)

    def _rows(self, s: int, mag: FloatArray, dense: bool) -> None:
        """Largest ``|d|`` and changed rows of a chunk (``mag`` is ``|d|``; NaN ignored)."""
        first, k = s // self.rowlen, mag.size
        if dense:  # every element changed: so did every row the chunk touches
            self.max_abs = max(self.max_abs, float(np.fmax.reduce(mag)))
            self.row_changed[first:(s + k - 1) // self.rowlen + 1] = True
            return
        starts = np.arange((first + 1) * self.rowlen - s, k, self.rowlen)
        row_max = np.maximum.reduceat(mag, np.concatenate(([0], starts)))
        self.max_abs = max(self.max_abs, float(np.fmax.reduce(row_max)))
        self.row_changed[first:first + row_max.size] |= row_max != 0  # NaN is a change


def _statistics(out: TensorDelta, a: FloatArray, b: FloatArray, rows: int) -> FloatArray:
    """Fill norms, cosine, correlation, zero counts and (``rows`` > 0) changed rows.

    One chunked pass; returns the delta, the only full-size array it makes (float32).
    """
    n = a.size
    delta = np.empty(n, dtype=np.float32)
    acc = _Pass(n, rows)
    for s in range(0, n, CHUNK):
        ac, bc = a[s:s + CHUNK], b[s:s + CHUNK]
        acc.add(s, ac, bc, np.subtract(bc, ac, out=delta[s:s + CHUNK]))
    sa, sd, saa, sad, sdd = acc.sums
    sb, sab, sbb = sa + sd, saa + sad, saa + 2 * sad + sdd
    out.base_norm = math.sqrt(max(saa, 0.0))
    out.delta_energy = sdd
    out.rel_norm = math.sqrt(sdd) / out.base_norm if out.base_norm > 0 else \
        (0.0 if sdd == 0 else math.inf)
    out.cosine = _ratio(sab, math.sqrt(saa * max(sbb, 0.0)))
    var_a, var_b = saa - sa * sa / max(n, 1), sbb - sb * sb / max(n, 1)
    out.correlation = _ratio(sab - sa * sb / max(n, 1), math.sqrt(max(var_a, 0) * max(var_b, 0)))
    out.max_abs = acc.max_abs
    out.changed_fraction = acc.changed / n if n else 0.0
    out.new_zeros = acc.zeros
    out.new_zeros_fraction = acc.zeros / n if n else 0.0
    if rows:
        out.changed_rows = int(np.count_nonzero(acc.row_changed))
    if out.new_zeros and b.size % 4 == 0 and b.size:
        out.two_four = _two_four(b)
    return delta


def _ratio(num: float, den: float) -> float:
    if den <= 0 or not math.isfinite(den):
        return 1.0 if num == 0 else 0.0
    return max(-1.0, min(1.0, num / den))


def _two_four(b: FloatArray) -> bool:
    """Every group of four consecutive weights has at least two exact zeros (2:4 sparsity)."""
    step = 4 * CHUNK  # whole groups per chunk
    for s in range(0, b.size, step):
        groups = b[s:s + step].reshape(-1, 4)
        if np.any(np.count_nonzero(groups == 0, axis=1) < 2):
            return False
    return True


def spectrum(d: FloatArray, energy: float) -> Spectrum:
    """Randomized SVD of a delta matrix: top singular values, energies, rank, vectors."""
    m, n = d.shape
    p = min(SKETCH, m, n)
    q = _orth(d @ _omega(m, n, p))
    small = (q.T @ d).astype(np.float64)  # (p, n): the delta restricted to its range
    captured = float(np.sum(small * small)) / max(energy, 1e-300)
    if 0.5 <= captured < 1.0 - EXACT_TAIL:
        # Neither exactly low rank (captured whole) nor dense: sharpen the spectrum.
        for _ in range(POWER_ITERATIONS):
            q = _orth(d @ _orth(d.T @ q))
        small = (q.T @ d).astype(np.float64)
    lam, w = np.linalg.eigh(small @ small.T)
    order = np.argsort(lam)[::-1]
    lam, w = np.clip(lam[order], 0.0, None), w[:, order]
    s = np.sqrt(lam)
    keep = min(KEEP_VECTORS, s.size)
    u = (q.astype(np.float64) @ w[:, :keep]).astype(np.float32)
    inv = np.where(s[:keep] > 0, 1.0 / np.where(s[:keep] > 0, s[:keep], 1.0), 0.0)
    v = ((small.T @ w[:, :keep]) * inv).astype(np.float32)
    total = max(energy, float(np.sum(lam)), 1e-300)
    cum = np.cumsum(lam) / total
    rank = _exact_rank(s, cum, min(m, n), p)
    return Spectrum(
        singular_values=[float(x) for x in s[:TOP_K]],
        energy_top1=float(cum[0]) if s.size else 0.0,
        energy_top3=float(cum[min(2, s.size - 1)]) if s.size else 0.0,
        stable_rank=total / float(lam[0]) if s.size and lam[0] > 0 else math.inf,
        rank=rank,
        energy_top_r=float(cum[rank - 1]) if rank else float(cum[-1]) if s.size else 0.0,
        u=u,
        v=v,
    )


@functools.lru_cache(maxsize=16)
def _omega(m: int, n: int, p: int) -> FloatArray:
    """The Gaussian test matrix for an ``m × n`` delta, drawn once per shape.

    Seeded by the shape so reports are deterministic; cached because a model has a handful
    of shapes and drawing it per tensor costs as much as a small matmul.
    """
    rng = np.random.default_rng(0x5EED + m * 131 + n)
    omega = rng.standard_normal((n, p), dtype=np.float32)
    omega.setflags(write=False)
    return omega


def _orth(y: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """An orthonormal basis of ``y``'s columns via its small Gram matrix (rank-revealing).

    Directions with negligible energy are dropped, so an exactly low-rank delta yields a
    basis of its own rank; two passes keep the basis orthonormal to float32 precision.
    """
    for _ in range(2):
        gram = (y.T @ y).astype(np.float64)
        lam, vec = np.linalg.eigh(gram)
        top = float(lam[-1]) if lam.size else 0.0
        keep = lam > max(top, 1e-300) * 1e-12
        if not np.any(keep):
            return np.zeros((y.shape[0], 1), dtype=np.float32)
        y = (y @ (vec[:, keep] / np.sqrt(lam[keep])).astype(np.float32)).astype(np.float32)
    return y


def _exact_rank(s: npt.NDArray[np.float64], cum: npt.NDArray[np.float64],
                full: int, width: int) -> int | None:
    """The smallest r whose top-r energy leaves less than :data:`EXACT_TAIL` outside."""
    for r in range(1, s.size + 1):
        if cum[r - 1] < 1.0 - EXACT_TAIL:
            continue
        if r == width and r < full:
            return None  # the sketch is full: the rank may be higher
        if r == s.size or s[r] <= GAP * s[r - 1]:
            return r
    return None
