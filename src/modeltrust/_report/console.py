"""Console report: a one-screen summary, then findings per file, then coverage gaps.

Built with ``rich`` so a terminal gets colour, while :func:`render` produces plain,
deterministic text (no escape codes, fixed width) for pipes and ``--output`` files.

Everything printed from a model (paths, evidence, reasons) is attacker-controlled: it is
shown as literal text (never parsed as markup) and control characters are escaped, so a
hostile file name or pickle string cannot rewrite the terminal or hide a finding.
"""

from __future__ import annotations

import io
import unicodedata
from collections import defaultdict
from typing import IO

from rich.console import Console
from rich.text import Text

from modeltrust._report.json import TOOL_NAME, coverage_counts, safe_text
from modeltrust._report.model import Coverage, FileEntry, Report
from modeltrust.findings import Finding, Severity

PLAIN_WIDTH = 100
"""Width of plain-text output; fixed so that output does not depend on the terminal."""

COMPACT_PATHS = 5
"""Paths shown per coverage group before ``+N more`` when not verbose."""

SEVERITY_STYLE: dict[Severity, str] = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
VERDICT_STYLE = {"unsafe": "bold red", "suspicious": "bold yellow", "pass": "bold green"}
COVERAGE_STYLE = {
    Coverage.ANALYSED: "green",
    Coverage.PARTIAL: "yellow",
    Coverage.NOT_ANALYSED: "magenta",
}
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


def clean(text: str) -> str:
    """Escape control and bidi-override characters so hostile strings display literally."""
    text = safe_text(text)
    if text.isprintable():
        return text
    out: list[str] = []
    for ch in text:
        if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def plain_console(file: IO[str] | None = None) -> Console:
    """A console that never emits colour or cursor codes and has a fixed width."""
    return Console(
        file=file or io.StringIO(),
        width=PLAIN_WIDTH,
        color_system=None,
        force_terminal=False,
        force_interactive=False,
        no_color=True,
        highlight=False,
        emoji=False,
        markup=False,
    )


def render(report: Report, *, verbose: bool = False, quiet: bool = False) -> str:
    """Render the report as plain text (what ``--output`` files and pipes receive)."""
    buf = io.StringIO()
    print_report(report, plain_console(buf), verbose=verbose, quiet=quiet)
    return strip_trailing(buf.getvalue())


def strip_trailing(text: str) -> str:
    """Drop the trailing spaces rich pads lines with, so plain text diffs cleanly."""
    return "\n".join(line.rstrip() for line in text.split("\n"))


def print_report(
    report: Report, console: Console, *, verbose: bool = False, quiet: bool = False
) -> None:
    """Print the report to ``console`` (coloured when the console is a terminal)."""
    for line in summary_lines(report, quiet=quiet):
        console.print(line, soft_wrap=True)
    if quiet:
        return
    for line in [*finding_lines(report), *coverage_lines(report, verbose=verbose)]:
        console.print(line, soft_wrap=True)


def severity_label(sev: Severity) -> Text:
    """``CRITICAL`` etc., padded and styled."""
    return Text(f"{sev.value.upper():<8}", style=SEVERITY_STYLE[sev])


def verdict_text(report: Report) -> Text:
    """``UNSAFE`` / ``SUSPICIOUS`` / ``PASS`` in its colour."""
    return Text(report.verdict.upper(), style=VERDICT_STYLE.get(report.verdict, "bold"))


def counts_text(report: Report) -> Text:
    """``1 critical, 0 high, ...`` with non-zero counts coloured."""
    out = Text()
    for i, (name, n) in enumerate(report.counts().items()):
        if i:
            out.append(", ")
        out.append(f"{n} {name}", style=SEVERITY_STYLE[Severity(name)] if n else "")
    return out


