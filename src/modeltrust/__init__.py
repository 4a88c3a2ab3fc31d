"""modeltrust: inspect an open AI model before you load it.

Example:
    >>> import modeltrust
    >>> report = modeltrust.scan("path/to/model")      # doctest: +SKIP
    >>> report.verdict, report.counts()                # doctest: +SKIP
    ('unsafe', {'critical': 1, 'high': 0, ...})

Nothing is ever loaded, unpickled or executed: every format is parsed from its bytes.
"""

from __future__ import annotations

__version__ = "0.1.0"

from modeltrust.api import scan  # noqa: E402
from modeltrust.errors import Error, ScanError, SourceError, UsageError  # noqa: E402
from modeltrust.findings import Finding, Location, Rule, Severity  # noqa: E402

__all__ = [
    "Error",
    "Finding",
    "Location",
    "Rule",
    "ScanError",
    "Severity",
    "SourceError",
    "UsageError",
    "__version__",
    "scan",
]
