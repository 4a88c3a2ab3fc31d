"""The ``modeltrust`` command: a thin layer of parsing, library calls, rendering and exit codes.

Errors raised on purpose by modeltrust (:class:`modeltrust.Error`) are caught here, once,
and become one ``modeltrust: error: ...`` line and exit code 2. Anything else is a bug and
is left to surface with its traceback.
"""

from __future__ import annotations

from typing import Any

import click

from modeltrust import __version__
from modeltrust._cli.audit import audit_command
from modeltrust._cli.options import EXIT_CODES_HELP, EXIT_ERROR, VERBOSE_KEY
from modeltrust._cli.output import report_error
from modeltrust._cli.rules import rules_command
from modeltrust._cli.scan import scan_command
from modeltrust.errors import Error

MAIN_EPILOG = f"""{EXIT_CODES_HELP}

\b
Examples:
  modeltrust scan ./my-model
  modeltrust scan model.ckpt --format sarif -o scan.sarif
  modeltrust rules MT-SRC-001
  modeltrust audit ./my-model

Run 'modeltrust COMMAND --help' for the options of a command.
"""


class ModeltrustGroup(click.Group):
    """A click group that turns :class:`modeltrust.Error` into one line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; map modeltrust errors to exit 2 (traceback with --verbose)."""
        try:
            return super().invoke(ctx)
        except Error as exc:
            report_error(exc, verbose=bool(ctx.meta.get(VERBOSE_KEY, False)))
            ctx.exit(EXIT_ERROR)


@click.group(cls=ModeltrustGroup, epilog=MAIN_EPILOG,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="modeltrust",
                      message="%(prog)s %(version)s")
def cli() -> None:
    """Inspect open AI models before you load them.

    modeltrust reads model files (pickle/PyTorch, NumPy, joblib, archives, ...) as bytes,
    never loading or executing them, and reports anything that could run code or hide
    a payload.
    """


cli.add_command(scan_command)
cli.add_command(rules_command)
cli.add_command(audit_command)


def main() -> None:
    """Console-script entry point (``modeltrust``, ``python -m modeltrust``)."""
    cli.main(prog_name="modeltrust")