def summary_lines(report: Report, *, quiet: bool = False) -> list[Text]:
    """The summary block; with ``quiet`` only the verdict and the counts."""
    status = "failed" if report.failed else "passed"
    verdict = Text("Verdict: ").append_text(verdict_text(report))
    verdict.append(f"  (--fail-on {report.fail_on.value}: {status})")
    findings = Text(f"Findings: {len(report.findings)}  (").append_text(counts_text(report))
    findings.append(")")
    if quiet:
        return [verdict, findings]
    cov = coverage_counts(report)
    formats = ", ".join(f"{name} {n}" for name, n in report.formats().items()) or "none"
    targets = ", ".join(clean(t) for t in report.targets[:3])
    if len(report.targets) > 3:
        targets += f" (+{len(report.targets) - 3} more)"
    coverage = Text("Coverage: ")
    coverage.append(f"{cov['analysed']} analysed", style=COVERAGE_STYLE[Coverage.ANALYSED])
    coverage.append(", ").append(f"{cov['partial']} partial",
                                 style=COVERAGE_STYLE[Coverage.PARTIAL] if cov["partial"] else "")
    coverage.append(", ").append(
        f"{cov['not_analysed']} not analysed",
        style=COVERAGE_STYLE[Coverage.NOT_ANALYSED] if cov["not_analysed"] else "",
    )
    return [
        Text(f"{TOOL_NAME} {report.tool_version}: scanned {targets}", style="bold"),
        verdict,
        findings,
        Text(f"Files: {len(report.files)}  ({formats})"),
        coverage,
    ]


def files_by_severity(report: Report) -> list[tuple[str, list[Finding]]]:
    """Findings grouped per file, files ordered most severe first (then by path)."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        groups[f.path].append(f)
    return sorted(
        groups.items(), key=lambda kv: (-max(f.severity.rank for f in kv[1]), kv[0])
    )


def finding_lines(report: Report) -> list[Text]:
    """Findings per file with rule id, severity, title, location and evidence."""
    if not report.findings:
        return [Text(""), Text("No findings.", style="green")]
    out = [Text(""), Text(f"Findings ({len(report.findings)})", style="bold underline")]
    for path, found in files_by_severity(report):
        worst = max(f.severity for f in found)
        header = Text("\n").append(clean(path), style="bold")
        header.append(f"  ({len(found)} finding{'s' if len(found) != 1 else ''}, worst: ")
        header.append(worst.value, style=SEVERITY_STYLE[worst]).append(")")
        out.append(header)
        for f in sorted(found, key=Finding.sort_key):
            out.extend(_finding_block(f))
    return out


def _finding_block(f: Finding) -> list[Text]:
    pad = " " * 12
    head = Text("  ").append_text(severity_label(f.severity))
    head.append("  ").append(f.rule_id, style="bold").append("  ").append(clean(f.title))
    lines = [head, Text(f"{pad}location: {clean(f.location.describe())}", style="dim")]
    if f.evidence:
        lines.append(Text(f"{pad}evidence: {clean(f.evidence)}"))
    return lines


def coverage_lines(report: Report, *, verbose: bool = False) -> list[Text]:
    """Files not fully analysed (grouped, compact) or, verbose, every file and its coverage."""
    if verbose:
        return _all_files(report.files)
    gaps = [e for e in report.files if e.coverage is not Coverage.ANALYSED]
    if not gaps:
        return []
    out = [Text(""), Text(f"Not fully analysed ({len(gaps)} of {len(report.files)} files)",
                          style="bold underline")]
    groups: dict[tuple[Coverage, str], list[str]] = defaultdict(list)
    for e in gaps:
        groups[(e.coverage, e.reason or "no reason given")].append(e.path)
    order = sorted(groups, key=lambda k: (k[0] is not Coverage.NOT_ANALYSED, k[1]))
    for cov, reason in order:
        paths = groups[(cov, reason)]
        line = Text("  ").append(cov.value.replace("_", " "), style=COVERAGE_STYLE[cov])
        line.append(f": {clean(reason)} ({len(paths)}): ")
        line.append(", ".join(clean(p) for p in paths[:COMPACT_PATHS]))
        if len(paths) > COMPACT_PATHS:
            line.append(f", +{len(paths) - COMPACT_PATHS} more (--verbose lists all)")
        out.append(line)
    return out


def _all_files(files: tuple[FileEntry, ...]) -> list[Text]:
    out = [Text(""), Text(f"Files ({len(files)})", style="bold underline")]
    for e in files:
        cov = e.coverage.value.replace("_", " ")
        line = Text("  ").append(f"{cov:<14}", style=COVERAGE_STYLE[e.coverage])
        line.append(f"{clean(e.format):<12} {human_size(e.size):>9}  {clean(e.path)}")
        extras = [clean(x) for x in (e.reason, e.detail) if x]
        if extras:
            line.append("  (" + "; ".join(extras) + ")", style="dim")
        out.append(line)
        if e.sha256:
            out.append(Text(f"{'':<40}sha256 {e.sha256}", style="dim"))
    return out


def human_size(n: int) -> str:
    """``1.5 MiB``-style size with one decimal, exact bytes below 1 KiB."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover - loop always returns
