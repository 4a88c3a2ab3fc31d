"""The scan pipeline: artifacts in, file entries and findings out.

Each top-level artifact is analysed on its own (so files can be spread over processes);
archive members come back through :attr:`ScanContext.scan_child` and are analysed by the
same function, one level deeper, under the shared expansion budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from modeltrust._inventory.formats import Format
from modeltrust._inventory.sniff import sniff
from modeltrust._report.model import Coverage, FileEntry
from modeltrust._scanners import common
from modeltrust._scanners.interface import Result, ScanContext
from modeltrust._scanners.registry import scanner_for
from modeltrust._source import rules as source_rules
from modeltrust._source.interface import Artifact, Buffer, ExpansionBudget, Limits
from modeltrust.findings import Finding
from modeltrust.rules import finding


@dataclass
class Outcome:
    """Everything learnt about one top-level artifact (and its members)."""

    entries: list[FileEntry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def analyse(artifact: Artifact, limits: Limits, digests: bool = False) -> Outcome:
    """Analyse one top-level artifact and, recursively, its members."""
    outcome = Outcome()
    budget = ExpansionBudget(limits.max_expanded)
    _analyse(artifact, limits, budget, digests, outcome)
    return outcome


def _analyse(
    artifact: Artifact, limits: Limits, budget: ExpansionBudget, digests: bool, out: Outcome
) -> None:
    if artifact.depth > limits.max_depth:
        out.findings.append(
            finding(common.TOO_DEEP, artifact.path,
                    f"nesting depth {artifact.depth} exceeds the limit of {limits.max_depth}")
        )
        out.entries.append(
            FileEntry(artifact.path, artifact.size, "unknown", Coverage.NOT_ANALYSED,
                      "archive nesting too deep")
        )
        return
    try:
        with artifact.open() as data:
            _analyse_open(artifact, data, limits, budget, digests, out)
    except OSError as exc:
        out.findings.append(finding(source_rules.UNREADABLE, artifact.path, f"cannot read: {exc}"))
        out.entries.append(
            FileEntry(artifact.path, artifact.size, "unknown", Coverage.NOT_ANALYSED,
                      f"unreadable: {exc.strerror or exc}")
        )


def _analyse_open(
    artifact: Artifact,
    data: Buffer,
    limits: Limits,
    budget: ExpansionBudget,
    digests: bool,
    out: Outcome,
) -> None:
    digest = _sha256(data) if digests else None
    try:
        sniffed = sniff(data, artifact.hint_ext)
    except Exception as exc:  # noqa: BLE001 - one hostile member must not end the archive
        out.findings.append(finding(common.INTERNAL_ERROR, artifact.path,
                                    f"format detection raised {type(exc).__name__}: {exc}"))
        out.entries.append(FileEntry(artifact.path, artifact.size, "unknown",
                                     Coverage.NOT_ANALYSED, "format detection failed",
                                     sha256=digest))
        return
    scanner = scanner_for(sniffed.format)
    if scanner is None:
        reason = _unscanned_reason(sniffed.format)
        out.entries.append(
            FileEntry(artifact.path, artifact.size, sniffed.format.value,
                      Coverage.NOT_ANALYSED, reason, sniffed.detail, digest)
        )
        return

    def child(member: Artifact) -> None:
        _analyse(member, limits, budget, digests, out)

    ctx = ScanContext(limits=limits, budget=budget, scan_child=child)
    try:
        result = scanner.scan(artifact, data, sniffed.format, ctx)
    except Exception as exc:  # noqa: BLE001 - a crash on hostile input becomes a finding
        ctx.report(
            finding(common.INTERNAL_ERROR, artifact.path,
                    f"{scanner.name} scanner raised {type(exc).__name__}: {exc}")
        )
        result = Result.partial(f"scanner error: {type(exc).__name__}")
    fmt = result.format or sniffed.format
    out.findings.extend(ctx.findings)
    out.entries.append(
        FileEntry(artifact.path, artifact.size, fmt.value, result.coverage, result.reason,
                  result.detail or sniffed.detail, digest, tuple(sorted(result.properties)))
    )


def _sha256(data: Buffer) -> str:
    """Imported here: hashlib (OpenSSL) is only worth loading when digests are asked for."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _unscanned_reason(fmt: Format) -> str:
    if fmt is Format.EMPTY:
        return "empty file: nothing to analyse"
    if fmt in (Format.TEXT, Format.JSON):
        return f"{fmt.value}: no scanner for this format in this version"
    if fmt is Format.UNKNOWN:
        return "format not recognised"
    return f"no scanner for {fmt.value} in this version"
