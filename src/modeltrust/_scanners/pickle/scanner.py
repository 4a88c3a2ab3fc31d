"""STUB."""

from __future__ import annotations

from modeltrust._inventory.formats import Format
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, Buffer


class PickleScanner(Scanner):
    """STUB."""

    name = "pickle"
    formats = frozenset({Format.PICKLE})

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """STUB."""
        return Result.not_analysed("not implemented yet")
