"""The public Python API. The CLI is a thin layer over these functions."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from modeltrust._engine import Outcome, analyse
from modeltrust._report.model import FileEntry, Report
from modeltrust._source.interface import Artifact, Limits
from modeltrust._source.local import collect
from modeltrust.errors import UsageError
from modeltrust.findings import Finding, Severity

ProgressCallback = Callable[[int, int, str], None]
"""Called as ``progress(done, total, path)`` after each top-level file is analysed."""

_PARALLEL_MIN_BYTES = 64 * 1024 * 1024
"""Below this much data a process pool costs more than it saves."""


def scan(
    path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    fail_on: Severity | str = Severity.HIGH,
    exclude: Iterable[str] = (),
    max_file_size: int = 0,
    jobs: int | None = None,
    limits: Limits | None = None,
    digests: bool = False,
    progress: ProgressCallback | None = None,
) -> Report:
    """Scan files, folders or archives and return a :class:`Report`.

    Args:
        path: one target or several (file, folder, archive).
        fail_on: the severity at or above which ``report.failed`` is true.
        exclude: glob patterns matched against relative paths and base names.
        max_file_size: files larger than this many bytes are listed, not analysed (0 = all).
        jobs: worker processes (default: the number of CPUs, used only for large scans).
        limits: parser bounds; see :class:`modeltrust._source.interface.Limits`.
        digests: also record each file's SHA-256 in the report.
        progress: optional callback ``(done, total, path)``.

    Raises:
        SourceError: a target does not exist or cannot be read.
        UsageError: an option is invalid.
    """
    targets = _targets(path)
    if not targets:
        raise UsageError("no scan target given")
    severity = _severity(fail_on)
    if max_file_size < 0:
        raise UsageError("max_file_size must be >= 0")
    if jobs is not None and jobs < 1:
        raise UsageError("jobs must be >= 1")
    lim = limits or Limits()
    if max_file_size:
        lim = replace(lim, max_file_size=max_file_size)
    collected = collect(targets, list(exclude), max_file_size)
    entries = list(collected.entries)
    findings = list(collected.findings)
    for outcome in _run(collected.artifacts, lim, digests, jobs, progress):
        entries.extend(outcome.entries)
        findings.extend(outcome.findings)
    findings.extend(_repository_checks(collected.folders, entries, lim))
    return Report.build(targets, entries, findings, severity)


def _repository_checks(
    folders: list[tuple[Path, str]], entries: list[FileEntry], limits: Limits
) -> list[Finding]:
    """Cross-file rules (shards, duplicated weights, remote code) per scanned folder."""
    from modeltrust._scanners.repository import scan_repository

    found: list[Finding] = []
    for folder, shown in folders:
        prefix = "" if shown in (".", "") else f"{shown}/"
        mine = [e for e in entries if e.path.startswith(prefix) or not prefix]
        found.extend(scan_repository(folder, shown, mine, limits))
    return found


def _targets(path: object) -> list[str]:
    if isinstance(path, str | os.PathLike):
        return [os.fspath(path)]
    if isinstance(path, Iterable):
        return [os.fspath(p) for p in path]
    raise UsageError(f"unsupported scan target {path!r}")


def _severity(value: Severity | str) -> Severity:
    if isinstance(value, Severity):
        return value
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _run(
    artifacts: list[Artifact],
    limits: Limits,
    digests: bool,
    jobs: int | None,
    progress: ProgressCallback | None,
) -> Iterable[Outcome]:
    total = len(artifacts)
    workers = min(jobs or os.cpu_count() or 1, total)
    big = sum(a.size for a in artifacts) >= _PARALLEL_MIN_BYTES
    if workers <= 1 or (jobs is None and not big):
        for i, art in enumerate(artifacts, 1):
            yield analyse(art, limits, digests)
            if progress:
                progress(i, total, art.path)
        return
    from concurrent.futures import ProcessPoolExecutor  # only large scans pay for the import

    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(analyse, art, limits, digests) for art in artifacts]
        for i, (art, fut) in enumerate(zip(artifacts, futures, strict=True), 1):
            yield fut.result()
            if progress:
                progress(i, total, art.path)
