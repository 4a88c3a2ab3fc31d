"""The rule registry: every rule any scanner can raise, by stable id.

Scanners declare their rules at import time with :func:`rule`; the registry is what
``modeltrust rules`` lists and what SARIF output describes.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

from modeltrust.findings import Finding, Location, Rule, Severity

_REGISTRY: dict[str, Rule] = {}


def rule(
    id: str,
    title: str,
    severity: Severity,
    description: str,
    *,
    fix: str = "",
    cwe: int | None = None,
    references: tuple[str, ...] = (),
) -> Rule:
    """Declare a rule once; declaring the same id twice with other content is a bug."""
    new = Rule(id, title, severity, inspect.cleandoc(description), inspect.cleandoc(fix), cwe,
               references)
    old = _REGISTRY.get(id)
    if old is not None and old != new:
        raise RuntimeError(f"rule {id} declared twice with different content")
    _REGISTRY[id] = new
    return new


def get(rule_id: str) -> Rule:
    """Return the rule with this id (``KeyError`` if unknown)."""
    _load_builtin()
    return _REGISTRY[rule_id]


def all_rules() -> Iterator[Rule]:
    """Every registered rule, sorted by id."""
    _load_builtin()
    for key in sorted(_REGISTRY):
        yield _REGISTRY[key]


_RULE_MODULES = (
    "modeltrust._integrity.rules",
    "modeltrust._assess.rules",
    "modeltrust._forensics.rules",
)
"""Rule declarations of the stages that are not scanners (signing, openness, forensics)."""


def _load_builtin() -> None:
    # Importing every built-in scanner and stage registers every built-in rule.
    import importlib

    from modeltrust._scanners import registry

    registry.load_all()
    for module in _RULE_MODULES:
        importlib.import_module(module)


def finding(
    r: Rule,
    path: str,
    evidence: str,
    location: Location | None = None,
    *,
    severity: Severity | None = None,
    title: str | None = None,
) -> Finding:
    """Build a finding for rule ``r``; severity and title may be raised/refined per case."""
    return Finding(
        rule_id=r.id,
        severity=severity or r.severity,
        title=title or r.title,
        path=path,
        evidence=evidence,
        location=location or Location(),
    )
