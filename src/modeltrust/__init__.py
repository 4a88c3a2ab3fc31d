"""modeltrust: inspect an open AI model before you load it.

Example:
    >>> import modeltrust
    >>> report = modeltrust.scan("path/to/model")      # doctest: +SKIP
    >>> report.verdict, report.counts()                # doctest: +SKIP
    ('unsafe', {'critical': 1, 'high': 0, ...})

Nothing is ever loaded, unpickled or executed: every format is parsed from its bytes.
The heavy parts (scanners, renderers) are imported on first use, so ``import modeltrust``
stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeltrust.errors import Error, ScanError, SourceError, UsageError
from modeltrust.findings import Finding, Location, Rule, Severity

__version__ = "0.1.0"

if TYPE_CHECKING:
    from modeltrust._report.model import Report
    from modeltrust.api import bom, compare, digest, inspect, openness, scan, sign, verify

__all__ = [
    "Error",
    "Finding",
    "Location",
    "Report",
    "Rule",
    "ScanError",
    "Severity",
    "SourceError",
    "UsageError",
    "__version__",
    "bom",
    "compare",
    "digest",
    "inspect",
    "openness",
    "scan",
    "sign",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name == "scan":
        from modeltrust.api import scan

        return scan
    if name in ("sign", "verify", "digest"):
        from modeltrust import api

        return getattr(api, name)
    if name == "openness":
        from modeltrust.api import openness

        return openness
    if name in ("compare", "inspect", "bom"):
        from modeltrust import api

        return getattr(api, name)
    if name == "Report":
        from modeltrust._report.model import Report

        return Report
    raise AttributeError(f"module 'modeltrust' has no attribute {name!r}")
