"""``modeltrust audit``: one report card for a model, one section per question.

Safety (the scan), Integrity (signature and cache checks), Openness (licence, OSAID, MOF),
Lineage/tampering (weights compared with ``--base``) and the Inventory (the files by role,
and with ``--bom FILE`` a CycloneDX or SPDX BOM built from the same results). A section that is not
available says so explicitly rather than being left out, so nobody mistakes a missing
section for a clean one.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

import modeltrust
from modeltrust._cli.options import EXIT_CODES_HELP, ScanOptions, output_option, scan_options
from modeltrust._cli.output import atomic_write, note, stdout_console
from modeltrust._cli.scan import run_scan
from modeltrust._report import json as json_report
from modeltrust._report.console import (
    clean,
    counts_text,
    plain_console,
    severity_label,
    strip_trailing,
    verdict_text,
)
from modeltrust._report.model import REPORT_SCHEMA_VERSION, Report
from modeltrust.errors import Error
from modeltrust.findings import Finding

TOP_FINDINGS = 5
"""Findings shown on the card; the full list is what ``modeltrust scan`` prints."""

AUDIT_EPILOG = f"""{EXIT_CODES_HELP}

\b
Examples:
  modeltrust audit ./my-model
  modeltrust audit ./my-model --base ./base-model
  modeltrust audit ./my-model --fail-on medium --format json -o audit.json
  modeltrust audit ./my-model --bom my-model.cdx.json
  modeltrust audit ./my-model --bom my-model.spdx.json    # format from the name
"""


@dataclass
class Card:
    """Every section of the report card: the scan plus what the other stages found."""

    scan: Report
    integrity: list[str] = field(default_factory=list)
    integrity_findings: list[Finding] = field(default_factory=list)
    openness: Any = None
    openness_error: str = ""
    comparison: Any = None
    comparison_error: str = ""
    bom_path: str | None = None
    bom_format: str = ""
    bom_error: str = ""
    evidence: Any = None
    sections: dict[str, object] = field(default_factory=dict)

    @property
    def findings(self) -> list[Finding]:
        """Findings of every section (the exit code is taken over all of them)."""
        return [f for _name, found in self._by_section() for f in found]

    def _by_section(self) -> list[tuple[str, list[Finding]]]:
        sections = [("Safety", list(self.scan.findings)), ("Integrity", self.integrity_findings)]
        if self.openness is not None:
            sections.append(("Openness", list(self.openness.findings)))
        if self.comparison is not None:
            sections.append(("Lineage/tampering", list(self.comparison.findings)))
        return sections

    @property
    def failed(self) -> bool:
        """True when any section has a finding at or above ``--fail-on``."""
        return bool(self.failing)

    @property
    def failing(self) -> list[tuple[str, Finding]]:
        """``(section, finding)`` for each finding at or above ``--fail-on``, worst first."""
        hits = [(name, f) for name, found in self._by_section() for f in found
                if f.severity >= self.scan.fail_on]
        return sorted(hits, key=lambda h: (-h[1].severity.rank, h[1].sort_key()))


def build_card(report: Report, base: str | None, bom: str | None = None,
               bom_format: str | None = None) -> Card:
    """Run the other stages on the audited model and collect their results."""
    from modeltrust._integrity.hf_cache import check_hf_cache

    card = Card(report, bom_path=bom)
    target = report.targets[0]
    cache = check_hf_cache(target)
    card.integrity_findings.extend(cache)
    try:
        card.openness = modeltrust.openness(target, fail_on=report.fail_on)
    except Error as exc:
        card.openness_error = exc.diagnostics()
    if base is not None:
        try:
            card.comparison = modeltrust.compare(base, target, fail_on=report.fail_on)
        except Error as exc:
            card.comparison_error = exc.diagnostics()
    known = None
    if bom is not None:
        _write_bom(card, target, bom, bom_format)
        if card.evidence is not None:  # its hashing pass serves the signature check too
            known = {f.path: f.sha256 for f in card.evidence.files}
    _signature(card, target, known)
    if cache:
        card.integrity.append(f"Hugging Face cache: {len(cache)} file(s) do not match their blob")
    return card


def _write_bom(card: Card, target: str, path: str, fmt: str | None) -> None:
    """Render the BOM from this audit's own results (nothing is scanned twice)."""
    from modeltrust import api
    from modeltrust._bom.interface import BomFormat, format_for, render

    chosen = BomFormat(fmt) if fmt else format_for(path)
    card.bom_format = chosen.label
    try:
        card.evidence = api.bom_evidence(target, report=card.scan, openness=card.openness,
                                         extra_findings=card.integrity_findings)
        atomic_write(path, render(card.evidence, chosen))
    except Error as exc:
        card.bom_error = exc.diagnostics()


