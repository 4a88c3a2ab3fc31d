"""SARIF 2.1.0 report, for code-scanning dashboards (GitHub, GitLab, Azure DevOps, IDEs).

One run; the driver lists only the rules that results reference (so the file stays small and
``ruleIndex`` is stable for a given set of findings). Archive members (``outer.zip!inner``)
point at the real file on disk, with the member named in a logical location and in the
message, because SARIF viewers can only open real files. Files that were not fully analysed
become tool execution notifications, so a dashboard shows that coverage was incomplete.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

from modeltrust import rules
from modeltrust._report.json import TOOL_NAME, dumps, prose
from modeltrust._report.model import Coverage, FileEntry, Report
from modeltrust._source.interface import MEMBER_SEP
from modeltrust.findings import Finding, Rule, Severity

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://pypi.org/project/modeltrust/"
FINGERPRINT_KEY = "modeltrustFinding/v1"
"""Name of our partial fingerprint; the ``/v1`` changes if the hashed fields ever change."""

SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
"""CVSS-like score GitHub uses to rank security alerts (a string, as GitHub expects)."""

LEVEL: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def render(report: Report) -> str:
    """Render a report as a deterministic SARIF 2.1.0 log (JSON text)."""
    return dumps(to_dict(report))


def to_dict(report: Report) -> dict[str, object]:
    """The SARIF log as plain data, before serialisation."""
    used = _rules_for(report.findings)
    index = {r.id: i for i, r in enumerate(used)}
    outers = _outer_files(report.files)
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(r) for r in used],
            }
        },
        "invocations": [_invocation(report, outers)],
        "results": [_result(f, index[f.rule_id], outers) for f in report.findings],
        "columnKind": "unicodeCodePoints",
        "properties": {
            "verdict": report.verdict,
            "failOn": report.fail_on.value,
            "targets": list(report.targets),
        },
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def _rules_for(findings: tuple[Finding, ...]) -> list[Rule]:
    """The rules referenced by findings, sorted by id; unknown ids get a minimal stand-in."""
    out: dict[str, Rule] = {}
    for f in findings:
        if f.rule_id in out:
            continue
        try:
            out[f.rule_id] = rules.get(f.rule_id)
        except KeyError:
            out[f.rule_id] = Rule(f.rule_id, f.title, f.severity, f.title)
    return [out[k] for k in sorted(out)]


def _rule(r: Rule) -> dict[str, object]:
    tags = ["security"]
    if r.cwe is not None:
        tags += [f"CWE-{r.cwe}", f"external/cwe/cwe-{r.cwe}"]
    description = prose(r.description) or r.title
    help_text = prose(r.fix) if r.fix else description
    out: dict[str, object] = {
        "id": r.id,
        "name": _pascal(r.title),
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": description},
        "help": {"text": help_text, "markdown": _help_markdown(r)},
        "defaultConfiguration": {"level": LEVEL[r.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[r.severity],
            "severity": r.severity.value,
            "tags": tags,
        },
    }
    web = [ref for ref in r.references if ref.startswith(("https://", "http://"))]
    if web:
        out["helpUri"] = web[0]
    return out


def _help_markdown(r: Rule) -> str:
    parts = [f"**{r.title}** ({r.severity.value})", prose(r.description)]
    if r.fix:
        parts.append(f"**How to fix:** {prose(r.fix)}")
    if r.cwe is not None:
        parts.append(f"CWE: [CWE-{r.cwe}](https://cwe.mitre.org/data/definitions/{r.cwe}.html)")
    if r.references:
        parts.append("References:\n" + "\n".join(f"- {ref}" for ref in r.references))
    return "\n\n".join(p for p in parts if p)


def _pascal(title: str) -> str:
    """SARIF ``name`` is an identifier-like label: ``PickleCallsOsSystem``."""
    words = "".join(c if c.isalnum() else " " for c in title).split()
    return "".join(w[:1].upper() + w[1:] for w in words) or "Rule"


def _result(f: Finding, rule_index: int, outers: set[str]) -> dict[str, object]:
    outer, member = split_member(f.path, outers)
    loc = f.location
    where = loc.describe()
    text = f"{f.title}: {f.evidence}" if f.evidence else f.title
    if member:
        text += f" (in {member}"
        text += f", {where})" if where != "whole file" else ")"
    elif where != "whole file":
        text += f" ({where})"
    physical: dict[str, object] = {"artifactLocation": {"uri": path_uri(outer)}}
    region = _region(f) if not member and loc.member is None else {}
    if region:
        physical["region"] = region
    location: dict[str, object] = {"physicalLocation": physical}
    logical = _logical(member, f)
    if logical:
        location["logicalLocations"] = logical
    return {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL[f.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f)},
        "properties": {"severity": f.severity.value, "location": loc.to_dict()},
    }


def _region(f: Finding) -> dict[str, object]:
    """Region in the file on disk; only for findings not inside a member.

    A member's offsets and lines count from the start of the member's (decompressed)
    bytes, so they would point at the wrong place in the outer file. They stay in the
    message and in ``properties.location``.
    """
    loc = f.location
    region: dict[str, object] = {}
    if loc.offset is not None and loc.offset >= 0:
        region["byteOffset"] = loc.offset
    if loc.line is not None and loc.line >= 1:
        region["startLine"] = loc.line
    return region


def _logical(member: str, f: Finding) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    if member:
        out.append({"name": PurePosixPath(member).name or member,
                    "fullyQualifiedName": member, "kind": "archiveMember"})
    if f.location.member is not None:
        out.append({"name": f.location.member, "kind": "member"})
    if f.location.tensor is not None:
        out.append({"name": f.location.tensor, "kind": "tensor"})
    return out


def fingerprint(f: Finding) -> str:
    """Stable id of a finding across runs: same rule, file, location and evidence."""
    loc = f.location
    parts = (f.rule_id, f.path, str(loc.offset), str(loc.member), str(loc.line),
             str(loc.tensor), str(loc.detail), f.evidence)
    data = _utf8("\x1f".join(parts))
    return hashlib.sha256(data).hexdigest()[:32]


def _utf8(text: str) -> bytes:
    """UTF-8 of any text: file-name bytes come back as they were, other surrogates as is."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that did not come from a file name
        return text.encode("utf-8", "surrogatepass")


