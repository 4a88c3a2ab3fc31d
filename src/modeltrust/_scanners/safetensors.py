"""STUB: being written."""

from __future__ import annotations

from pathlib import Path

from modeltrust._inventory.formats import Format
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, Buffer, Limits
from modeltrust.findings import Finding


class SafetensorsScanner(Scanner):
    """STUB."""

    name = "safetensors"
    formats = frozenset({Format.SAFETENSORS})

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """STUB."""
        return Result.not_analysed("scanner not written yet")


def check_sharded_index(
    index_file: Path, shown: str, folder: Path, limits: Limits
) -> list[Finding]:
    """Check a ``*.safetensors.index.json`` against its shards. STUB."""
    return []
