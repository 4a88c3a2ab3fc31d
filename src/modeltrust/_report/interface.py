"""The output formats a report can be rendered to, each mapped to one render function.

Adding a format means adding an enum member and a branch in :func:`render`; mypy's
exhaustiveness check (``assert_never``) fails the build if a branch is forgotten.
"""

from __future__ import annotations

import enum
from typing import assert_never

from modeltrust._report.model import Report


class OutputFormat(enum.StrEnum):
    """Report formats offered by ``modeltrust scan --format``."""

    CONSOLE = "console"
    JSON = "json"
    SARIF = "sarif"


def render(
    report: Report, fmt: OutputFormat, *, verbose: bool = False, quiet: bool = False
) -> str:
    """Render ``report`` as text in ``fmt``; console output here is plain (no colour).

    ``verbose`` and ``quiet`` only change the console format: machine formats always
    carry everything.
    """
    # Renderers are imported on demand: rich costs tens of milliseconds to import.
    if fmt is OutputFormat.CONSOLE:
        from modeltrust._report import console

        return console.render(report, verbose=verbose, quiet=quiet)
    if fmt is OutputFormat.JSON:
        from modeltrust._report import json

        return json.render(report)
    if fmt is OutputFormat.SARIF:
        from modeltrust._report import sarif

        return sarif.render(report)
    assert_never(fmt)
