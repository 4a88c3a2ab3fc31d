"""``modeltrust inspect MODEL``: the abliteration signature of one model, without a base."""

from __future__ import annotations

import click

from modeltrust._cli.compare import emit, fail_on_option, tensor_progress
from modeltrust._cli.options import EXIT_CODES_HELP, EXIT_FINDINGS, EXIT_OK, output_option
from modeltrust._cli.output import progress_wanted

INSPECT_EPILOG = f"""{EXIT_CODES_HELP}

\b
Examples:
  modeltrust inspect ./some-model-abliterated
  modeltrust inspect model.gguf --format json
"""


def inspect_lines(report: object) -> list[str]:
    """Console rendering of an inspection."""
    from modeltrust._forensics.inspect import SIGNATURE_RATIO, InspectionReport
    from modeltrust._report.console import clean

    assert isinstance(report, InspectionReport)
    out = [f"modeltrust inspect: {clean(report.path)} ({report.format})"]
    if report.ratio is None:
        out.append("  not enough residual-writing matrices to look for the signature")
    else:
        state = "PRESENT" if report.abliterated else "absent"
        out.append(f"  abliteration signature: {state} (λmin/λmedian = {report.ratio:.3e}, "
                   f"threshold {SIGNATURE_RATIO:g}, {len(report.matrices)} matrices, "
                   f"hidden size {report.hidden_size})")
    for f in report.findings:
        out.append(f"  [{f.severity.value}] {f.rule_id} {clean(f.title)}: {clean(f.evidence)}")
    out.append(f"  result: {'failed' if report.failed else 'passed'} "
               f"(--fail-on {report.fail_on.value})")
    return out


@click.command("inspect", epilog=INSPECT_EPILOG,
               short_help="Look for the abliteration signature in one model.")
@click.argument("model", type=click.Path(path_type=str))
@click.option("-f", "--format", "fmt", type=click.Choice(["console", "json"]),
              default="console", show_default=True, help="Report format.")
@output_option
@fail_on_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def inspect_command(model: str, fmt: str, output: str | None, fail_on: str, quiet: bool) -> None:
    """Check MODEL for a residual direction that no layer writes to (abliteration).

    Uses the smallest eigenvalue of the sum of W Wᵀ over embeddings and output projections
    against its median. Weights are read as data; nothing is executed.
    """
    import modeltrust

    with tensor_progress(progress_wanted(quiet), "inspecting") as progress:
        report = modeltrust.inspect(model, fail_on=fail_on, progress=progress)
    emit(inspect_lines(report), report.to_dict(), fmt, output, quiet)
    click.get_current_context().exit(EXIT_FINDINGS if report.failed else EXIT_OK)
