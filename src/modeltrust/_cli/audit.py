"""``modeltrust audit``: one report card for a model, one section per question.

Safety (the scan), Integrity (signature and cache checks), Openness (licence, OSAID, MOF),
Lineage/tampering (weights compared with ``--base``) and the Inventory. A section that is not
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

NOT_YET = "not yet available in this version"
TOP_FINDINGS = 5
"""Findings shown on the card; the full list is what ``modeltrust scan`` prints."""

AUDIT_EPILOG = f"""{EXIT_CODES_HELP}

\b
Examples:
  modeltrust audit ./my-model
  modeltrust audit ./my-model --base ./base-model
  modeltrust audit ./my-model --fail-on medium --format json -o audit.json
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
    sections: dict[str, object] = field(default_factory=dict)

    @property
    def findings(self) -> list[Finding]:
        """Findings of every section (the exit code is taken over all of them)."""
        out = list(self.scan.findings) + self.integrity_findings
        if self.openness is not None:
            out += list(self.openness.findings)
        if self.comparison is not None:
            out += list(self.comparison.findings)
        return out

    @property
    def failed(self) -> bool:
        """True when any section has a finding at or above ``--fail-on``."""
        return any(f.severity >= self.scan.fail_on for f in self.findings)


def build_card(report: Report, base: str | None) -> Card:
    """Run the other stages on the audited model and collect their results."""
    card = Card(report)
    target = report.targets[0]
    _integrity(card, target)
    try:
        card.openness = modeltrust.openness(target, fail_on=report.fail_on)
    except Error as exc:
        card.openness_error = exc.diagnostics()
    if base is not None:
        try:
            card.comparison = modeltrust.compare(base, target, fail_on=report.fail_on)
        except Error as exc:
            card.comparison_error = exc.diagnostics()
    return card


def _integrity(card: Card, target: str) -> None:
    from modeltrust._integrity.hf_cache import check_hf_cache
    from modeltrust._integrity.verifying import signature_status

    status = signature_status(Path(target))
    if status is None:
        card.integrity.append("no signature file (model.sig) found: run 'modeltrust sign'")
    else:
        card.integrity.append(f"signature {status.signature}: {status.state}")
        card.integrity.append(status.message)
    cache = check_hf_cache(target)
    card.integrity_findings.extend(cache)
    if cache:
        card.integrity.append(f"Hugging Face cache: {len(cache)} file(s) do not match their blob")


def card_lines(card: Card) -> list[Text]:
    """The report card as lines of text, one block per section."""
    report = card.scan
    cov = json_report.coverage_counts(report)
    targets = ", ".join(clean(t) for t in report.targets)
    out = [Text(f"modeltrust audit: {targets}", style="bold"), Text("")]
    out.append(Text(f"{'Safety':<18}").append_text(verdict_text(report))
               .append(f"  (--fail-on {report.fail_on.value}: "
                       f"{'failed' if card.failed else 'passed'})"))
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
    out.append(Text(f"{'Inventory (BOM)':<18}{NOT_YET}", style="dim"))
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
        "inventory": {"status": "not_available", "message": NOT_YET},
    }
    return {
        "kind": "audit",
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": json_report.TOOL_NAME, "version": report.tool_version},
        "targets": list(report.targets),
        "failed": card.failed,
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
@output_option
def audit_command(fmt: str, output: str | None, base: str | None, **params: Any) -> None:
    """Audit a model and print one report card.

    Safety is the same analysis as 'modeltrust scan'; Integrity checks a signature file
    found beside the model (and a Hugging Face cache's blobs); Openness is 'modeltrust
    openness'; Lineage/tampering is 'modeltrust compare' when --base is given. The exit
    code follows --fail-on over the findings of every section.
    """
    opts = ScanOptions.from_params(params)
    report = run_scan(opts)
    card = build_card(report, base)
    if output is not None and output != "-":
        atomic_write(output, render_card(card, fmt))
        if not opts.quiet:
            note(f"wrote audit card to {output} (verdict: {report.verdict})")
    elif fmt == "json":
        click.echo(render_card(card, fmt), nl=False)
    else:
        with stdout_console() as console:
            _print(card, console)
    click.get_current_context().exit(1 if card.failed else 0)
