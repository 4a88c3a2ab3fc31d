"""The BOM formats and their renderers, imported on demand (each pulls in its own library).

Adding a format means adding an enum member and a branch in :func:`render`; mypy's
exhaustiveness check fails the build if a branch is forgotten.
"""

from __future__ import annotations

import enum
from typing import assert_never

from modeltrust._bom.evidence import Evidence


class BomFormat(enum.StrEnum):
    """Document formats offered by ``modeltrust bom --format``."""

    CYCLONEDX = "cyclonedx"
    SPDX = "spdx"

    @property
    def label(self) -> str:
        """The standard and version, as shown to users."""
        return "CycloneDX 1.6" if self is BomFormat.CYCLONEDX else "SPDX 3.0.1"


def render(evidence: Evidence, fmt: BomFormat) -> str:
    """The BOM as deterministic JSON text (same evidence, same bytes)."""
    if fmt is BomFormat.CYCLONEDX:
        from modeltrust._bom import cyclonedx

        return cyclonedx.dumps(evidence)
    if fmt is BomFormat.SPDX:
        from modeltrust._bom import spdx

        return spdx.dumps(evidence)
    assert_never(fmt)


def format_for(path: str, default: BomFormat = BomFormat.CYCLONEDX) -> BomFormat:
    """Guess the format from a file name (``*.spdx.json``, ``*.cdx.json``...)."""
    name = path.lower()
    if "spdx" in name:
        return BomFormat.SPDX
    if "cdx" in name or "cyclonedx" in name:
        return BomFormat.CYCLONEDX
    return default
