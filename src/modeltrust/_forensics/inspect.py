"""The abliteration signature of a single model, without a base.

Abliteration orthogonalises every matrix that writes into the residual stream against a
refusal direction r: ``W' = (I - r rᵀ) W`` and ``E' = E (I - r rᵀ)``. Afterwards no layer
writes anything along r, so ``G = Σ W Wᵀ`` (each term normalised by its trace) has an
eigenvalue near zero. In a trained model the smallest eigenvalue of G is within a couple of
orders of magnitude of the median; after abliteration it is at float rounding level. Only
one ``hidden × hidden`` accumulator is kept, one matrix read at a time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from modeltrust import __version__
from modeltrust._forensics import roles
from modeltrust._forensics import rules as R
from modeltrust._forensics.report import num
from modeltrust._forensics.tensors import TensorRef, open_model
from modeltrust.findings import Finding, Location, Severity
from modeltrust.rules import finding

SIGNATURE_RATIO = 1e-5
"""λ_min / λ_median below this is the abliteration signature."""
MIN_MATRICES = 3
"""Fewer residual-writing matrices than this say nothing about the model."""


@dataclass(frozen=True)
class InspectionReport:
    """What ``modeltrust inspect`` found in one model."""

    path: str
    format: str
    hidden_size: int | None
    matrices: tuple[str, ...]
    eigen_min: float | None
    eigen_median: float | None
    ratio: float | None
    direction: tuple[float, ...]
    """The unwritten direction (unit vector, first 16 components for evidence)."""
    findings: tuple[Finding, ...]
    problems: tuple[str, ...] = ()
    fail_on: Severity = Severity.HIGH
    tool_version: str = field(default=__version__)

    @property
    def abliterated(self) -> bool:
        """The signature is present."""
        return self.ratio is not None and self.ratio < SIGNATURE_RATIO

    @property
    def failed(self) -> bool:
        """True when a finding is at or above ``fail_on``."""
        return any(f.severity >= self.fail_on for f in self.findings)

    def to_dict(self) -> dict[str, object]:
        """JSON form (documented in ``docs/compare.md``)."""
        from modeltrust._report.json import finding_to_dict

        return {
            "kind": "inspect", "schema_version": "1.0",
            "tool": {"name": "modeltrust", "version": self.tool_version},
            "model": {"path": self.path, "format": self.format},
            "failed": self.failed, "fail_on": self.fail_on.value,
            "abliteration_signature": {
                "present": self.abliterated, "hidden_size": self.hidden_size,
                "matrices": len(self.matrices), "eigen_min": num(self.eigen_min),
                "eigen_median": num(self.eigen_median), "ratio": num(self.ratio),
                "threshold": SIGNATURE_RATIO,
                "direction_head": [num(x) for x in self.direction],
            },
            "findings": [finding_to_dict(f) for f in self.findings],
            "problems": list(self.problems),
        }


def run_inspect(model: str | os.PathLike[str], *, fail_on: Severity = Severity.HIGH,
                progress: Callable[[int, int, str], None] | None = None) -> InspectionReport:
    """Look for a residual direction that no residual-writing matrix writes to."""
    m = open_model(model)
    hidden = _hidden(m.tensors)
    chosen = [(t, axis) for t in m.tensors
              if (axis := roles.hidden_axis(t.name, roles.role(t.name), t.shape, hidden))
              is not None and hidden is not None and t.shape[axis] == hidden]
    gram = np.zeros((hidden or 0, hidden or 0), dtype=np.float64)
    for i, (t, axis) in enumerate(chosen, 1):
        _accumulate(gram, t, axis)
        if progress is not None:
            progress(i, len(chosen), t.name)
    shown = os.fspath(model)
    problems = tuple(m.problems)
    findings = [finding(R.UNREADABLE, shown, p) for p in problems]
    if len(chosen) < MIN_MATRICES or hidden is None:
        return InspectionReport(shown, m.format, hidden, tuple(t.name for t, _ in chosen),
                                None, None, None, (), tuple(findings), problems, fail_on)
    values, vectors = np.linalg.eigh(gram / len(chosen))
    lo, med = float(values[0]), float(np.median(values))
    ratio = max(lo, 0.0) / med if med > 0 else math.nan
    direction = tuple(float(x) for x in vectors[:16, 0])
    if ratio < SIGNATURE_RATIO:
        findings.append(finding(
            R.SIGNATURE, shown,
            f"smallest eigenvalue of Σ W Wᵀ over {len(chosen)} residual-writing matrices is "
            f"{lo:.3e}, {ratio:.2e} of the median {med:.3e} (threshold {SIGNATURE_RATIO:g}): "
            "one residual direction is written by no embedding or output projection",
            Location(detail=f"hidden size {hidden}")))
    return InspectionReport(shown, m.format, hidden, tuple(t.name for t, _ in chosen), lo, med,
                            ratio, direction, tuple(sorted(findings, key=Finding.sort_key)),
                            problems, fail_on)


def _hidden(tensors: list[TensorRef]) -> int | None:
    from collections import Counter

    sizes = [t.shape[1] for t in tensors if roles.role(t.name) == roles.EMBEDDING
             and len(t.shape) == 2]
    if not sizes:
        sizes = [t.shape[0] for t in tensors if roles.role(t.name) == roles.RESIDUAL_OUT
                 and len(t.shape) == 2]
    return Counter(sizes).most_common(1)[0][0] if sizes else None


def _accumulate(gram: npt.NDArray[np.float64], t: TensorRef, axis: int) -> None:
    """Add ``W Wᵀ / trace`` (hidden × hidden) for one matrix, in row chunks."""
    w = t.load()
    mat = w if axis == 0 else w.T
    part = np.zeros_like(gram)
    step = max(1, (1 << 22) // max(mat.shape[0], 1))
    for s in range(0, mat.shape[1], step):
        block = np.ascontiguousarray(mat[:, s:s + step], dtype=np.float64)
        part += block @ block.T
    trace = float(np.trace(part))
    if trace > 0 and math.isfinite(trace):
        gram += part / trace
