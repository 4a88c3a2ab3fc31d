"""Where CLI output goes: standard output, atomic report files, progress and error lines.

Reports go to standard output (or ``--output``); everything for the person at the terminal
(progress, "wrote report" notes, errors) goes to standard error, so that
``modeltrust scan --format json . > report.json`` always yields a clean document.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modeltrust.errors import Error

if TYPE_CHECKING:  # rich is imported only when a console or progress bar is needed
    from rich.console import Console
    from rich.progress import TaskID

ProgressCallback = Callable[[int, int, str], None]

PROGRESS_DELAY = 0.5
"""Seconds a scan runs before the progress bar appears."""


class OutputError(Error):
    """The report could not be written where the user asked."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def diagnostics(self) -> str:  # noqa: D102 - inherited
        return (
            f"cannot write the report to {self.path}: {self.reason}. "
            "Check that the folder exists and is writable."
        )


@contextlib.contextmanager
def stdout_console() -> Iterator[Console]:
    """A rich console for standard output: coloured on a terminal, plain text otherwise.

    Plain output is collected and written once at the end without rich's trailing padding,
    so that piped output is exactly what ``--output`` would have written.
    """
    from rich.console import Console

    from modeltrust._report.console import plain_console, strip_trailing

    if sys.stdout.isatty():
        yield Console(highlight=False, markup=False, emoji=False)
        return
    buf = io.StringIO()
    yield plain_console(buf)
    click.echo(strip_trailing(buf.getvalue()), nl=False)


def atomic_write(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that readers never see a half-written report.

    The text goes to a temporary file in the same folder, is flushed to disk, then renamed
    over the target. A symbolic link is followed, as shell redirection does: the file it
    points to is replaced and the link stays. A device or FIFO (``-o /dev/stdout``, a named
    pipe) is written into, never replaced: renaming over ``/dev/null`` would destroy it.

    Raises:
        OutputError: the file could not be written.
    """
    target = Path(os.path.realpath(path))
    try:
        mode = target.stat().st_mode
    except OSError:
        mode = 0
    try:
        if mode and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            with open(target, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            return
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from exc
    tmp = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise OutputError(path, exc.strerror or str(exc)) from exc


def note(message: str) -> None:
    """One line for the person at the terminal (standard error), never mixed into reports."""
    click.echo(f"modeltrust: {message}", err=True)


def report_error(exc: Error, *, verbose: bool) -> None:
    """Print ``modeltrust: error: ...`` as one line; the traceback first when verbose."""
    from modeltrust._report.console import clean

    if verbose:
        click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
    line = " ".join(clean(exc.diagnostics()).split())
    click.echo(f"modeltrust: error: {line}", err=True)


@contextlib.contextmanager
def scan_progress(
    enabled: bool, console: Console | None = None, delay: float = PROGRESS_DELAY
) -> Iterator[ProgressCallback | None]:
    """A progress bar on standard error while scanning, or ``None`` when disabled.

    Enabled only for interactive use (standard error is a terminal and not ``--quiet``).
    It appears only once a scan has run for ``delay`` seconds, so quick scans do not
    flicker, and it is transient: nothing of it remains in scroll-back or logs.
    """
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from modeltrust._report.console import clean

    progress = Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}", style="dim"),
        console=console or Console(stderr=True),
        transient=True,
    )
    task: list[TaskID] = []
    start = time.monotonic()

    def update(done: int, total: int, path: str) -> None:
        shown = clean(path)
        if len(shown) > 60:
            shown = "..." + shown[-57:]
        if not task:
            if time.monotonic() - start < delay:
                return
            task.append(progress.add_task("scan", total=total, current=shown))
            progress.start()
        progress.update(task[0], completed=done, total=total, current=shown)

    try:
        yield update
    finally:
        if task:
            progress.stop()


def progress_wanted(quiet: bool) -> bool:
    """Show a progress bar only to a person: not quiet, and standard error is a terminal."""
    return not quiet and sys.stderr.isatty()
