"""The pickle scanner: follows every pickle in a stream and turns observations into findings.

Handles raw pickles (any protocol, with or without PROTO), stacked pickles, legacy PyTorch
files (five pickles after which raw storage bytes follow), joblib streams (array bytes
inline), polyglots (a zip appended to a pickle) and payloads handed to ``pickle.loads``.
"""

from __future__ import annotations

import time
from typing import Any

from modeltrust._inventory.formats import Format
from modeltrust._inventory.sniff import sniff
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._scanners.pickle import rules as r
from modeltrust._scanners.pickle.grading import grade
from modeltrust._scanners.pickle.values import Call, preview
from modeltrust._scanners.pickle.vm import Interpreter, NestedPayload, RunResult
from modeltrust._source.interface import Artifact, Buffer
from modeltrust.findings import Location, Severity
from modeltrust.rules import finding

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
_LEGACY_PICKLES = 5
_ANOMALY_RULES = {
    "computed-global": r.COMPUTED_GLOBAL,
    "mutate-global": r.MUTATE_GLOBAL,
    "call-computed": r.CALL_COMPUTED,
    "extension-code": r.EXTENSION_CODE,
}


class PickleScanner(Scanner):
    """Raw pickles, legacy PyTorch files and joblib dumps."""

    name = "pickle"
    formats = frozenset({Format.PICKLE})
    rules = (r.CODE_EXEC, r.PROCESS, r.IMPORT, r.NESTED_LOADER, r.NATIVE, r.FILESYSTEM,
             r.NETWORK, r.SYSTEM_STATE, r.UNREVIEWED_THIRD_PARTY, r.UNREVIEWED_STDLIB,
             r.COMPUTED_GLOBAL, r.MUTATE_GLOBAL, r.CALL_COMPUTED, r.EXTENSION_CODE,
             r.BROKEN_STREAM, r.TRAILING_DATA, r.LIMIT_HIT, r.NESTED_PICKLE, r.STACKED,
             r.POLYGLOT, r.LEGACY_MAGIC, r.EMBEDDED_PICKLE)

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Interpret every pickle in ``data`` and report what it would do."""
        return _StreamScan(artifact, data, ctx).run()


class _StreamScan:
    """State for scanning one stream of (possibly stacked) pickles."""

    def __init__(self, artifact: Artifact, data: Buffer, ctx: ScanContext):
        self.artifact = artifact
        self.data = data
        self.ctx = ctx
        self.deadline = ctx.started + ctx.limits.max_seconds
        self.runs: list[RunResult] = []
        self.legacy = False
        self.problem = ""

    def run(self) -> Result:
        data, limits = self.data, self.ctx.limits
        pos = 0
        while pos < len(data):
            if len(self.runs) >= limits.max_pickles_per_stream:
                self._limit(pos, f"more than {limits.max_pickles_per_stream} stacked pickles")
                break
            if self.runs and not self._continue_at(pos):
                break
            res = Interpreter(data, limits, self.deadline).run(pos)
            self.runs.append(res)
            self._report(res, len(self.runs))
            if not res.stopped:
                break
            pos = res.end
            self._check_legacy()
            if self.legacy and len(self.runs) >= _LEGACY_PICKLES:
                break  # raw storage bytes follow; torch reads them without unpickling
        if len(self.runs) > 1 and not self.legacy:
            self.ctx.report(finding(
                r.STACKED, self.artifact.path,
                f"{len(self.runs)} pickles back to back; all were analysed",
                Location(offset=self.runs[1].start)))
        return self._result()

    # ------------------------------------------------------------ stacking
    def _continue_at(self, pos: int) -> bool:
        """Decide what the bytes after a STOP are: another pickle, an archive, or junk."""
        data = self.data
        size = len(data) - pos
        if bytes(data[pos:pos + 4]) == b"PK\x03\x04" or (
            b"PK\x05\x06" in bytes(data[max(pos, len(data) - 65_557):])
        ):
            self.ctx.report(finding(
                r.POLYGLOT, self.artifact.path,
                f"zip archive of {size} bytes starts at offset {pos:#x}, right after the "
                "pickle; both parts are analysed", Location(offset=pos)))
            if size <= self.ctx.limits.max_member_size and self.ctx.budget.take(size):
                self.ctx.scan_child(self.artifact.child(f"@{pos:#x}", bytes(data[pos:])))
            else:
                self._limit(pos, f"appended archive of {size} bytes is over the size limits")
            return False
        if sniff(data[pos:pos + (1 << 16)]).format is Format.PICKLE:
            return True
        self.ctx.report(finding(
            r.TRAILING_DATA, self.artifact.path,
            f"{size} bytes after the last STOP do not decode as a pickle "
            f"(start {bytes(data[pos:pos + 8]).hex()})", Location(offset=pos)))
        return False

    def _check_legacy(self) -> None:
        """Legacy torch files: magic-number pickle, protocol pickle, then three more."""
        if self.legacy or len(self.runs) > 2:
            return
        first = self.runs[0].value
        if len(self.runs) == 1:
            self.legacy = first == LEGACY_MAGIC and not isinstance(first, bool)
            return
        if self.runs[1].value == LEGACY_PROTOCOL and isinstance(first, Call):
            self.legacy = True
            self.ctx.report(finding(
                r.LEGACY_MAGIC, self.artifact.path,
                f"first pickle computes the magic number as {preview(first)} instead of "
                f"storing the literal {LEGACY_MAGIC:#x}", Location(offset=0)))

    # ------------------------------------------------------------ findings
    def _report(self, res: RunResult, index: int) -> None:
        path = self.artifact.path
        tag = f"pickle #{index}" if index > 1 else None
        worst: tuple[Severity, str] | None = None
        for ref in sorted(res.refs.values(), key=lambda x: x.offset):
            if ref.dynamic:
                continue
            g = grade(ref.module, ref.name, ref.invoked)
            if g is None:
                continue
            qual = f"{ref.module}.{ref.name}"
            ev = f"{qual} named via {ref.opcode} at offset {ref.offset:#x}"
            if ref.invoked:
                ev += (f", called via {ref.call_opcode} at offset {ref.call_offset:#x} "
                       f"with {_args(ref.call_args)}")
            else:
                ev += ", referenced (not called directly)"
            if ref.count > 1:
                ev += f", {ref.count} references"
            ev += f"; {g.reason}"
            off = ref.call_offset if ref.invoked and ref.call_offset is not None else ref.offset
            self.ctx.report(finding(g.rule, path, ev, Location(offset=off, detail=tag),
                                    severity=g.severity))
            dangerous = ref.invoked and g.severity >= Severity.HIGH
            if dangerous and (worst is None or g.severity > worst[0]):
                worst = (g.severity, f"{qual} at offset {off:#x}")
        for an in res.anomalies:
            self.ctx.report(finding(_ANOMALY_RULES[an.kind], path, an.message,
                                    Location(offset=an.offset, detail=tag)))
            if an.kind in ("computed-global", "mutate-global") and worst is None:
                worst = (Severity.CRITICAL, f"{an.kind} at offset {an.offset:#x}")
        for nested in res.nested:
            name = f"@loads@{nested.offset:#x}"
            self.ctx.report(finding(
                r.NESTED_PICKLE, path,
                f"{len(nested.payload)} bytes passed to {nested.loader} at offset "
                f"{nested.offset:#x}; scanned as {path}!{name}",
                Location(offset=nested.offset, detail=tag)))
            self.ctx.scan_child(self.artifact.child(name, nested.payload))
        passed = {n.payload for n in res.nested}
        for emb in res.embedded:
            if emb.payload not in passed:
                self._embedded(emb, tag)
        if res.error is not None:
            self._broken(res, worst, tag)
        if res.limit is not None:
            self._limit(res.end, res.limit)

    def _embedded(self, emb: NestedPayload, tag: str | None) -> None:
        name = f"@data@{emb.offset:#x}"
        inner = Interpreter(emb.payload, self.ctx.limits, self.deadline).run(0)
        names = sorted(f"{m}.{n}" for (m, n), ref in inner.refs.items()
                       if grade(m, n, ref.invoked) is not None)
        sev = Severity.HIGH if names or inner.anomalies else Severity.MEDIUM
        what = f"calls {', '.join(names[:5])}" if names else "names only allowlisted callables"
        self.ctx.report(finding(
            r.EMBEDDED_PICKLE, self.artifact.path,
            f"{len(emb.payload)}-byte pickle carried as {emb.loader} at offset "
            f"{emb.offset:#x}; it {what}; scanned as {self.artifact.path}!{name}",
            Location(offset=emb.offset, detail=tag), severity=sev))
        self.ctx.scan_child(self.artifact.child(name, emb.payload))

    def _broken(self, res: RunResult, worst: tuple[Severity, str] | None, tag: str | None) -> None:
        off = res.error_offset if res.error_offset is not None else res.end
        ev = f"stream breaks at offset {off:#x}: {res.error}"
        sev = Severity.MEDIUM
        if worst is not None:
            sev = Severity.CRITICAL
            ev += f"; a loader has already executed {worst[1]} when it fails"
        self.problem = f"malformed pickle at offset {off:#x}"
        self.ctx.report(finding(r.BROKEN_STREAM, self.artifact.path, ev,
                                Location(offset=off, detail=tag), severity=sev))

    def _limit(self, pos: int, what: str) -> None:
        self.problem = f"stopped at a limit: {what}"
        self.ctx.report(finding(r.LIMIT_HIT, self.artifact.path,
                                f"analysis stopped at offset {pos:#x}: {what}",
                                Location(offset=pos)))

    def _result(self) -> Result:
        fmt = Format.PICKLE
        if self.legacy:
            fmt = Format.TORCH_LEGACY
        elif any(run.joblib_arrays for run in self.runs) or any(
            m.startswith("joblib.") for run in self.runs for (m, _n) in run.refs
        ):
            fmt = Format.JOBLIB
        protos = sorted({run.protocol for run in self.runs})
        ops = sum(run.opcodes for run in self.runs)
        detail = (f"protocol {'/'.join(map(str, protos))}, {len(self.runs)} pickle(s), "
                  f"{ops} opcodes")
        if time.monotonic() > self.deadline and not self.problem:
            self.problem = "time budget exhausted"
        if self.problem:
            return Result.partial(self.problem, detail, fmt)
        return Result(detail=detail, format=fmt)


def _args(args: Any) -> str:
    text = preview(args, 160)
    return f"args {text}"
