"""Rules that belong to the pipeline rather than to one format."""

from __future__ import annotations

from modeltrust.findings import Severity
from modeltrust.rules import rule

INTERNAL_ERROR = rule(
    "MT-GEN-001",
    "Scanner failed on this file",
    Severity.MEDIUM,
    """
    A scanner stopped with an unexpected error on this file. The file was only partly
    analysed, so it cannot be vouched for. Hostile files are often built to crash scanners.
    """,
    fix="Treat the file as untrusted; report the error to the modeltrust developers.",
)
TOO_DEEP = rule(
    "MT-GEN-002",
    "Archive nesting too deep",
    Severity.MEDIUM,
    """
    Archives nested inside archives beyond the configured depth were not opened. Deep
    nesting is a common way to hide a payload from scanners or exhaust their resources.
    """,
    fix="Unpack the model into a folder and scan that, or raise the depth limit.",
    cwe=409,
)
TIME_LIMIT = rule(
    "MT-GEN-003",
    "Analysis time limit reached",
    Severity.MEDIUM,
    """
    Analysing the file took longer than the per-file time budget, and the scanner stopped.
    Whatever followed was not examined.
    """,
    fix="Scan the file alone with a larger time budget.",
    cwe=400,
)
