"""STUB: being written."""

from __future__ import annotations

from modeltrust._inventory.formats import Format
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, Buffer


class KerasScanner(Scanner):
    """STUB."""

    name = "keras"
    formats = frozenset({Format.HDF5})

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """STUB."""
        return Result.not_analysed("scanner not written yet")


def check_keras_config(config: object, artifact: Artifact, ctx: ScanContext, where: str) -> None:
    """Check a parsed Keras model config (from config.json or an HDF5 attribute). STUB."""
