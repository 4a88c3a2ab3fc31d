"""The openness report: one immutable model of every section, its JSON form and text.

The JSON shape is the contract documented in ``docs/openness.md`` and
``docs/openness-schema.json``. Like scan reports it is deterministic: sorted keys and
lists, no timestamps, no absolute paths beyond what the user passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from modeltrust import __version__
from modeltrust._assess.accountability import Accountability
from modeltrust._assess.card import Card
from modeltrust._assess.data import DataResult
from modeltrust._assess.licence import LicenceResult
from modeltrust._assess.lineage import LineageResult
from modeltrust._assess.mof import MofResult
from modeltrust._assess.osaid import OsaidResult
from modeltrust._assess.snapshot import Snapshot
from modeltrust.findings import Finding, Severity

OPENNESS_SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class CardSummary:
    """What the card documents: its path, metadata keys and sections found."""

    path: str | None
    metadata_keys: tuple[str, ...]
    sections: tuple[dict[str, object], ...]
    pipeline_tag: str | None
    library_name: str | None
    languages: tuple[str, ...]
    modelscope: bool

    @staticmethod
    def of(card: Card, shown: str | None) -> CardSummary:
        """Summarise a parsed card."""
        from modeltrust._assess.yamlsafe import as_list

        meta = card.meta
        return CardSummary(
            path=shown, metadata_keys=tuple(sorted({*meta, *card.malformed})[:200]),
            sections=tuple(s.to_dict() for s in card.sections),
            pipeline_tag=card.pipeline_tag, library_name=card.library_name,
            languages=tuple(sorted(as_list(meta.get("language")))[:50]),
            modelscope=bool(card.modelscope),
        )

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"path": self.path, "metadata_keys": list(self.metadata_keys),
                "sections": list(self.sections), "pipeline_tag": self.pipeline_tag,
                "library_name": self.library_name, "languages": list(self.languages),
                "modelscope": self.modelscope}


@dataclass(frozen=True)
class OpennessReport:
    """How open a model is: licence, OSAID, MOF, data, lineage, accountability, findings."""

    target: str
    card: CardSummary
    licence: LicenceResult
    osaid: OsaidResult
    mof: MofResult
    data: DataResult
    lineage: LineageResult
    accountability: Accountability
    findings: tuple[Finding, ...]
    fail_on: Severity = Severity.HIGH
    tool_version: str = __version__
    parsed_card: Card | None = field(default=None, repr=False, compare=False)
    snapshot: Snapshot | None = field(default=None, repr=False, compare=False)
    """What was read, kept (not serialised) so later stages such as the BOM reuse it."""

    @property
    def max_severity(self) -> Severity | None:
        """The worst finding's severity, or None."""
        return max((f.severity for f in self.findings), default=None)

    @property
    def failed(self) -> bool:
        """True when a finding is at or above ``fail_on`` (CLI exit code 1)."""
        worst = self.max_severity
        return worst is not None and worst >= self.fail_on

    def to_dict(self) -> dict[str, object]:
        """The JSON document (before serialisation)."""
        from modeltrust._report.json import finding_to_dict

        return {
            "kind": "openness",
            "schema_version": OPENNESS_SCHEMA_VERSION,
            "tool": {"name": "modeltrust", "version": self.tool_version},
            "target": self.target,
            "failed": self.failed,
            "fail_on": self.fail_on.value,
            "card": self.card.to_dict(),
            "licence": self.licence.to_dict(),
            "osaid": self.osaid.to_dict(),
            "mof": self.mof.to_dict(),
            "data": self.data.to_dict(),
            "lineage": self.lineage.to_dict(),
            "accountability": self.accountability.to_dict(),
            "findings": [finding_to_dict(f) for f in self.findings],
        }


def to_json(report: OpennessReport) -> str:
    """Serialise deterministically (sorted keys, two-space indent, trailing newline)."""
    from modeltrust._report.json import dumps

    return dumps(report.to_dict())


def render_audit_section(report: OpennessReport) -> list[str]:
    """The Openness section of ``modeltrust audit``: a few lines of plain text."""
    lic = report.licence
    lines = [f"licence: {lic.spdx or 'none'} ({lic.status}, from {lic.source})"]
    kinds = sorted({c.kind for c in lic.clauses})
    if kinds:
        lines.append("terms: " + ", ".join(kinds))
    lines.append(f"OSAID 1.0: {report.osaid.verdict}" + _osaid_gaps(report.osaid))
    mof = report.mof
    lines.append(f"MOF 1.0 class: {mof.mof_class or 'none'}"
                 + (f"; for class {mof.next_class} missing: "
                    + ", ".join(c for c, _ in mof.missing) if mof.next_class else ""))
    train = report.data.training
    lines.append(f"training data: {len(train)} dataset(s) declared"
                 + ("" if report.data.described else ", not described"))
    bases = ", ".join(b.id for b in report.lineage.base_models) or "none declared"
    lines.append(f"base model: {bases}"
                 + (f" ({report.lineage.relation})" if report.lineage.relation else ""))
    return lines


def _osaid_gaps(osaid: OsaidResult) -> str:
    """`` (2 not met: A, B; 3 unknown: C, D, E)``: unknown rules are not counted as not met."""
    parts = []
    for status, label in (("not_met", "not met"), ("unknown", "unknown")):
        ids = [r.id for r in osaid.rules if r.status == status]
        if ids:
            parts.append(f"{len(ids)} {label}: {', '.join(ids)}")
    return f" ({'; '.join(parts)})" if parts else ""


def render_text(report: OpennessReport) -> str:
    """The console form: the summary lines, each OSAID rule, MOF gaps and the findings."""
    out = [f"modeltrust openness: {report.target}", ""]
    out += render_audit_section(report)
    out.append("")
    out.append("OSAID 1.0 checklist:")
    for r in report.osaid.rules:
        out.append(f"  [{r.status:>7}] {r.id}: {r.evidence}")
    out.append("")
    out.append("MOF 1.0 components:")
    for c in report.mof.components:
        mark = "ok" if c.satisfied else "--"
        why = "" if c.satisfied else f" ({c.reason()})"
        req = "" if c.required else " [optional]"
        out.append(f"  {mark} class {c.mof_class:<3} {c.name}{req}: "
                   f"{c.licence or 'no licence'}{why}")
    clauses = report.licence.clauses
    if clauses:
        out.append("")
        out.append("Licence clauses:")
        for cl in clauses:
            out.append(f"  {cl.kind} ({cl.path}:{cl.line}): {cl.quote}")
    out.append("")
    out.append(f"Findings ({len(report.findings)}):")
    for f in report.findings:
        out.append(f"  {f.severity.value:<8} {f.rule_id}  {f.title}  ({f.path}) {f.evidence}")
    return "\n".join(_clean(line) for line in out) + "\n"


def _clean(line: str) -> str:
    """Drop control characters so hostile card text cannot drive the terminal."""
    return "".join(ch if ch.isprintable() or ch == "\t" else "?" for ch in line)
