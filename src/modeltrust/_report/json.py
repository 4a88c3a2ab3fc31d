"""JSON report: the machine-readable form of a :class:`Report`, described by a JSON Schema.

The output is deterministic (sorted keys, two-space indent, trailing newline, no timestamps)
so that two scans of the same bytes produce identical files that can be diffed, cached or
signed. The shape is documented in ``docs/report-schema.json``; bump
:data:`REPORT_SCHEMA_VERSION` whenever a field changes meaning or disappears.

The summary helpers here (:func:`coverage_counts`, :func:`summary`) are also what the
console and SARIF renderers use, so every format agrees on the numbers.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping

from modeltrust._report.model import REPORT_SCHEMA_VERSION, Coverage, Report
from modeltrust.findings import Finding

TOOL_NAME = "modeltrust"


def coverage_counts(report: Report) -> dict[str, int]:
    """Number of files per coverage level, every level present (zero when none).

    Kept next to the JSON form because the JSON summary is the reference every other
    format's numbers must agree with.
    """
    counts = {c.value: 0 for c in Coverage}
    for entry in report.files:
        counts[entry.coverage.value] += 1
    return counts


def summary(report: Report) -> dict[str, object]:
    """The one-screen summary: counts by severity, formats, coverage and the worst severity."""
    worst = report.max_severity
    return {
        "counts": report.counts(),
        "coverage": coverage_counts(report),
        "files": len(report.files),
        "findings": len(report.findings),
        "formats": report.formats(),
        "max_severity": worst.value if worst is not None else None,
    }


def finding_to_dict(f: Finding) -> dict[str, object]:
    """JSON form of one finding; ``location`` carries only the parts that are set."""
    return {
        "evidence": f.evidence,
        "location": f.location.to_dict(),
        "path": f.path,
        "rule_id": f.rule_id,
        "severity": f.severity.value,
        "title": f.title,
    }


def to_dict(report: Report) -> dict[str, object]:
    """The whole report as plain JSON-compatible data (before serialisation)."""
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "targets": list(report.targets),
        "verdict": report.verdict,
        "failed": report.failed,
        "fail_on": report.fail_on.value,
        "summary": summary(report),
        "findings": [finding_to_dict(f) for f in report.findings],
        "files": [e.to_dict() for e in report.files],
    }


def dumps(document: Mapping[str, object]) -> str:
    r"""Serialise deterministically: sorted keys, indent 2, UTF-8 text, trailing newline.

    File names on POSIX may hold bytes that are not UTF-8 (Python keeps them as lone
    surrogates); those are rewritten as ``\xNN`` so the output is always valid UTF-8.
    """
    return json.dumps(_clean(document), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def render(report: Report) -> str:
    """Render a report as a deterministic JSON string (see ``docs/report-schema.json``)."""
    return dumps(to_dict(report))


def safe_text(text: str) -> str:
    r"""Return ``text`` with undecodable file-name bytes shown as ``\xNN`` escapes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate that did not come from a file name
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
        return raw.decode("utf-8", "backslashreplace")
    return text


def _clean(value: object) -> object:
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, Mapping):
        return {safe_text(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def prose(text: str) -> str:
    """Reflow a rule's docstring-style text: one line per paragraph, list items kept.

    Rule descriptions are written as indented triple-quoted strings; readers (terminals,
    SARIF viewers) should wrap them to their own width instead of ours.
    """
    paragraphs: list[str] = []
    for block in inspect.cleandoc(text).split("\n\n"):
        lines: list[str] = []
        for raw in block.splitlines():
            line = raw.strip()
            if not line:
                continue
            if lines and not line.startswith(("- ", "* ")):
                lines[-1] += " " + line
            else:
                lines.append(line)
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)
