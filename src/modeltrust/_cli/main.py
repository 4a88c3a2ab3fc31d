"""The ``modeltrust`` command: a thin layer of parsing, library calls, rendering and exit codes.

Errors raised on purpose by modeltrust (:class:`modeltrust.Error`) are caught here, once,
and become one ``modeltrust: error: ...`` line and exit code 2. Anything else is a bug: its
traceback is printed whole and the exit code is still 2, never 1, which means "findings".
"""

from __future__ import annotations

import importlib
import traceback
from typing import Any

import click

from modeltrust import __version__
from modeltrust._cli.options import EXIT_CODES_HELP, EXIT_ERROR, VERBOSE_KEY
from modeltrust.errors import Error

# Subcommands are imported only when used: a scan should not pay for what audit imports.
COMMANDS = {
    "scan": ("modeltrust._cli.scan", "scan_command"),
    "rules": ("modeltrust._cli.rules", "rules_command"),
    "audit": ("modeltrust._cli.audit", "audit_command"),
    "bom": ("modeltrust._cli.bom", "bom_command"),
    "compare": ("modeltrust._cli.compare", "compare_command"),
    "inspect": ("modeltrust._cli.inspect", "inspect_command"),
    "sign": ("modeltrust._cli.sign", "sign_command"),
    "verify": ("modeltrust._cli.verify", "verify_command"),
    "digest": ("modeltrust._cli.digest", "digest_command"),
    "openness": ("modeltrust._cli.openness", "openness_command"),
}

MAIN_EPILOG = f"""{EXIT_CODES_HELP}

\b
Examples:
  modeltrust scan ./my-model
  modeltrust scan model.ckpt --format sarif -o scan.sarif
  modeltrust rules MT-SRC-001
  modeltrust audit ./my-model
  modeltrust bom ./my-model -o my-model.cdx.json

Run 'modeltrust COMMAND --help' for the options of a command.
"""


class ModeltrustGroup(click.Group):
    """A click group that turns :class:`modeltrust.Error` into one line and exit code 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Subcommand names, in a fixed order."""
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import a subcommand's module on first use."""
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        command: click.Command = getattr(importlib.import_module(target[0]), target[1])
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; map modeltrust errors to exit 2 (traceback with --verbose)."""
        try:
            return super().invoke(ctx)
        except Error as exc:
            from modeltrust._cli.output import report_error

            report_error(exc, verbose=bool(ctx.meta.get(VERBOSE_KEY, False)))
            ctx.exit(EXIT_ERROR)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception:  # noqa: BLE001 - a bug: show it whole, but keep exit 1 for findings
            traceback.print_exc()
            click.echo("modeltrust: internal error (a bug); please report the traceback above",
                       err=True)
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



def main() -> None:
    """Console-script entry point (``modeltrust``, ``python -m modeltrust``)."""
    cli.main(prog_name="modeltrust")
