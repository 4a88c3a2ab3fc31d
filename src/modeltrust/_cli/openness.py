"""``modeltrust openness``: how open is it, under what terms, trained on what, derived from what.

Parses options, calls :func:`modeltrust.openness`, renders console text or the JSON
document described in ``docs/openness.md``, and maps the result to an exit code.
"""

from __future__ import annotations

import click

import modeltrust
from modeltrust._cli.options import (
    EXIT_CODES_HELP,
    EXIT_FINDINGS,
    EXIT_OK,
    VERBOSE_KEY,
    output_option,
)
from modeltrust._cli.output import atomic_write, note
from modeltrust.findings import Severity

OPENNESS_EPILOG = f"""{EXIT_CODES_HELP}

\b
Examples:
  modeltrust openness ./my-model
  modeltrust openness ~/.cache/huggingface/hub/models--org--name --format json -o open.json
  modeltrust openness model.gguf --fail-on medium
"""


@click.command("openness", epilog=OPENNESS_EPILOG,
               short_help="Licence terms, OSAID 1.0, MOF class, training data and lineage.")
@click.argument("path", type=click.Path(path_type=str))
@click.option("-f", "--format", "fmt", type=click.Choice(["console", "json"]),
              default="console", show_default=True, help="Report format.")
@click.option("--fail-on", default=Severity.HIGH.value, show_default=True,
              type=click.Choice([s.value for s in Severity], case_sensitive=False),
              help="Exit with 1 when a finding is at or above this severity.")
@click.option("-v", "--verbose", is_flag=True, help="Tracebacks on internal errors.")
@output_option
def openness_command(path: str, fmt: str, fail_on: str, verbose: bool,
                     output: str | None) -> None:
    """Assess how open a model is, offline, from its local snapshot.

    Reads the model card, LICENSE/NOTICE/USE_POLICY texts, dataset cards, adapter and GGUF
    metadata; never loads the weights. Reports the licence with quoted restrictive
    clauses, the OSAID 1.0 checklist, the MOF 1.0 class, declared training data, lineage
    and accountability.
    """
    from modeltrust._assess.report import render_text, to_json

    click.get_current_context().meta[VERBOSE_KEY] = verbose
    report = modeltrust.openness(path, fail_on=fail_on)
    text = to_json(report) if fmt == "json" else render_text(report)
    if output is not None and output != "-":
        atomic_write(output, text)
        note(f"wrote openness report to {output} ({len(report.findings)} findings)")
    else:
        click.echo(text, nl=False)
    click.get_current_context().exit(EXIT_FINDINGS if report.failed else EXIT_OK)
