"""Jinja chat templates: parsed into an AST (never rendered) and searched for sandbox escapes.

Chat templates ship inside GGUF metadata, ``tokenizer_config.json`` and ``chat_template.jinja``
and are rendered by the serving stack on every request. Renderers that forgot the sandbox
(CVE-2024-34359 in llama-cpp-python, CVE-2026-5760 in SGLang, litellm GHSA-46cm-pfwv-cgf8)
ran whatever the template reached: ``''.__class__.__mro__[1].__subclasses__()`` or
``cycler.__init__.__globals__.os.popen(...)``. Jinja's parser only builds a tree, so parsing
is safe; the tree's access chains (``x.a['b']|attr('c')(...)``) are graded here by what
they reach, after folding names built from literals (``'__cla' ~ 'ss__'``, ``chr(95)``) and
following values through ``set``/``with``/``for``, macro parameters, ``caller``, namespaces
and dicts. Templates jinja2 rejects are still graded tag by tag.

This module is the scanner and the entry point other scanners call; the work is in
:mod:`.template_flow` (value following), :mod:`.template_grade` (grading),
:mod:`.template_recover` (templates jinja2 rejects), :mod:`.template_rules` (the MT-TPL
rules) and :mod:`.jinja_expr` (literal folding and printing).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from modeltrust._inventory.formats import Format
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._scanners.jinja_expr import TEXT_MAX
from modeltrust._scanners.template_grade import Analyser
from modeltrust._scanners.template_recover import MAX_FRAGMENTS, recover
from modeltrust._scanners.template_rules import (
    DUNDER,
    DYNAMIC_NAME,
    ENGINE_OBJECT,
    ESCAPE,
    LOADS_TEMPLATES,
    NO_JINJA,
    PRIVATE,
    SYNTAX,
    TOO_COMPLEX,
    UNPARSED_HINT,
)
from modeltrust._source.interface import Artifact, Buffer
from modeltrust.findings import Location
from modeltrust.rules import finding

__all__ = ["MAX_FRAGMENTS", "MAX_TEMPLATE_BYTES", "TemplateScanner", "analyse_template",
           "check_template"]
"""What other modules and tests import from here (the analysis lives in the modules above)."""

MAX_TEMPLATE_BYTES = 1024 * 1024
_HINT = re.compile(r"__(?:class|mro|subclasses|globals|builtins|import|init|base|bases|code|"
                   r"func|self|module|reduce|reduce_ex|getattribute|dict|loader|spec)__|"
                   r"\\x5f\\x5f|\\u005f\\u005f")


class TemplateScanner(Scanner):
    """Standalone templates and the ones other scanners extract (GGUF, tokenizer configs)."""

    name = "template"
    formats = frozenset({Format.TEMPLATE})
    rules = (ESCAPE, DUNDER, ENGINE_OBJECT, DYNAMIC_NAME, PRIVATE, LOADS_TEMPLATES, SYNTAX,
             TOO_COMPLEX, UNPARSED_HINT, NO_JINJA)

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Parse the template into an AST and grade every access chain in it."""
        if len(data) > MAX_TEMPLATE_BYTES:
            text = bytes(data[: 8 * MAX_TEMPLATE_BYTES]).decode("utf-8", "replace")
            ctx.report(finding(TOO_COMPLEX, artifact.path,
                               f"template of {len(data)} bytes exceeds {MAX_TEMPLATE_BYTES}: "
                               "not parsed", Location(offset=0)))
            _text_hints(text, artifact.path, ctx, "")
            return Result.partial("template too large to parse", format=Format.TEMPLATE)
        source = bytes(data).decode("utf-8", "replace")
        problem = analyse_template(source, artifact.path, ctx, "")
        if problem == "jinja2 missing":
            return Result.not_analysed("install modeltrust[formats] to read Jinja templates",
                                       format=Format.TEMPLATE)
        if problem:
            return Result.partial(problem, format=Format.TEMPLATE)
        return Result(detail=f"Jinja template, {source.count(chr(10)) + 1} lines",
                      format=Format.TEMPLATE)


def check_template(source: str, artifact_path: str, ctx: ScanContext, where: str) -> None:
    """Analyse a template found inside another file; findings go to ``artifact_path``."""
    analyse_template(source, artifact_path, ctx, where)


def analyse_template(
    source: str, artifact_path: str, ctx: ScanContext, where: str, *, report_syntax: bool = True
) -> str:
    """Parse and grade ``source``; return why analysis was incomplete ('' when complete).

    ``report_syntax=False`` is for strings that merely contain ``{{`` (a config value that
    may not be meant as Jinja): they are analysed when they parse and ignored otherwise.
    """
    if len(source) > MAX_TEMPLATE_BYTES:
        ctx.report(finding(TOO_COMPLEX, artifact_path, f"template of {len(source)} characters "
                           f"exceeds {MAX_TEMPLATE_BYTES}: not parsed",
                           Location(detail=where or None)))
        _text_hints(source, artifact_path, ctx, where)
        return "template too large to parse"
    try:
        env = _environment()
    except ImportError:
        ctx.report(finding(NO_JINJA, artifact_path, "jinja2 is not installed",
                           Location(detail=where or None)))
        return "jinja2 missing"
    from jinja2 import TemplateSyntaxError

    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        if not report_syntax:
            return ""
        ctx.report(finding(SYNTAX, artifact_path, f"{exc.message or exc}"[:TEXT_MAX],
                           Location(line=exc.lineno, detail=where or None)))
        _text_hints(source, artifact_path, ctx, where)
        recover(source, artifact_path, ctx, where, env)
        return f"template does not parse (line {exc.lineno})"
    except (RecursionError, MemoryError) as exc:
        ctx.report(finding(TOO_COMPLEX, artifact_path,
                           f"nesting too deep to parse ({type(exc).__name__})",
                           Location(detail=where or None)))
        _text_hints(source, artifact_path, ctx, where)
        recover(source, artifact_path, ctx, where, env, cap=None)
        return "template nesting too deep to parse"
    return Analyser(artifact_path, ctx, where).run(tree)


@cache
def _environment() -> Any:
    """A sandboxed environment that parses what Hugging Face's renderer accepts."""
    from jinja2 import nodes
    from jinja2.ext import Extension
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class _Generation(Extension):
        """``{% generation %}...{% endgeneration %}`` (transformers' assistant mask tag)."""

        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.Scope(body, lineno=lineno)

    return ImmutableSandboxedEnvironment(
        extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do", _Generation])


def _text_hints(source: str, path: str, ctx: ScanContext, where: str) -> None:
    """Search unparsed text for the names that only sandbox escapes use."""
    for n, m in enumerate(_HINT.finditer(source)):
        if n >= 3:
            break
        line = source.count("\n", 0, m.start()) + 1
        snippet = source[max(0, m.start() - 40) : m.end() + 40].replace("\n", " ")
        ctx.report(finding(UNPARSED_HINT, path, f"...{snippet}...",
                           Location(line=line, detail=where or None)))
