"""Repository-level checks that need the whole file list (STUB, being written)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from modeltrust._report.model import FileEntry
from modeltrust._source.interface import Limits
from modeltrust.findings import Finding


def scan_repository(
    folder: Path, shown_root: str, entries: Sequence[FileEntry], limits: Limits
) -> list[Finding]:
    """Cross-file checks for one scanned folder; returns findings (STUB)."""
    return []
