"""Grade every callable a pickle names: allowlisted, dangerous, or unreviewed.

Deny by default: only the explicit allowlist passes. Everything else is graded by what it
can reach (capabilities from a curated table and from static analysis of the standard
library), by where it comes from (standard library or third party), and by whether the
stream actually invokes it.
"""

from __future__ import annotations

from typing import NamedTuple

from modeltrust._scanners.pickle import allowlist, capabilities
from modeltrust._scanners.pickle import rules as r
from modeltrust._scanners.pickle.capabilities import Capability
from modeltrust.findings import Rule, Severity

# Worst first: the rule reported is that of the most dangerous capability reached.
_CAP_ORDER: tuple[tuple[Capability, Rule], ...] = (
    (Capability.CODE_EXEC, r.CODE_EXEC),
    (Capability.PROCESS, r.PROCESS),
    (Capability.NATIVE, r.NATIVE),
    (Capability.UNPICKLE, r.NESTED_LOADER),
    (Capability.IMPORT, r.IMPORT),
    (Capability.ATTRIBUTE, r.IMPORT),
    (Capability.FILE_WRITE, r.FILESYSTEM),
    (Capability.NETWORK, r.NETWORK),
    (Capability.SYSTEM, r.SYSTEM_STATE),
    (Capability.FILE_READ, r.FILESYSTEM),
)
_CRITICAL_CAPS = frozenset({Capability.CODE_EXEC, Capability.PROCESS, Capability.NATIVE,
                            Capability.UNPICKLE, Capability.IMPORT, Capability.ATTRIBUTE})
_HIGH_CAPS = frozenset({Capability.FILE_WRITE, Capability.NETWORK, Capability.SYSTEM})


class Grade(NamedTuple):
    """The verdict on one callable: which rule, how severe, and why."""

    rule: Rule
    severity: Severity
    reason: str


def grade(module: str, name: str, invoked: bool) -> Grade | None:
    """Return None for allowlisted callables, otherwise the grade of ``module.name``."""
    if allowlist.is_allowed(module, name):
        return None
    found = capabilities.assess(module, name)
    if found is not None and found.capabilities:
        return _dangerous(found, invoked)
    if capabilities.is_stdlib(module):
        if capabilities.stdlib_name_known(module, name):
            sev = Severity.MEDIUM if invoked else Severity.LOW
            why = "standard library; static analysis found no dangerous call path"
        else:
            sev = Severity.MEDIUM
            why = "standard library, not analysable (C function or unknown name)"
        return Grade(r.UNREVIEWED_STDLIB, sev, why)
    sev = Severity.HIGH if invoked else Severity.MEDIUM
    return Grade(r.UNREVIEWED_THIRD_PARTY, sev, "not on the allowlist of reconstruction functions")


def _dangerous(found: capabilities.Assessment, invoked: bool) -> Grade:
    caps = found.capabilities
    rule = next(rl for cap, rl in _CAP_ORDER if cap in caps) if caps else r.UNREVIEWED_STDLIB
    if caps & _CRITICAL_CAPS:
        sev = Severity.CRITICAL if invoked else Severity.HIGH
    elif caps & _HIGH_CAPS:
        sev = Severity.HIGH
    else:
        sev = Severity.HIGH if invoked else Severity.MEDIUM
    names = ", ".join(sorted(c.value for c in caps))
    via = " -> ".join(found.via) if found.via else ""
    reason = f"capability: {names}" + (f" (via {via})" if via and len(found.via) > 1 else "")
    return Grade(rule, sev, reason)
