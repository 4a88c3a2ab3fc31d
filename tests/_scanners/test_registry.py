"""The lazy scanner registry agrees with the scanner classes it names."""

from __future__ import annotations

import importlib

from modeltrust._inventory.formats import Format
from modeltrust._scanners import registry


def test_registry_formats_match_classes() -> None:
    for module, cls, formats in registry.BUILTIN:
        scanner = getattr(importlib.import_module(module), cls)
        assert scanner.formats == formats, (module, cls)


def test_each_format_has_at_most_one_builtin_scanner() -> None:
    seen: dict[Format, str] = {}
    for _module, cls, formats in registry.BUILTIN:
        for fmt in formats:
            assert fmt not in seen, (fmt, cls, seen[fmt])
            seen[fmt] = cls


def test_every_rule_of_every_scanner_is_registered() -> None:
    from modeltrust import rules

    ids = {r.id for r in rules.all_rules()}
    for scanner in registry.load_all():
        assert {r.id for r in scanner.rules} <= ids
