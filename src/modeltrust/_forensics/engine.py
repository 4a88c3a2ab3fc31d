"""Run a comparison: open both models, pair, measure each pair, decide, build findings.

Pairs are measured in base-name order by :func:`pipeline.measure` (a reader thread reads
ahead while workers compute); each measurement holds its pair and one delta, so memory is
bounded by the pairs read ahead and in flight plus the small per-tensor sketches kept for
the verdicts.
"""

from __future__ import annotations

import os
from pathlib import Path

from modeltrust._forensics import rules as R
from modeltrust._forensics.blas import blas_threads
from modeltrust._forensics.pairing import Pairing, pair
from modeltrust._forensics.pipeline import Progress, measure
from modeltrust._forensics.report import ComparisonReport, Lineage, ModelSummary
from modeltrust._forensics.tensors import Model, open_model
from modeltrust._forensics.verdicts import (
    UNRELATED_CORRELATION,
    Verdict,
    decide,
    median_correlation,
)
from modeltrust.findings import Finding, Location, Severity
from modeltrust.rules import finding


def run_compare(base: str | os.PathLike[str], derived: str | os.PathLike[str], *,
                svd: bool = True, fail_on: Severity = Severity.HIGH,
                progress: Progress | None = None) -> ComparisonReport:
    """Compare two models' weights and return the report (see :func:`modeltrust.compare`)."""
    mb, md = open_model(base), open_model(derived)
    pairing = pair(mb.tensors, md.tensors)
    with blas_threads(1):  # workers, not BLAS threads, use the cores (see blas.py)
        deltas = measure(pairing.pairs, svd, progress)
        verdicts = decide(pairing, deltas, mb.format == md.format and mb.files == md.files)
    med = median_correlation(deltas)
    related = None if med is None else med >= UNRELATED_CORRELATION
    claim_ok = None if not md.base_model_claim or related is None else related
    names = _names_base(md.base_model_claim, mb) if md.base_model_claim else None
    lineage = Lineage(med, related, md.base_model_claim, claim_ok, names)
    shown = os.fspath(derived)
    findings = _findings(verdicts, pairing, lineage, shown)
    problems = [f"base: {p}" for p in mb.problems] + [f"derived: {p}" for p in md.problems]
    findings += [finding(R.UNREADABLE, shown if p.startswith("derived") else os.fspath(base),
                         p) for p in problems]
    return ComparisonReport(
        base=_summary(mb), derived=_summary(md), verdicts=tuple(verdicts),
        tensors=tuple(deltas), pairing=pairing, lineage=lineage,
        findings=tuple(sorted(set(findings), key=Finding.sort_key)),
        problems=tuple(problems), fail_on=fail_on)


def _summary(m: Model) -> ModelSummary:
    return ModelSummary(m.path, m.format, tuple(m.files), len(m.tensors), m.base_model_claim)


def _names_base(claim: tuple[str, ...], base: Model) -> bool:
    """Does a claimed repo id name the BASE given (its last part appears in BASE's path)?"""
    where = str(Path(base.path).resolve()).lower()
    return any(c.rsplit("/", 1)[-1].lower() in where for c in claim if c.strip())


def _findings(verdicts: list[Verdict], pairing: Pairing, lineage: Lineage,
              path: str) -> list[Finding]:
    out: list[Finding] = []
    for v in verdicts:
        r = R.VERDICT_RULES[v.kind]
        severity = None
        if v.kind == "unrelated" and lineage.claim:
            severity = Severity.HIGH
        evidence = f"{v.kind} (confidence {v.confidence:.2f}): {v.summary}"
        if v.kind == "unrelated" and lineage.claim:
            evidence += f"; the card claims base_model {', '.join(lineage.claim)}"
        tensor = v.tensors[0] if len(v.tensors) == 1 else None
        out.append(finding(r, path, evidence, Location(tensor=tensor, detail=v.kind),
                           severity=severity))
    for name, a, b in pairing.shape_changes:
        out.append(finding(R.STRUCTURE, path, f"shape {list(a)} -> {list(b)}",
                           Location(tensor=name, detail="shape change")))
    if pairing.only_base or pairing.only_derived:
        out.append(finding(
            R.STRUCTURE, path,
            f"{len(pairing.only_base)} tensors only in BASE "
            f"({', '.join(pairing.only_base[:5])}), {len(pairing.only_derived)} only in "
            f"DERIVED ({', '.join(pairing.only_derived[:5])})",
            Location(detail="unpaired tensors")))
    return out
