"""The list of built-in scanners, plus plugins from the ``modeltrust.scanners`` group.

Importing this module registers every built-in rule.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from modeltrust._inventory.formats import Format
from modeltrust._scanners import common  # noqa: F401  (registers pipeline rules)
from modeltrust._scanners.archive import ArchiveScanner
from modeltrust._scanners.compressed import CompressedScanner
from modeltrust._scanners.interface import Scanner
from modeltrust._scanners.numpy import NpyScanner
from modeltrust._scanners.pickle.scanner import PickleScanner
from modeltrust._source import rules as _source_rules  # noqa: F401

BUILTIN: tuple[type[Scanner], ...] = (
    PickleScanner,
    ArchiveScanner,
    CompressedScanner,
    NpyScanner,
)


@cache
def scanners() -> tuple[Scanner, ...]:
    """Instances of every scanner: built-ins first, then plugins."""
    found: list[Scanner] = [cls() for cls in BUILTIN]
    for ep in sorted(entry_points(group="modeltrust.scanners"), key=lambda e: e.name):
        cls = ep.load()
        if isinstance(cls, type) and issubclass(cls, Scanner):
            found.append(cls())
    return tuple(found)


def scanner_for(fmt: Format) -> Scanner | None:
    """The first scanner that takes ``fmt``, or None."""
    for s in scanners():
        if fmt in s.formats:
            return s
    return None
