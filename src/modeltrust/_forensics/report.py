"""The comparison report: verdicts, per-tensor statistics, findings, and its JSON contract.

The JSON form is documented in ``docs/compare.md`` and described by
``docs/compare-schema.json``. It is deterministic: lists are sorted, floats rounded to six
significant digits, non-finite numbers written as ``null``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from modeltrust import __version__
from modeltrust._forensics.delta import TensorDelta
from modeltrust._forensics.pairing import Pairing
from modeltrust._forensics.verdicts import Verdict
from modeltrust.findings import Finding, Severity

COMPARE_SCHEMA_VERSION = "1.0"
VERDICT_KINDS = ("identical", "reserialized", "quantized", "lora_merge", "abliteration",
                 "fine_tune", "pruned", "tampered_tensors", "unrelated")


@dataclass(frozen=True)
class ModelSummary:
    """What was read of one model."""

    path: str
    format: str
    files: tuple[str, ...]
    tensors: int
    base_model_claim: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"path": self.path, "format": self.format, "files": list(self.files),
                "tensors": self.tensors, "base_model_claim": list(self.base_model_claim)}


@dataclass(frozen=True)
class Lineage:
    """Is DERIVED derived from BASE, and does the card's claim agree?"""

    median_correlation: float | None
    derived_from_base: bool | None
    claim: tuple[str, ...]
    claim_supported: bool | None
    """The weights are derived from BASE, as the card's ``base_model`` says (None: no claim)."""
    claim_names_base: bool | None = None
    """The claimed repo name appears in BASE's path (None: no claim)."""

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"median_correlation": num(self.median_correlation),
                "derived_from_base": self.derived_from_base,
                "card_base_model": list(self.claim), "claim_supported": self.claim_supported,
                "claim_names_base": self.claim_names_base}


@dataclass(frozen=True)
class ComparisonReport:
    """Everything ``modeltrust compare`` says about two models."""

    base: ModelSummary
    derived: ModelSummary
    verdicts: tuple[Verdict, ...]
    tensors: tuple[TensorDelta, ...]
    pairing: Pairing
    lineage: Lineage
    findings: tuple[Finding, ...]
    problems: tuple[str, ...] = ()
    fail_on: Severity = Severity.HIGH
    tool_version: str = field(default=__version__)

    @property
    def failed(self) -> bool:
        """True when a finding is at or above ``fail_on`` (exit code 1)."""
        return any(f.severity >= self.fail_on for f in self.findings)

    @property
    def kinds(self) -> list[str]:
        """The verdict kinds, in report order."""
        return [v.kind for v in self.verdicts]

    def to_dict(self) -> dict[str, object]:
        """The JSON contract (see ``docs/compare.md``)."""
        from modeltrust._report.json import finding_to_dict

        p = self.pairing
        return {
            "kind": "compare",
            "schema_version": COMPARE_SCHEMA_VERSION,
            "tool": {"name": "modeltrust", "version": self.tool_version},
            "base": self.base.to_dict(),
            "derived": self.derived.to_dict(),
            "failed": self.failed,
            "fail_on": self.fail_on.value,
            "verdicts": [verdict_dict(v) for v in self.verdicts],
            "lineage": self.lineage.to_dict(),
            "pairing": {
                "paired": len(p.pairs),
                "renamed": [list(r) for r in p.renamed],
                "only_base": p.only_base,
                "only_derived": p.only_derived,
                "shape_changes": [{"name": n, "base": list(a), "derived": list(b)}
                                  for n, a, b in p.shape_changes],
                "dtype_changes": [{"name": n, "base": a, "derived": b}
                                  for n, a, b in p.dtype_changes],
            },
            "tensors": [tensor_dict(t) for t in sorted(self.tensors, key=lambda t: t.name)],
            "findings": [finding_to_dict(f) for f in self.findings],
            "problems": list(self.problems),
        }


def verdict_dict(v: Verdict) -> dict[str, object]:
    """JSON form of one verdict."""
    return {"kind": v.kind, "confidence": num(v.confidence), "summary": v.summary,
            "evidence": clean_numbers(v.evidence), "tensors": list(v.tensors)}


def tensor_dict(t: TensorDelta) -> dict[str, object]:
    """JSON form of one tensor's statistics."""
    out: dict[str, object] = {
        "name": t.name, "derived_name": t.derived_name, "shape": list(t.shape),
        "base_dtype": t.base_dtype, "derived_dtype": t.derived_dtype, "status": t.status,
        "relative_norm": num(t.rel_norm), "cosine": num(t.cosine),
        "correlation": num(t.correlation), "max_abs_delta": num(t.max_abs),
        "changed_fraction": num(t.changed_fraction),
        "new_zeros_fraction": num(t.new_zeros_fraction), "two_four": t.two_four,
        "changed_rows": t.changed_rows,
    }
    if t.grid:
        out["grid"] = t.grid
    sp = t.spectrum
    if sp is not None:
        out["spectrum"] = {
            "singular_values": [num(s) for s in sp.singular_values],
            "energy_top1": num(sp.energy_top1), "energy_top3": num(sp.energy_top3),
            "energy_top_r": num(sp.energy_top_r), "stable_rank": num(sp.stable_rank),
            "rank": sp.rank,
        }
    return out


def num(x: float | None) -> float | None:
    """Six significant digits; ``None`` for missing or non-finite values (valid JSON)."""
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.6g}")


def clean_numbers(value: object) -> object:
    """Round every float in nested evidence (and make it JSON-safe)."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return num(value)
    if isinstance(value, dict):
        return {str(k): clean_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_numbers(v) for v in value]
    return str(value)
