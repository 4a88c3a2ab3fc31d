"""Repository Python (``trust_remote_code``): what the code can do, and when it runs.

``from_pretrained(..., trust_remote_code=True)`` imports the ``.py`` files a model ships. Each
file is parsed with :mod:`ast` (never imported or compiled to bytecode) and every call is
resolved through the file's imports and aliases (``import os as o``, ``from os import system
as s``, ``getattr(os, "sys" + "tem")``) to a capability: process execution, dynamic code,
native code, network, hub downloads, file writes, credential access, dynamic attributes of
sensitive modules. Severity depends on *when* the call runs: at import time (module level,
class bodies, decorators, default arguments, and functions those call), on instantiation
(``__init__``), when called, or only when the file is run as a script.

Literal payloads decoded with base64/zlib/bz2/lzma/hex/rot13 and handed to ``exec``/``eval``
(or a process) are decoded here with bounded, pure-stdlib decoders and scanned again as
Python, to a fixed depth.
"""

from __future__ import annotations

import re

from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners.code.analyzer import Analyzer, Hit, error_line, parse
from modeltrust._scanners.code.capabilities import (
    CALL,
    FILE_WRITE,
    GRADES,
    IMPORT,
    INIT,
    LIMIT,
    MAX_SOURCE,
    ORDER,
    PRESENT,
    RULES,
    SCRIPT,
    UNPARSABLE,
)
from modeltrust._scanners.code.decode import State
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, Buffer
from modeltrust.findings import Location, Severity
from modeltrust.rules import finding

__all__ = ["MAX_SOURCE", "RULES", "CodeScanner"]

_SAVER = re.compile(r"_*(save|write|export|dump|to_|push_to_hub|store)", re.IGNORECASE)
MAX_PER_RULE = 200
"""Findings of one rule reported per file; the rest are counted in one limit finding."""


class CodeScanner(Scanner):
    """``.py`` files shipped with a model: capabilities, and whether they run on import."""

    name = "code"
    formats = frozenset({Format.PYTHON})
    rules = RULES

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Parse the source with ``ast`` (bounded) and report what it can do, and when."""
        path = artifact.path
        if len(data) > MAX_SOURCE:
            ctx.report(finding(LIMIT, path, f"{len(data)} bytes: larger than the "
                               f"{MAX_SOURCE}-byte bound for Python source"))
            return Result.not_analysed("Python source too large to analyse", format=Format.PYTHON)
        raw = bytes(data)
        tree = parse(raw)
        if isinstance(tree, str):
            ctx.report(finding(UNPARSABLE, path, tree, Location(line=error_line(tree))))
            return Result.partial("does not parse as Python 3", format=Format.PYTHON)
        state = State(deadline=ctx.started + ctx.limits.max_seconds)
        text = raw.decode("utf-8", "replace")
        top = Analyzer(tree, text.splitlines(), state, 0, IMPORT, "", None)
        top.run()
        _report(path, top, ctx)
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        imports = sorted(i for i in top.imports if i)
        ctx.report(finding(PRESENT, path, f"{lines} lines; imports: "
                           f"{', '.join(imports[:15]) or 'none'}" +
                           (f" and {len(imports) - 15} more" if len(imports) > 15 else "")))
        props = (("code.imports", ",".join(imports)[:1000]), ("code.lines", str(lines)))
        if state.limits:
            return Result(Coverage.PARTIAL, state.limits[0], format=Format.PYTHON,
                          properties=props)
        return Result(detail=f"Python source, {lines} lines", format=Format.PYTHON,
                      properties=props)


def _report(path: str, top: Analyzer, ctx: ScanContext) -> None:
    top.propagate()
    seen: set[tuple[str, int, str, str]] = set()
    counts: dict[str, int] = {}
    for hit in sorted(top.hits, key=lambda h: (h.line, h.rule.id, h.evidence, h.context)):
        key = (hit.rule.id, hit.line, hit.evidence, hit.context)
        if key in seen:
            continue
        seen.add(key)
        counts[hit.rule.id] = counts.get(hit.rule.id, 0) + 1
        if counts[hit.rule.id] > MAX_PER_RULE:
            continue
        sev = GRADES[hit.rule.id][ORDER[hit.context]]
        if hit.rule is FILE_WRITE and hit.context == CALL and _SAVER.match(
                hit.owner.rsplit(".", 1)[-1]):
            sev = Severity.LOW  # save_pretrained()/save_vocabulary() write files by design
        ctx.report(finding(hit.rule, path, hit.evidence,
                           Location(line=hit.line, detail=_describe(hit)), severity=sev))
    for rid, n in sorted(counts.items()):
        if n > MAX_PER_RULE:
            ctx.report(finding(LIMIT, path, f"{n} {rid} findings: only the first "
                               f"{MAX_PER_RULE} reported"))
    for why in top.state.limits:
        ctx.report(finding(LIMIT, path, why))


def _describe(hit: Hit) -> str:
    if hit.context == IMPORT:
        text = "runs at import time"
    elif hit.context == INIT:
        text = f"runs on instantiation ({hit.owner})"
    elif hit.context == SCRIPT:
        text = "runs only when the file is executed as a script"
    else:
        text = f"runs when {hit.owner}() is called" if hit.owner else "runs when called"
    return f"{text}{hit.note}"
