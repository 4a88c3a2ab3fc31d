"""``modeltrust scan``: is it safe to load? Parse options, call :func:`modeltrust.scan`, render."""

from __future__ import annotations

from typing import Any

import click

import modeltrust
from modeltrust._cli.options import (
    EXIT_CODES_HELP,
    EXIT_FINDINGS,
    EXIT_OK,
    ScanOptions,
    output_option,
    scan_options,
)
from modeltrust._cli.output import (
    atomic_write,
    note,
    progress_wanted,
    scan_progress,
    stdout_console,
)
from modeltrust._report.interface import OutputFormat, render
from modeltrust._report.model import Report

SCAN_EPILOG = f"""{EXIT_CODES_HELP}

\b
Examples:
  modeltrust scan ./my-model
  modeltrust scan model.pt --fail-on medium
  modeltrust scan ~/.cache/huggingface/hub/models--org--name --format sarif -o scan.sarif
  modeltrust scan . --exclude '*.md' --max-file-size 10GB --format json > report.json
"""


def run_scan(opts: ScanOptions) -> Report:
    """Call the library with a progress bar when a person is watching."""
    with scan_progress(progress_wanted(opts.quiet)) as progress:
        return modeltrust.scan(
            list(opts.paths),
            fail_on=opts.fail_on,
            exclude=list(opts.exclude),
            max_file_size=opts.max_file_size,
            jobs=opts.jobs,
            digests=opts.digests,
            progress=progress,
        )


def exit_code(report: Report) -> int:
    """0 when nothing reaches ``--fail-on``, 1 otherwise."""
    return EXIT_FINDINGS if report.failed else EXIT_OK


def emit(report: Report, fmt: OutputFormat, output: str | None, opts: ScanOptions) -> None:
    """Send the rendered report to ``--output`` (atomically) or standard output."""
    if output is not None and output != "-":
        atomic_write(output, render(report, fmt, verbose=opts.verbose, quiet=opts.quiet))
        if not opts.quiet:
            note(f"wrote {fmt.value} report to {output} "
                 f"(verdict: {report.verdict}, {len(report.findings)} findings)")
        return
    if fmt is OutputFormat.CONSOLE:
        from modeltrust._report import console

        with stdout_console() as out:
            console.print_report(report, out, verbose=opts.verbose, quiet=opts.quiet)
    else:
        click.echo(render(report, fmt), nl=False)


@click.command(
    "scan",
    epilog=SCAN_EPILOG,
    short_help="Check files, folders or archives for unsafe content.",
)
@scan_options
@click.option("-f", "--format", "fmt", default=OutputFormat.CONSOLE.value, show_default=True,
              type=click.Choice([f.value for f in OutputFormat]),
              help="Report format: console (for people), json (schema in docs), sarif (2.1.0).")
@output_option
def scan_command(fmt: str, output: str | None, **params: Any) -> None:
    """Scan model files, folders or archives before loading them.

    Nothing is loaded, unpickled or executed: every file is parsed from its bytes. Every
    file is listed with how far it was analysed; none is skipped silently.
    """
    opts = ScanOptions.from_params(params)
    report = run_scan(opts)
    emit(report, OutputFormat(fmt), output, opts)
    click.get_current_context().exit(exit_code(report))