def _signature(card: Card, target: str, known: dict[str, str] | None) -> None:
    from modeltrust._integrity.verifying import signature_status

    status = signature_status(Path(target), known=known)
    if status is None:
        card.integrity.append("no signature file (model.sig) found: run 'modeltrust sign'")
    else:
        card.integrity.append(f"signature {status.signature}: {status.state}")
        card.integrity.append(status.message)


def card_lines(card: Card) -> list[Text]:
    """The report card as lines of text, one block per section."""
    report = card.scan
    cov = json_report.coverage_counts(report)
    targets = ", ".join(clean(t) for t in report.targets)
    out = [Text(f"modeltrust audit: {targets}", style="bold"), Text("")]
    failing = card.failing
    overall = (f"FAILED: {len(failing)} finding(s) at or above --fail-on "
               f"{report.fail_on.value}" if failing else
               f"passed: nothing at or above --fail-on {report.fail_on.value}")
    out.append(Text(f"{'Overall':<18}{overall}", style="bold"))
    for section, f in failing[:TOP_FINDINGS]:
        out.append(Text(f"{'':<18}").append_text(severity_label(f.severity))
                   .append(f" {f.rule_id}  {clean(f.title)}  [{section}]"))
    if len(failing) > TOP_FINDINGS:
        out.append(Text(f"{'':<18}... {len(failing) - TOP_FINDINGS} more (see each section)"))
    out.append(Text(""))
    out.append(Text(f"{'Safety':<18}").append_text(verdict_text(report))
               .append(f"  (--fail-on {report.fail_on.value}: "
                       f"{'failed' if report.failed else 'passed'})"))
    out.append(Text(f"{'':<18}findings: ").append_text(counts_text(report)))
    out.append(Text(f"{'':<18}files: {len(report.files)} ({cov['analysed']} analysed, "
                    f"{cov['partial']} partial, {cov['not_analysed']} not analysed)"))
    worst = sorted(report.findings, key=lambda f: (-f.severity.rank, f.sort_key()))
    for f in worst[:TOP_FINDINGS]:
        out.append(Text(f"{'':<18}").append_text(severity_label(f.severity))
                   .append(f" {f.rule_id}  {clean(f.title)}  ({clean(f.path)})"))
    if len(worst) > TOP_FINDINGS:
        out.append(Text(f"{'':<18}... {len(worst) - TOP_FINDINGS} more: run 'modeltrust scan'"))
    out += _block("Integrity", card.integrity)
    out += _block("Openness", _openness_lines(card))
    out += _block("Lineage/tampering", _lineage_lines(card))
    out += _block("Inventory (BOM)", _inventory_lines(card))
    return out


def _block(name: str, lines: list[str]) -> list[Text]:
    out: list[Text] = []
    for i, line in enumerate(lines or ["-"]):
        out.append(Text(f"{name if i == 0 else '':<18}{clean(line)}"))
    return out


def _openness_lines(card: Card) -> list[str]:
    if card.openness is None:
        return [f"not assessed: {card.openness_error}"]
    from modeltrust._assess.report import render_audit_section

    lines: list[str] = render_audit_section(card.openness)
    return lines


def _lineage_lines(card: Card) -> list[str]:
    if card.comparison is None:
        if card.comparison_error:
            return [f"not compared: {card.comparison_error}"]
        return ["not compared: pass --base BASE to compare the weights with their base"]
    comp = card.comparison
    lines = [f"verdicts: {', '.join(comp.kinds) or 'none'}"]
    lines += [f"{v.kind} ({v.confidence}): {v.evidence}" for v in comp.verdicts][:4]
    return lines


def _inventory_lines(card: Card) -> list[str]:
    roles: dict[str, int] = {}
    for entry in card.scan.files:
        if "!" not in entry.path:
            roles[entry.format] = roles.get(entry.format, 0) + 1
    shown = ", ".join(f"{n} {fmt}" for fmt, n in sorted(roles.items(), key=lambda x: -x[1]))
    lines = [f"files by format: {shown or 'none'}"]
    if card.bom_path is None:
        return [*lines, "no BOM written: pass --bom FILE (CycloneDX 1.6 or SPDX 3.0.1)"]
    if card.bom_error:
        return [*lines, f"BOM not written: {card.bom_error}"]
    ev = card.evidence
    lines.append(f"{card.bom_format} BOM written to {card.bom_path}")
    lines.append(f"OMS root digest: {ev.root_digest or 'not computed'}")
    lines.append(f"{len(ev.files)} files hashed, {len(ev.licences)} licences, "
                 f"{len(ev.datasets)} datasets, {len(ev.ancestors)} base models, "
                 f"{len(ev.unknowns)} facts unknown")
    return lines


