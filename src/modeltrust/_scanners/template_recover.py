"""Grading the tags of a chat template jinja2 rejects, each repaired and parsed on its own.

A renderer with another parser (or version) may accept what jinja2 rejects, so a syntax
error must not hide a payload. Each ``{{ }}``/``{% %}`` tag is cut out, its block closed,
and the ones that then parse are graded together by :class:`.template_grade.Analyser`.
The tag count is bounded (``MAX_FRAGMENTS``) and so is each tag's length.
"""

from __future__ import annotations

import time
from typing import Any

from modeltrust._scanners.interface import ScanContext
from modeltrust._scanners.template_grade import Analyser
from modeltrust._scanners.template_rules import TOO_COMPLEX
from modeltrust.findings import Location, Severity
from modeltrust.rules import finding

_BLOCK_ENDS = {"if": "endif", "for": "endfor", "with": "endwith", "macro": "endmacro",
               "call": "endcall", "filter": "endfilter", "generation": "endgeneration"}
_SINGLE_TAGS = frozenset({"do", "include", "import", "from", "extends"})
MAX_FRAGMENTS = 20_000
MAX_FRAGMENT = 8192


def recover(source: str, path: str, ctx: ScanContext, where: str, env: Any,
             cap: Severity | None = Severity.HIGH) -> None:
    """Grade the tags of a template jinja2 rejects, each repaired and parsed on its own.

    A renderer with another parser (or version) may accept what jinja2 rejects, so the
    expressions are still graded; severities are capped at high because jinja2-based
    renderers cannot run the template as it is. Nesting too deep for this process's stack
    is not capped: a renderer with more stack left parses it fine.
    """
    from jinja2 import TemplateSyntaxError

    pieces: list[str] = []
    line = 1
    fragments = _fragments(source)
    if len(fragments) >= MAX_FRAGMENTS:
        ctx.report(finding(TOO_COMPLEX, path, f"more than {MAX_FRAGMENTS} tags in a template "
                           "jinja2 rejects: the rest was not graded",
                           Location(line=fragments[-1][0], detail=where or None)))
    for at in range(0, len(fragments), 64):
        if time.monotonic() - ctx.started > ctx.limits.max_seconds:
            break
        chunk = fragments[at : at + 64]
        if not _parses(env, "".join(f for _, f in chunk)):
            chunk = [(n, f) for n, f in chunk if _parses(env, f)]
        for lineno, fragment in chunk:
            pieces.append("\n" * max(0, lineno - line) + fragment)
            line = max(line, lineno) + fragment.count("\n")
    if not pieces:
        return
    try:
        tree = env.parse("".join(pieces))
    except (TemplateSyntaxError, RecursionError, MemoryError):
        return
    Analyser(path, ctx, where, cap=cap).run(tree)


def _parses(env: Any, source: str) -> bool:
    from jinja2 import TemplateSyntaxError

    try:
        env.parse(source)
    except (TemplateSyntaxError, RecursionError, MemoryError):
        return False
    return True


def _fragments(source: str) -> list[tuple[int, str]]:
    """``{{ ... }}`` and ``{% ... %}`` tags, made self-contained (blocks closed), in order."""
    out: list[tuple[int, str]] = []
    pos, line = 0, 1
    nxt = {"{{": source.find("{{"), "{%": source.find("{%")}  # -1: no more (linear scan)
    while len(out) < MAX_FRAGMENTS:
        for opening, at in nxt.items():
            if 0 <= at < pos:
                nxt[opening] = source.find(opening, pos)
        starts = [i for i in nxt.values() if i >= 0]
        if not starts:
            break
        start = min(starts)
        close = "}}" if source.startswith("{{", start) else "%}"
        end = source.find(close, start + 2)
        if end < 0:
            break
        line += source.count("\n", pos, start)
        body = source[start + 2 : end].strip("-+ \t\r\n")
        pos = end + 2
        if len(body) > MAX_FRAGMENT:
            line += source.count("\n", start, pos)
            continue
        fragment = _repair(close, body)
        if fragment:
            out.append((line, fragment))
        line += source.count("\n", start, pos)
    return out


def _repair(close: str, body: str) -> str:
    if close == "}}":
        return "{{ " + body + " }}"
    tag, _, rest = body.partition(" ")
    if tag == "set":
        return f"{{% set {rest} %}}" + ("" if "=" in rest else "{% endset %}")
    if tag == "elif":
        return f"{{% if {rest} %}}{{% endif %}}"
    if tag in _BLOCK_ENDS:
        return f"{{% {body} %}}{{% {_BLOCK_ENDS[tag]} %}}"
    if tag in _SINGLE_TAGS:
        return f"{{% {body} %}}"
    return ""
