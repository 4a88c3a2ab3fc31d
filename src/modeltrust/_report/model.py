"""The report model: what was looked at (files), what was found (findings), and the verdict.

Reports contain no timestamps or machine-specific data, and every list is sorted, so the
same input always produces byte-identical output.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field

from modeltrust import __version__
from modeltrust.findings import Finding, Severity

REPORT_SCHEMA_VERSION = "1.0"


class Coverage(enum.Enum):
    """How completely a file was analysed. Nothing is skipped silently."""

    ANALYSED = "analysed"
    PARTIAL = "partial"
    NOT_ANALYSED = "not_analysed"


@dataclass(frozen=True)
class FileEntry:
    """One file or archive member and how far it was analysed."""

    path: str
    size: int
    format: str
    coverage: Coverage
    reason: str = ""
    detail: str = ""
    sha256: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    """Facts a scanner read from the file (e.g. GGUF ``general.architecture``), sorted."""

    def to_dict(self) -> dict[str, object]:
        """JSON form (stable keys, optional keys omitted when empty)."""
        out: dict[str, object] = {
            "path": self.path,
            "size": self.size,
            "format": self.format,
            "coverage": self.coverage.value,
        }
        if self.reason:
            out["reason"] = self.reason
        if self.detail:
            out["detail"] = self.detail
        if self.sha256:
            out["sha256"] = self.sha256
        if self.properties:
            out["properties"] = dict(self.properties)
        return out


@dataclass(frozen=True)
class Report:
    """The result of a scan: targets, every file looked at, every finding, and the verdict."""

    targets: tuple[str, ...]
    files: tuple[FileEntry, ...]
    findings: tuple[Finding, ...]
    fail_on: Severity = Severity.HIGH
    tool_version: str = field(default=__version__)

    @staticmethod
    def build(
        targets: list[str],
        files: list[FileEntry],
        findings: list[Finding],
        fail_on: Severity = Severity.HIGH,
    ) -> Report:
        """Sort and freeze; duplicates (same rule, path, location, evidence) are dropped."""
        uniq = {(f.rule_id, f.path, f.location, f.evidence, f.severity): f for f in findings}
        return Report(
            targets=tuple(targets),
            files=tuple(sorted(files, key=lambda e: e.path)),
            findings=tuple(sorted(uniq.values(), key=Finding.sort_key)),
            fail_on=fail_on,
        )

    @property
    def max_severity(self) -> Severity | None:
        """The worst severity found, or None when there are no findings."""
        return max((f.severity for f in self.findings), default=None)

    @property
    def failed(self) -> bool:
        """True when some finding is at or above ``fail_on`` (exit code 1)."""
        worst = self.max_severity
        return worst is not None and worst >= self.fail_on

    @property
    def verdict(self) -> str:
        """One word for the whole scan: ``unsafe``, ``suspicious`` or ``pass``."""
        worst = self.max_severity
        if worst is None:
            return "pass"
        if worst >= Severity.HIGH:
            return "unsafe"
        if worst >= Severity.MEDIUM:
            return "suspicious"
        return "pass"

    def counts(self) -> dict[str, int]:
        """Number of findings per severity, every severity present (zero when none)."""
        c = Counter(f.severity for f in self.findings)
        return {s.value: c.get(s, 0) for s in sorted(Severity, reverse=True)}

    def formats(self) -> dict[str, int]:
        """Number of files per detected format, sorted by format name."""
        c = Counter(e.format for e in self.files)
        return dict(sorted(c.items()))

    def findings_for(self, path: str) -> list[Finding]:
        """Findings attached to one file path."""
        return [f for f in self.findings if f.path == path]