def _inventory_dict(card: Card) -> dict[str, object]:
    if card.bom_path is None:
        return {"status": "not_requested", "message": "pass --bom FILE to write a BOM"}
    if card.bom_error:
        return {"status": "not_available", "message": card.bom_error}
    ev = card.evidence
    return {"status": "written", "path": card.bom_path, "format": card.bom_format,
            "root_digest": ev.root_digest or None, "files": len(ev.files),
            "licences": len(ev.licences), "datasets": len(ev.datasets),
            "base_models": len(ev.ancestors), "unknowns": list(ev.unknowns)}


def card_dict(card: Card) -> dict[str, object]:
    """The card as JSON: every section with its status and its full report."""
    report = card.scan
    sections: dict[str, object] = {
        "safety": {"status": report.verdict, "report": json_report.to_dict(report)},
        "integrity": {"status": "checked", "lines": card.integrity,
                      "findings": [json_report.finding_to_dict(f)
                                   for f in card.integrity_findings]},
        "openness": ({"status": "assessed", "report": card.openness.to_dict()}
                     if card.openness is not None else
                     {"status": "not_available", "message": card.openness_error}),
        "lineage": ({"status": "compared", "report": card.comparison.to_dict()}
                    if card.comparison is not None else
                    {"status": "not_available",
                     "message": card.comparison_error or "no --base given"}),
        "inventory": _inventory_dict(card),
    }
    return {
        "kind": "audit",
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": json_report.TOOL_NAME, "version": report.tool_version},
        "targets": list(report.targets),
        "failed": card.failed,
        "failing": [{"section": name, "rule_id": f.rule_id, "severity": f.severity.value,
                     "path": f.path} for name, f in card.failing],
        "sections": sections,
    }


def _print(card: Card, console: Console) -> None:
    for line in card_lines(card):
        console.print(line, soft_wrap=True)


def render_card(card: Card, fmt: str) -> str:
    """The card as text in ``fmt`` (``console`` is plain text here)."""
    if fmt == "json":
        return json_report.dumps(card_dict(card))
    buf = io.StringIO()
    _print(card, plain_console(buf))
    return strip_trailing(buf.getvalue())


@click.command("audit", epilog=AUDIT_EPILOG, short_help="Print a report card for a model.")
@scan_options
@click.option("-f", "--format", "fmt", type=click.Choice(["console", "json"]),
              default="console", show_default=True, help="Report card format.")
@click.option("--base", type=click.Path(exists=True), default=None,
              help="Base model to compare the weights with (Lineage/tampering section).")
@click.option("--bom", "bom", type=click.Path(dir_okay=False, path_type=str), default=None,
              metavar="FILE", help="Also write a BOM of the audited model to FILE.")
@click.option("--bom-format", type=click.Choice(["cyclonedx", "spdx"]), default=None,
              help="BOM standard (default: from the --bom file name, else cyclonedx).")
@output_option
def audit_command(fmt: str, output: str | None, base: str | None, bom: str | None,
                  bom_format: str | None, **params: Any) -> None:
    """Audit a model and print one report card.

    Safety is the same analysis as 'modeltrust scan'; Integrity checks a signature file
    found beside the model (and a Hugging Face cache's blobs); Openness is 'modeltrust
    openness'; Lineage/tampering is 'modeltrust compare' when --base is given. The exit
    code follows --fail-on over the findings of every section.
    """
    opts = ScanOptions.from_params(params)
    report = run_scan(opts)
    card = build_card(report, base, bom, bom_format)
    if output is not None and output != "-":
        atomic_write(output, render_card(card, fmt))
        if not opts.quiet:
            note(f"wrote audit card to {output} (verdict: {report.verdict})")
    elif fmt == "json":
        click.echo(render_card(card, fmt), nl=False)
    else:
        with stdout_console() as console:
            _print(card, console)
    if card.bom_error:  # asked for and not written: the run did not do what was asked
        click.echo(f"modeltrust: BOM not written: {card.bom_error}", err=True)
        click.get_current_context().exit(2)
    click.get_current_context().exit(1 if card.failed else 0)
