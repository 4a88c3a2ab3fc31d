"""The list of built-in scanners, plus plugins from the ``modeltrust.scanners`` group.

Importing this module registers every built-in rule.
"""

from __future__ import annotations

from functools import cache

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
def builtin_scanners() -> tuple[Scanner, ...]:
    """One instance of every built-in scanner."""
    return tuple(cls() for cls in BUILTIN)


@cache
def plugin_scanners() -> tuple[Scanner, ...]:
    """Scanners from installed plugins, sorted by entry-point name (read on first need)."""
    from importlib.metadata import entry_points

    found: list[Scanner] = []
    for ep in sorted(entry_points(group="modeltrust.scanners"), key=lambda e: e.name):
        cls = ep.load()
        if isinstance(cls, type) and issubclass(cls, Scanner):
            found.append(cls())
    return tuple(found)


def scanners() -> tuple[Scanner, ...]:
    """Every scanner: built-ins first, then plugins."""
    return builtin_scanners() + plugin_scanners()


def scanner_for(fmt: Format) -> Scanner | None:
    """The built-in scanner for ``fmt``, else the first plugin that takes it, else None."""
    for group in (builtin_scanners, plugin_scanners):
        for s in group():
            if fmt in s.formats:
                return s
    return None
