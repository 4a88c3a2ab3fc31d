"""STUB: to be written."""

from __future__ import annotations

from modeltrust._inventory.formats import Format
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, Buffer


class NpyScanner(Scanner):
    """STUB."""

    name = "numpy"
    formats = frozenset({Format.NUMPY_NPY})

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """STUB."""
        return Result.not_analysed("not implemented yet")
