"""Options shared by the commands that scan (``scan``, ``audit``) and their value types.

Declaring them once keeps ``scan`` and ``audit`` in agreement on names, defaults and help,
and lets the parsing of human sizes (``500M``, ``10GB``) live in one tested place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import click

from modeltrust.findings import Severity

EXIT_OK = 0
"""Nothing at or above ``--fail-on`` was found."""
EXIT_FINDINGS = 1
"""At least one finding at or above ``--fail-on``."""
EXIT_ERROR = 2
"""modeltrust could not do its job: bad arguments, missing or unreadable target."""

VERBOSE_KEY = "modeltrust.verbose"
"""``click.Context.meta`` key telling the error handler to print tracebacks."""

EXIT_CODES_HELP = """\b
Exit codes:
  0  nothing at or above --fail-on was found
  1  findings at or above --fail-on
  2  modeltrust could not do its job (bad arguments, missing or unreadable target)"""

_UNITS: dict[str, int] = {
    "": 1, "b": 1,
    "k": 1024, "kib": 1024, "kb": 1000,
    "m": 1024**2, "mib": 1024**2, "mb": 1000**2,
    "g": 1024**3, "gib": 1024**3, "gb": 1000**3,
    "t": 1024**4, "tib": 1024**4, "tb": 1000**4,
}
_SIZE = re.compile(r"^\s*(\d+)(?:\.(\d+))?\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Parse ``1234``, ``500M``, ``10GB`` or ``1GiB`` into bytes.

    Single letters and ``KiB/MiB/GiB/TiB`` are binary (1024-based, as in ``ls -h``);
    ``KB/MB/GB/TB`` are decimal (1000-based), as the SI prefixes say.

    Raises:
        ValueError: the text is not a size.
    """
    match = _SIZE.match(text)
    unit = match.group(3).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(
            f"{text!r} is not a size (examples: 1048576, 500M, 10GB, 1GiB; 0 = no limit)"
        )
    # Exact integer arithmetic (truncated), without importing decimal on every start.
    whole, frac = match.group(1), match.group(2) or ""
    scale: int = 10 ** len(frac)
    try:
        return int(whole + frac) * _UNITS[unit] // scale
    except ValueError as exc:  # more digits than int() accepts
        raise ValueError(f"{text!r} is not a size") from exc


def size_callback(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """Click callback turning ``--max-file-size`` text into bytes (usage error, exit 2)."""
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


class ScanOptions(NamedTuple):
    """The scan-related options of one command line, as the library wants them."""

    paths: tuple[str, ...]
    fail_on: Severity
    exclude: tuple[str, ...]
    max_file_size: int
    jobs: int | None
    quiet: bool
    verbose: bool
    digests: bool

    @staticmethod
    def from_params(params: dict[str, Any]) -> ScanOptions:
        """Build from click's keyword arguments; ``--quiet`` excludes ``--verbose``."""
        if params["quiet"] and params["verbose"]:
            raise click.UsageError("--quiet and --verbose cannot be used together")
        click.get_current_context().meta[VERBOSE_KEY] = bool(params["verbose"])
        return ScanOptions(
            paths=tuple(params["paths"]),
            fail_on=Severity.parse(params["fail_on"]),
            exclude=tuple(params["exclude"]),
            max_file_size=int(params["max_file_size"]),
            jobs=params["jobs"],
            quiet=bool(params["quiet"]),
            verbose=bool(params["verbose"]),
            digests=bool(params["digests"]),
        )


F = TypeVar("F", bound=Callable[..., Any])


def scan_options(f: F) -> F:
    """Add the PATH arguments and every scan option to a command."""
    decorators = [
        click.argument("paths", metavar="PATH...", nargs=-1, required=True,
                       type=click.Path(path_type=str)),
        click.option("--fail-on", default=Severity.HIGH.value, show_default=True,
                     type=click.Choice([s.value for s in Severity], case_sensitive=False),
                     help="Exit with 1 when a finding is at or above this severity."),
        click.option("--exclude", multiple=True, metavar="GLOB",
                     help="Skip files whose relative path or name matches GLOB (repeatable)."),
        click.option("--max-file-size", callback=size_callback, default="0", metavar="SIZE",
                     help="List larger files as not analysed. Bytes or 500M, 10GB, 1GiB "
                     "(K/M/G and KiB/MiB/GiB are binary, KB/MB/GB decimal); 0 = no limit."),
        click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
                     help="Worker processes (default: one per CPU, used for large scans)."),
        click.option("--digests", is_flag=True,
                     help="Record the SHA-256 of every file in the report."),
        click.option("-q", "--quiet", is_flag=True,
                     help="No progress bar; console output is only the summary lines."),
        click.option("-v", "--verbose", is_flag=True,
                     help="List every file and its coverage; tracebacks on internal errors."),
    ]
    for decorate in reversed(decorators):
        f = decorate(f)
    return f


def output_option(f: F) -> F:
    """Add ``-o/--output FILE``."""
    return click.option(
        "-o", "--output", metavar="FILE", type=click.Path(dir_okay=False, path_type=str),
        help="Write the report to FILE (atomically; '-' = standard output; a device or "
        "named pipe is written into). Console text written to a file has no colour.",
    )(f)