def split_member(path: str, outers: set[str]) -> tuple[str, str]:
    """Split ``outer.zip!inner/data.pkl`` into the file on disk and the member path.

    The split is made at the first separator whose prefix is a scanned file, so a real
    file name that happens to contain the separator is left whole.
    """
    start = 0
    while (i := path.find(MEMBER_SEP, start)) != -1:
        if path[:i] in outers:
            return path[:i], path[i + 1 :]
        start = i + 1
    return path, ""


def path_uri(path: str) -> str:
    """A SARIF ``uri``: relative paths stay relative (percent-encoded), absolute become file:."""
    if os.name == "nt" and PureWindowsPath(path).is_absolute():  # pragma: no cover
        return PureWindowsPath(path).as_uri()
    posix = path.replace(os.sep, "/")
    encoded = quote(_utf8(posix), safe="/")
    if posix.startswith("/"):
        return "file://" + encoded
    return encoded


def _outer_files(files: tuple[FileEntry, ...]) -> set[str]:
    return {e.path for e in files}


def _invocation(report: Report, outers: set[str]) -> dict[str, object]:
    notes: list[dict[str, object]] = []
    for entry in report.files:
        if entry.coverage is Coverage.ANALYSED:
            continue
        outer, _member = split_member(entry.path, outers)
        how = entry.coverage.value.replace("_", " ")
        reason = entry.reason or "no reason given"
        notes.append({
            "level": "warning" if entry.coverage is Coverage.NOT_ANALYSED else "note",
            "message": {"text": f"{entry.path}: {how}: {reason}"},
            "descriptor": {"id": f"coverage/{entry.coverage.value}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": path_uri(outer)}}}],
        })
    out: dict[str, object] = {"executionSuccessful": True}
    if notes:
        out["toolExecutionNotifications"] = notes
    return out
