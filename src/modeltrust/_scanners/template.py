"""STUB: being written."""

from __future__ import annotations

from modeltrust._inventory.formats import Format
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, Buffer


class TemplateScanner(Scanner):
    """STUB."""

    name = "template"
    formats = frozenset({Format.TEMPLATE})

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """STUB."""
        return Result.not_analysed("scanner not written yet")
