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
Python, to a fixed depth; decoded data that turns out to be Python with capabilities is
reported even when its route to ``exec`` is not visible. Marshalled code objects are read
(never unmarshalled) for the names they use, and literal bytes handed to ``pickle.loads``
and similar deserialisers go to the pickle scanner as children of the file.
"""

from __future__ import annotations

import re

from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners.code.analyzer import Analyzer, Hit, error_line
from modeltrust._scanners.code.capabilities import (
    CALL,
    FILE_WRITE,
    GRADES,
    IMPORT,
    INIT,
    LIMIT,
    MAX_SOURCE,
    MAX_TOKENS,
    ORDER,
    PRESENT,
    RISKY_TEXT,
    RULES,
    SCRIPT,
    UNPARSABLE,
)
from modeltrust._scanners.code.collect import count_tokens, parse
from modeltrust._scanners.code.decode import State
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, Buffer
from modeltrust.findings import Location, Severity
from modeltrust.rules import finding

__all__ = ["MAX_SOURCE", "RULES", "CodeScanner"]

_SAVER = re.compile(r"_*(save|write|export|dump|to_|push_to_hub|store)", re.IGNORECASE)
MAX_PER_RULE = 200
MAX_TEXT_SEARCH = 64 * 1024 * 1024
"""Bytes of an oversized file searched as text for risky names."""
MAX_BLOBS = 32
"""Literal payloads handed to deserialisers, per file, that are scanned as children."""
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
            return _too_large(path, data, f"{len(data)} bytes: larger than the {MAX_SOURCE}-"
                              "byte bound for Python source", ctx)
        raw = bytes(data)
        if count_tokens(raw, MAX_TOKENS) > MAX_TOKENS:
            return _too_large(path, data, f"more than {MAX_TOKENS} tokens: larger than the "
                              "bound for Python source", ctx)
        tree = parse(raw)
        if isinstance(tree, str):
            # newer Python may accept what this one cannot parse: say what the text mentions
            mentions = _mentions(data)
            ctx.report(finding(UNPARSABLE, path, tree + mentions, Location(line=error_line(tree)),
                               severity=Severity.HIGH if mentions else None))
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
        _blobs(artifact, top, ctx)
        props: tuple[tuple[str, str], ...] = (("code.imports", ",".join(imports)[:1000]),
                                              ("code.lines", str(lines)))
        if top.relative:
            props = (*props, ("code.relative_imports", ",".join(sorted(top.relative))[:4000]))
        if state.limits:
            return Result(Coverage.PARTIAL, state.limits[0], format=Format.PYTHON,
                          properties=props)
        return Result(detail=f"Python source, {lines} lines", format=Format.PYTHON,
                      properties=props)


def _mentions(data: Buffer) -> str:
    """Risky names in source that could not be parsed, as ``"; the text mentions ..."``."""
    seen: list[str] = []
    for m in RISKY_TEXT.finditer(data[:MAX_TEXT_SEARCH]):
        word = re.sub(r"\s+", "", m.group(0).decode("ascii", "replace"))
        if word not in seen:
            seen.append(word)
            if len(seen) >= 12:
                break
    return f"; the text mentions {', '.join(seen)}" if seen else ""


def _too_large(path: str, data: Buffer, why: str, ctx: ScanContext) -> Result:
    """Not parsed (memory); the text is still searched so the finding says what it mentions."""
    mentions = _mentions(data)
    ctx.report(finding(LIMIT, path, why + mentions,
                       severity=Severity.HIGH if mentions else None))
    return Result.not_analysed("Python source too large to analyse", format=Format.PYTHON)


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
        if hit.cap is not None and sev > hit.cap:
            sev = hit.cap
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


def _blobs(artifact: Artifact, top: Analyzer, ctx: ScanContext) -> None:
    """Literal bytes handed to ``pickle.loads`` & co. are scanned as files of their own."""
    for n, (line, data) in enumerate(sorted(set(top.blobs))[:MAX_BLOBS]):
        if ctx.budget.take(len(data)):
            ctx.scan_child(artifact.child(f"line{line}.{n}.payload", data))


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
