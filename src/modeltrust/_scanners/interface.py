"""The contract between the pipeline and a scanner.

A scanner receives an artifact, its bytes and a :class:`ScanContext`; it reports findings and
hands archive members back through the context, and returns how far it got (coverage).
Scanners never raise for bad input: malformed bytes are a finding.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._source.interface import Artifact, Buffer, ExpansionBudget, Limits
from modeltrust.findings import Finding, Rule


@dataclass(frozen=True)
class Result:
    """How far a scanner got with one artifact."""

    coverage: Coverage = Coverage.ANALYSED
    reason: str = ""
    detail: str = ""
    format: Format | None = None
    """A more precise format than the sniffer's (e.g. ``pytorch-zip`` for a zip)."""
    properties: tuple[tuple[str, str], ...] = ()
    """Facts later stages use (GGUF architecture, licence, base model...), sorted by key."""

    @staticmethod
    def partial(reason: str, detail: str = "", format: Format | None = None) -> Result:
        """The artifact was only partly analysed, for ``reason``."""
        return Result(Coverage.PARTIAL, reason, detail, format)

    @staticmethod
    def not_analysed(reason: str, detail: str = "", format: Format | None = None) -> Result:
        """The artifact was not analysed at all, for ``reason``."""
        return Result(Coverage.NOT_ANALYSED, reason, detail, format)


@dataclass
class ScanContext:
    """What a scanner may use while it works on one artifact.

    ``scan_child`` analyses an archive member (or decoded payload) as a file of its own; it
    is bound by the pipeline and enforces the nesting limits.
    """

    limits: Limits
    budget: ExpansionBudget
    scan_child: Callable[[Artifact], None]
    findings: list[Finding] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def report(self, finding: Finding) -> None:
        """Record a finding."""
        self.findings.append(finding)


class Scanner(ABC):
    """One format family. Subclasses declare the formats they take and the rules they raise."""

    name: ClassVar[str]
    formats: ClassVar[frozenset[Format]]
    rules: ClassVar[tuple[Rule, ...]] = ()

    @abstractmethod
    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Analyse ``data`` (the artifact's bytes), report findings on ``ctx``."""
