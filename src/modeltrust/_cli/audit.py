"""``modeltrust audit``: one report card for a model (safety now; the other sections later).

The card is meant to grow one section per question modeltrust answers (see DESIGN.md):
safety from the scan, then integrity, openness, lineage and the inventory. Sections not
implemented yet say so explicitly rather than being left out, so nobody mistakes a missing
section for a clean one.
"""

from __future__ import annotations

import io
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from modeltrust._cli.options import EXIT_CODES_HELP, ScanOptions, output_option, scan_options
from modeltrust._cli.output import atomic_write, note, stdout_console
from modeltrust._cli.scan import exit_code, run_scan
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

NOT_YET = "not yet available in this version"
PENDING_SECTIONS = ("Integrity", "Openness", "Lineage/tampering", "Inventory (BOM)")
TOP_FINDINGS = 5
"""Findings shown on the card; the full list is what ``modeltrust scan`` prints."""

AUDIT_EPILOG = f"""{EXIT_CODES_HELP}

\b
Examples:
  modeltrust audit ./my-model
  modeltrust audit ./my-model --fail-on medium --format json -o audit.json
"""


def card_lines(report: Report) -> list[Text]:
    """The report card as lines of text: Safety first, then the pending sections."""
    cov = json_report.coverage_counts(report)
    targets = ", ".join(clean(t) for t in report.targets)
    out = [Text(f"modeltrust audit: {targets}", style="bold"), Text("")]
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
    for name in PENDING_SECTIONS:
        out.append(Text(f"{name:<18}{NOT_YET}", style="dim"))
    return out


def card_dict(report: Report) -> dict[str, object]:
    """The card as JSON: the full scan report under ``safety``, other sections pending."""
    sections: dict[str, object] = {
        "safety": {"status": report.verdict, "report": json_report.to_dict(report)},
    }
    for name in ("integrity", "openness", "lineage", "inventory"):
        sections[name] = {"status": "not_available", "message": NOT_YET}
    return {
        "kind": "audit",
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": json_report.TOOL_NAME, "version": report.tool_version},
        "targets": list(report.targets),
        "failed": report.failed,
        "sections": sections,
    }


def _print(report: Report, console: Console) -> None:
    for line in card_lines(report):
        console.print(line, soft_wrap=True)


def render_card(report: Report, fmt: str) -> str:
    """The card as text in ``fmt`` (``console`` is plain text here)."""
    if fmt == "json":
        return json_report.dumps(card_dict(report))
    buf = io.StringIO()
    _print(report, plain_console(buf))
    return strip_trailing(buf.getvalue())


@click.command("audit", epilog=AUDIT_EPILOG, short_help="Print a report card for a model.")
@scan_options
@click.option("-f", "--format", "fmt", type=click.Choice(["console", "json"]),
              default="console", show_default=True, help="Report card format.")
@output_option
def audit_command(fmt: str, output: str | None, **params: Any) -> None:
    """Audit a model and print one report card.

    This version fills in the Safety section (the same analysis as 'modeltrust scan');
    Integrity, Openness, Lineage/tampering and Inventory (BOM) are marked as not yet
    available. The exit code follows --fail-on, as for scan.
    """
    opts = ScanOptions.from_params(params)
    report = run_scan(opts)
    if output is not None and output != "-":
        atomic_write(output, render_card(report, fmt))
        if not opts.quiet:
            note(f"wrote audit card to {output} (verdict: {report.verdict})")
    elif fmt == "json":
        click.echo(render_card(report, fmt), nl=False)
    else:
        with stdout_console() as console:
            _print(report, console)
    click.get_current_context().exit(exit_code(report))
