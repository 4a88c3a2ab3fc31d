"""Value types shared by every stage: severities, rules, locations and findings.

Everything here is frozen and ordered so that reports are deterministic: the same input
always yields the same findings in the same order, which lets reports be diffed and signed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import total_ordering


@total_ordering
class Severity(enum.Enum):
    """How bad a finding is; ordering follows danger (``INFO < ... < CRITICAL``)."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Numeric rank, 0 (info) to 4 (critical)."""
        return _RANKS[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Parse a severity name case-insensitively; raise ``ValueError`` on anything else."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None


_RANKS = {s: i for i, s in enumerate(Severity)}


@dataclass(frozen=True)
class Rule:
    """A stable check: its id never changes meaning once published.

    ``description`` is what ``modeltrust rules ID`` prints: what the rule detects, why it
    matters and how to fix it.
    """

    id: str
    title: str
    severity: Severity
    description: str
    fix: str = ""
    cwe: int | None = None
    references: tuple[str, ...] = ()


@dataclass(frozen=True, order=True)
class Location:
    """Where in an artifact the evidence sits. Every part is optional."""

    offset: int | None = None
    member: str | None = None
    line: int | None = None
    tensor: str | None = None
    detail: str | None = None

    def describe(self) -> str:
        """Human-readable location, e.g. ``offset 0x3f`` or ``line 4``."""
        parts: list[str] = []
        if self.member is not None:
            parts.append(f"member {self.member}")
        if self.tensor is not None:
            parts.append(f"tensor {self.tensor}")
        if self.offset is not None:
            parts.append(f"offset {self.offset:#x}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.detail is not None:
            parts.append(self.detail)
        return ", ".join(parts) if parts else "whole file"

    def to_dict(self) -> dict[str, object]:
        """JSON form: only the parts that are set."""
        out: dict[str, object] = {}
        for key in ("offset", "member", "line", "tensor", "detail"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class Finding:
    """One piece of evidence that something in a model deserves attention."""

    rule_id: str
    severity: Severity
    title: str
    path: str
    evidence: str
    location: Location = field(default_factory=Location)

    def sort_key(self) -> tuple[object, ...]:
        """Order used in reports: by file, then most severe first, then position."""
        loc = self.location
        return (
            self.path,
            -self.severity.rank,
            loc.offset if loc.offset is not None else -1,
            loc.line if loc.line is not None else -1,
            loc.member or "",
            self.rule_id,
            self.evidence,
        )
