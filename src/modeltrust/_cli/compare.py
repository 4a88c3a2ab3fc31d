"""``modeltrust compare BASE DERIVED``: what was done to these weights?"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

import click

from modeltrust._cli.options import EXIT_CODES_HELP, EXIT_FINDINGS, EXIT_OK, output_option
from modeltrust._cli.output import (
    ProgressCallback,
    atomic_write,
    note,
    progress_wanted,
    stdout_console,
)
from modeltrust.findings import Severity

COMPARE_EPILOG = f"""{EXIT_CODES_HELP}

\b
Examples:
  modeltrust compare ./Llama-3-8B-Instruct ./Llama-3-8B-Instruct-abliterated
  modeltrust compare base.safetensors derived.gguf --format json -o compare.json
"""


@contextlib.contextmanager
def tensor_progress(enabled: bool, label: str) -> Iterator[ProgressCallback | None]:
    """A transient rich progress bar on standard error, counting tensors."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[current]}", style="dim"),
                        console=Console(stderr=True), transient=True)
    task = progress.add_task(label, total=None, current="")
    progress.start()

    def update(done: int, total: int, name: str) -> None:
        progress.update(task, completed=done, total=total, current=name[-60:])

    try:
        yield update
    finally:
        progress.stop()


def console_text(lines: list[str]) -> str:
    """Plain text of the console report (also written by ``-o`` with the console format)."""
    return "\n".join(lines) + "\n"


def compare_lines(report: object) -> list[str]:
    """The console rendering: verdicts first, then findings and a tensor summary."""
    from collections import Counter

    from modeltrust._forensics.report import ComparisonReport
    from modeltrust._report.console import clean

    assert isinstance(report, ComparisonReport)
    out = [f"modeltrust compare: {clean(report.base.path)} -> {clean(report.derived.path)}",
           f"  base: {report.base.format}, {report.base.tensors} tensors; derived: "
           f"{report.derived.format}, {report.derived.tensors} tensors", ""]
    for v in report.verdicts:
        out.append(f"  {v.kind:<17} confidence {v.confidence:.2f}  {clean(v.summary)}")
    if not report.verdicts:
        out.append("  no tensors could be paired")
    lin = report.lineage
    if lin.claim:
        out.append(f"  card base_model: {', '.join(lin.claim)} "
                   f"({'supported' if lin.claim_supported else 'NOT supported'} by the weights)")
    status = Counter(t.status for t in report.tensors)
    out.append("")
    out.append("  tensors: " + ", ".join(f"{k} {v}" for k, v in sorted(status.items())))
    for f in report.findings:
        out.append(f"  [{f.severity.value}] {f.rule_id} {clean(f.title)}: {clean(f.evidence)}")
    out.append(f"  result: {'failed' if report.failed else 'passed'} "
               f"(--fail-on {report.fail_on.value})")
    return out


def emit(text_lines: list[str], document: dict[str, object], fmt: str,
         output: str | None, quiet: bool) -> None:
    """Write the report as console text or JSON to ``-o`` or standard output."""
    from modeltrust._report.json import dumps

    text = dumps(document) if fmt == "json" else console_text(text_lines)
    if output is not None and output != "-":
        atomic_write(output, text)
        if not quiet:
            note(f"wrote {fmt} report to {output}")
    elif fmt == "json":
        click.echo(text, nl=False)
    else:
        with stdout_console() as console:
            buf = io.StringIO(text)
            for line in buf:
                console.print(line.rstrip("\n"), soft_wrap=True, markup=False)


def fail_on_option(f: click.decorators.FC) -> click.decorators.FC:
    """``--fail-on SEVERITY`` (default high)."""
    return click.option(
        "--fail-on", default=Severity.HIGH.value, show_default=True,
        type=click.Choice([s.value for s in Severity], case_sensitive=False),
        help="Exit with 1 when a finding is at or above this severity.")(f)


@click.command("compare", epilog=COMPARE_EPILOG,
               short_help="Tell what was done to a model's weights relative to its base.")
@click.argument("base", type=click.Path(path_type=str))
@click.argument("derived", type=click.Path(path_type=str))
@click.option("-f", "--format", "fmt", type=click.Choice(["console", "json"]),
              default="console", show_default=True, help="Report format.")
@output_option
@fail_on_option
@click.option("--no-svd", is_flag=True, help="Skip the singular value analysis (faster; "
              "no abliteration or LoRA verdicts).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def compare_command(base: str, derived: str, fmt: str, output: str | None, fail_on: str,
                    no_svd: bool, quiet: bool) -> None:
    """Compare DERIVED's weights with BASE's and say what was done to them.

    Verdicts: identical, re-serialised, quantised, LoRA merge, abliteration, fine-tune,
    pruning, tampered tensors, or unrelated (not derived from BASE).

    Weights are read as data (safetensors, PyTorch zip checkpoints that scan clean, GGUF);
    nothing is unpickled or executed. Memory stays at about two tensors.
    """
    import modeltrust

    with tensor_progress(progress_wanted(quiet), "comparing") as progress:
        report = modeltrust.compare(base, derived, fail_on=fail_on, svd=not no_svd,
                                    progress=progress)
    emit(compare_lines(report), report.to_dict(), fmt, output, quiet)
    click.get_current_context().exit(EXIT_FINDINGS if report.failed else EXIT_OK)
