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
"""

from __future__ import annotations

import re
import time
from functools import cache
from typing import TYPE_CHECKING, Any

from modeltrust._inventory.formats import Format
from modeltrust._scanners import common
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._scanners.jinja_expr import (
    ESCAPE_NAMES,
    TEXT_MAX,
    Folded,
    builds_string,
    clip,
    fold,
    fold_block,
    is_internal,
    items_of,
    rank,
    text,
)
from modeltrust._source.interface import Artifact, Buffer
from modeltrust.findings import Location, Rule, Severity
from modeltrust.rules import finding, rule

if TYPE_CHECKING:
    from jinja2 import nodes as jn

_REFS = ("CVE-2024-34359", "CVE-2026-5760", "GHSA-46cm-pfwv-cgf8")
_FIX = "Do not serve the model with this template; replace it with the publisher's " \
       "original, and render templates only in jinja2's ImmutableSandboxedEnvironment."
ESCAPE = rule(
    "MT-TPL-001", "Chat template escapes the Jinja sandbox", Severity.CRITICAL,
    """
    An attribute chain in the template reaches Python internals that run commands or import
    modules (``__globals__``, ``__builtins__``, ``__subclasses__``, ``__import__``, ``os``,
    ``popen``, ``eval``, ``subprocess``...), starting from a dunder attribute or an engine
    object such as ``cycler``, ``lipsum`` or ``self``. A renderer without the sandbox runs
    it on every chat request (CVE-2024-34359, CVE-2026-5760, GHSA-46cm-pfwv-cgf8).
    """,
    fix=_FIX, cwe=1336, references=_REFS,
)
DUNDER = rule(
    "MT-TPL-002", "Chat template accesses Python dunder attributes", Severity.HIGH,
    """
    The template reads ``__x__`` attributes (``__class__``, ``__mro__``, ``__init__``...) or
    introspection attributes (``mro``, ``f_globals``, ``gi_frame``...), directly, through
    ``|attr``, a subscript, ``getattr``, an attribute-taking filter (``map``, ``groupby``,
    ``sum``...) or a ``str.format`` field, or builds a string naming one. Chat templates
    never need them; they are the first steps of every server-side template injection,
    even when the rest of the chain is not visible statically.
    """,
    fix=_FIX, cwe=1336, references=_REFS,
)
ENGINE_OBJECT = rule(
    "MT-TPL-003", "Chat template uses an engine or host global as an object", Severity.HIGH,
    """
    The template inspects an object that the template engine or a web framework provides
    (``cycler``, ``joiner``, ``lipsum``, ``namespace``, ``self``, ``config``, ``request``,
    ``os``...) instead of just calling it. Their attributes lead to the interpreter's
    globals. A bare reference to a host-only global (``config``, ``request``) is medium.
    """,
    fix=_FIX, cwe=1336,
)
DYNAMIC_NAME = rule(
    "MT-TPL-004", "Chat template builds attribute names at render time", Severity.MEDIUM,
    """
    An attribute or key name is computed (``|attr(x)``, ``'__cla' ~ 'ss__'``, ``|join``,
    ``|replace``, ``|reverse``, slicing, ``chr`` arithmetic) rather than written out, which
    is how payloads hide dunder names from text filters. Critical when the looked-up value
    is then called.
    """,
    fix=_FIX, cwe=1336,
)
PRIVATE = rule(
    "MT-TPL-005", "Chat template reads private attributes", Severity.MEDIUM,
    """
    The template reads an attribute whose name starts with an underscore. The sandbox
    forbids them because they expose implementation internals; chat templates do not use
    them.
    """,
    fix=_FIX, cwe=1336,
)
LOADS_TEMPLATES = rule(
    "MT-TPL-006", "Chat template loads other templates", Severity.MEDIUM,
    """
    The template uses ``{% import %}``, ``{% from %}``, ``{% include %}`` or
    ``{% extends %}``. Chat templates are self-contained; loading others reads files from
    the renderer's template path, which the model does not control and was not scanned.
    """,
    fix="Inline what the template needs; remove the import/include/extends.", cwe=1336,
)
SYNTAX = rule(
    "MT-TPL-007", "Chat template does not parse", Severity.MEDIUM,
    """
    jinja2 rejects the template. The model will not chat correctly with renderers that use
    jinja2, and other renderers may read it differently from this analysis. Its text is
    still searched for names of Python internals, and each of its tags is repaired and
    graded on its own (severities capped at high).
    """,
    fix="Replace the template with the publisher's original.",
)
TOO_COMPLEX = rule(
    "MT-TPL-008", "Chat template too large or too complex to analyse fully", Severity.MEDIUM,
    """
    The template exceeds a size, node-count or nesting bound, so part of it was not
    analysed. Real chat templates are a few kilobytes; huge ones are built to exhaust
    scanners or to hide a payload far from the start.
    """,
    fix="Replace the template with the publisher's original.", cwe=400,
)
UNPARSED_HINT = rule(
    "MT-TPL-009", "Unanalysable chat template names Python internals", Severity.HIGH,
    """
    The template could not be parsed (syntax error or size), but its text contains names
    of Python internals (``__globals__``, ``__subclasses__``, ``\\x5f\\x5f``...) that only
    sandbox escapes use. Another renderer may well accept the template.
    """,
    fix=_FIX, cwe=1336, references=_REFS,
)
NO_JINJA = rule(
    "MT-TPL-010", "Chat template not analysed: jinja2 is not installed", Severity.INFO,
    "Templates are parsed with jinja2, which is an optional dependency.",
    fix="pip install 'modeltrust[formats]'",
)

MAX_TEMPLATE_BYTES = 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 200
MAX_FINDINGS = 100
TARGETS = frozenset({
    "__globals__", "__builtins__", "__subclasses__", "__import__", "__loader__", "os", "sys",
    "popen", "system", "eval", "exec", "execfile", "compile", "subprocess", "import_module",
    "modules", "_module", "spawn", "spawnv", "check_output", "check_call", "Popen", "getoutput",
    "run", "open", "importlib", "builtins",
}) | ESCAPE_NAMES
"""Names that, reached from Python internals, mean code execution or module access."""
ENGINE_OBJECTS = frozenset({"lipsum", "cycler", "joiner", "namespace", "self"})
HOST_GLOBALS = frozenset({
    "config", "request", "url_for", "get_flashed_messages", "g", "session", "os", "sys",
    "subprocess", "builtins", "importlib", "getattr", "setattr", "delattr", "globals",
    "locals", "vars", "eval", "exec", "compile", "open", "import_module", "popen", "system",
})
_UNSHADOWED = frozenset({"config", "request", "url_for", "get_flashed_messages", "subprocess",
                         "importlib", "builtins"})
"""Host globals graded even where the template binds the name (``{% if 0 %}{% set ... %}``
binds nothing at run time); the other host names are common variable names."""
_ATTRIBUTE_ARG = {"selectattr": 0, "rejectattr": 0, "groupby": 0, "sum": 0, "sort": 2,
                  "unique": 1, "min": 1, "max": 1, "join": 1, "map": None}
"""Filters that look up an attribute named by an argument, and its position (or keyword)."""
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
        _recover(source, artifact_path, ctx, where, env)
        return f"template does not parse (line {exc.lineno})"
    except (RecursionError, MemoryError) as exc:
        ctx.report(finding(TOO_COMPLEX, artifact_path,
                           f"nesting too deep to parse ({type(exc).__name__})",
                           Location(detail=where or None)))
        _text_hints(source, artifact_path, ctx, where)
        _recover(source, artifact_path, ctx, where, env, cap=None)
        return "template nesting too deep to parse"
    return _Analyser(artifact_path, ctx, where).run(tree)


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


_BLOCK_ENDS = {"if": "endif", "for": "endfor", "with": "endwith", "macro": "endmacro",
               "call": "endcall", "filter": "endfilter", "generation": "endgeneration"}
_SINGLE_TAGS = frozenset({"do", "include", "import", "from", "extends"})
MAX_FRAGMENTS = 20_000
MAX_FRAGMENT = 8192


def _recover(source: str, path: str, ctx: ScanContext, where: str, env: Any,
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
    _Analyser(path, ctx, where, cap=cap).run(tree)


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


def _text_hints(source: str, path: str, ctx: ScanContext, where: str) -> None:
    """Search unparsed text for the names that only sandbox escapes use."""
    for n, m in enumerate(_HINT.finditer(source)):
        if n >= 3:
            break
        line = source.count("\n", 0, m.start()) + 1
        snippet = source[max(0, m.start() - 40) : m.end() + 40].replace("\n", " ")
        ctx.report(finding(UNPARSED_HINT, path, f"...{snippet}...",
                           Location(line=line, detail=where or None)))


class _Step:
    """One link of an access chain: ``.x``, ``['x']``, ``[i]``, ``(...)``, ``|f``."""

    __slots__ = ("kind", "name", "via")

    def __init__(self, kind: str, name: str = "", via: str = "") -> None:
        self.kind = kind  # attr, item, index, dyn, call, filter
        self.name = name
        self.via = via  # dot, attr-filter, getattr, format, mapped, built


Chain = tuple[str, list[_Step]]


class _Candidates:
    """Values bound to one name across the template; the most suspicious one wins."""

    __slots__ = ("best", "first", "same", "count")

    def __init__(self) -> None:
        self.best: Folded = None
        self.first: Folded = None
        self.same = True
        self.count = 0

    def add(self, value: Folded) -> Folded:
        if self.count == 0:
            self.best = self.first = value
        elif rank(value) > rank(self.best):
            self.best = value
        self.same = self.same and value is not None and value == self.first
        self.count += 1
        return self.best if rank(self.best) or self.same else None


class _Analyser:
    """Walks one parsed template; reports each suspicious access chain once.

    Data flow is flow-insensitive and over-approximate: every ``set``, ``with``, ``for``,
    macro parameter (from call sites and defaults), ``caller(...)`` argument, namespace and
    dict member binds its name to what was assigned, so a value passed around keeps its
    grade. Every string the template can build that names a Python internal is reported
    even where its use cannot be followed.
    """

    def __init__(self, path: str, ctx: ScanContext, where: str,
                 cap: Severity | None = None) -> None:
        self.path, self.ctx, self.where, self.cap = path, ctx, where, cap
        self.consts: dict[str, Folded] = {}
        self.aliases: dict[str, tuple[Chain, str]] = {}
        self.bound: set[str] = set()
        self.seen: set[tuple[str, int, str]] = set()
        self.covered: set[int] = set()
        self.graded: set[str] = set()
        self.dynamic = 0
        self.problem = ""

    def run(self, tree: jn.Template) -> str:
        from jinja2 import nodes as n

        flat = self._flatten(tree)
        self._bindings(flat)
        consumed: set[int] = set()
        for i, node in enumerate(flat):
            if i % 2048 == 0 and self._out_of_time(i, len(flat)):
                return self.problem
            if id(node) in consumed:
                continue
            if isinstance(node, n.Getattr | n.Getitem | n.Call | n.Filter | n.Name):
                if isinstance(node, n.Name) and node.ctx != "load":
                    continue
                root, steps = self._chain(node, consumed)
                self._grade(node, root, steps)
            elif isinstance(node, n.Import | n.FromImport | n.Include | n.Extends):
                kind = type(node).__name__.lower()
                self._report(LOADS_TEMPLATES, node,
                             f"{{% {kind} {text(node.template)} %}}")
            elif isinstance(node, n.NSRef) and node.attr.startswith("_"):
                self._report(DUNDER if is_internal(node.attr) else PRIVATE, node,
                             f"{{% set {node.name}.{node.attr} = ... %}}")
        self._strings(flat)
        return self.problem

    def _out_of_time(self, done: int, total: int, stage: str = "nodes") -> bool:
        if self.problem == "time limit reached":
            return True
        if time.monotonic() - self.ctx.started <= self.ctx.limits.max_seconds:
            return False
        self.ctx.report(finding(common.TIME_LIMIT, self.path, "template analysis stopped "
                                f"after {done} of {total} {stage}",
                                Location(detail=self.where or None)))
        self.problem = "time limit reached"
        return True

    def _flatten(self, tree: jn.Node) -> list[jn.Node]:
        """Pre-order node list, bounded in count and depth (iterative: no recursion)."""
        out: list[jn.Node] = []
        stack: list[tuple[jn.Node, int]] = [(tree, 0)]
        deep = False
        while stack:
            node, depth = stack.pop()
            out.append(node)
            if len(out) >= MAX_NODES:
                self.ctx.report(finding(TOO_COMPLEX, self.path, f"more than {MAX_NODES} "
                                        "syntax nodes: the rest was not analysed",
                                        Location(line=node.lineno, detail=self.where or None)))
                self.problem = "template node limit reached"
                break
            if depth >= MAX_DEPTH:
                deep = True
                continue
            stack.extend((c, depth + 1) for c in reversed(list(node.iter_child_nodes())))
        if deep:
            self.ctx.report(finding(TOO_COMPLEX, self.path, f"nesting deeper than {MAX_DEPTH} "
                                    "levels: deeper nodes were not analysed",
                                    Location(detail=self.where or None)))
            self.problem = self.problem or "template nesting limit reached"
        return out

    def _bindings(self, flat: list[jn.Node]) -> None:
        """Bind names to constant strings and to aliases of suspicious objects."""
        from jinja2 import nodes as n

        pairs: list[tuple[str, jn.Node, bool]] = []  # (name, value, value is iterated)
        blocks: list[tuple[str, jn.AssignBlock]] = []
        macros: dict[str, jn.Macro] = {}
        calls: list[jn.Call] = []
        call_blocks: list[jn.CallBlock] = []
        for node in flat:
            if isinstance(node, n.Name) and node.ctx in ("store", "param"):
                self.bound.add(node.name)
            if isinstance(node, n.Assign):
                _pair(node.target, node.node, False, pairs)
            elif isinstance(node, n.AssignBlock) and isinstance(node.target, n.Name | n.NSRef):
                blocks.append((_target_name(node.target), node))
            elif isinstance(node, n.For):
                _pair(node.target, node.iter, True, pairs)
            elif isinstance(node, n.With):
                for target, expr in zip(node.targets, node.values, strict=False):
                    _pair(target, expr, False, pairs)
            elif isinstance(node, n.Macro):
                macros.setdefault(node.name, node)
                for param, default in zip(reversed(node.args), reversed(node.defaults),
                                          strict=False):
                    pairs.append((param.name, default, False))
            elif isinstance(node, n.CallBlock):
                call_blocks.append(node)
            elif isinstance(node, n.Call) and isinstance(node.node, n.Name):
                calls.append(node)
        for call in calls:
            callee = call.node.name  # type: ignore[attr-defined]
            if callee == "caller":
                params = [p for b in call_blocks for p in b.args[: len(call.args)]]
                args = [a for b in call_blocks for a in call.args[: len(b.args)]]
            elif callee in macros:
                params, args = macros[callee].args, call.args
                names = {p.name for p in params}
                pairs += [(k.key, k.value, False) for k in call.kwargs if k.key in names]
            else:
                continue
            pairs += [(p.name, a, False) for p, a in zip(params, args, strict=False)]
        for _ in range(2):  # a second pass resolves names used before their binding
            self._bind_pass(pairs, blocks)

    def _bind_pass(self, pairs: list[tuple[str, jn.Node, bool]],
                   blocks: list[tuple[str, jn.AssignBlock]]) -> None:
        cands: dict[str, _Candidates] = {}
        for i, (name, expr, iterated) in enumerate(pairs):
            if i % 2048 == 0 and self._out_of_time(i, len(pairs), "bindings"):
                return
            value = fold(expr, self.consts)
            items = (items_of(value) or []) if iterated and value is not None else [value]
            slot = cands.setdefault(name, _Candidates())
            for v in items[:256]:
                self.consts[name] = slot.add(v)
            self._alias(name, expr, iterated)
        for name, block in blocks:
            slot = cands.setdefault(name, _Candidates())
            self.consts[name] = slot.add(fold_block(block.body, block.filter, self.consts))

    def _alias(self, name: str, value: jn.Node, item: bool) -> None:
        if name in self.aliases:
            return
        root, steps = self._chain(value, set())
        if not self._suspicious(root, steps):
            return
        steps = steps + [_Step("index", "item")] if item else steps
        self.aliases[name] = ((root, steps), text(value))

    def _suspicious(self, root: str, steps: list[_Step]) -> bool:
        names = [s.name for s in steps if s.kind in ("attr", "item")]
        bare = root in ENGINE_OBJECTS and not steps
        return (any(is_internal(x) for x in names) or is_internal(root) or bare
                or any(s.kind == "dyn" for s in steps) or self._escape_root(root, steps)
                or root in self.aliases)

    def _escape_root(self, root: str, steps: list[_Step]) -> bool:
        if root in ENGINE_OBJECTS:  # rebinding them is no excuse: it may never run
            return bool(steps) and steps[0].kind in ("attr", "item", "dyn", "filter")
        return root in HOST_GLOBALS and (root in _UNSHADOWED or root not in self.bound)

    def _chain(self, top: jn.Node, consumed: set[int]) -> Chain:
        """Split an access chain into its root name and steps, walking the spine iteratively."""
        from jinja2 import nodes as n

        rev: list[_Step] = []
        node: jn.Node | None = top
        while node is not None:
            nxt: jn.Node | None = None
            if isinstance(node, n.Getattr):
                rev.append(_Step("attr", node.attr, "dot"))
                nxt = node.node
            elif isinstance(node, n.Getitem):
                rev.append(self._key_step(node.arg))
                nxt = node.node
            elif isinstance(node, n.Call):
                if isinstance(node.node, n.Name) and node.node.name == "getattr" \
                        and len(node.args) >= 2 and "getattr" not in self.bound:
                    rev.append(self._name_step(node.args[1], "getattr"))
                    consumed.add(id(node.node))
                    nxt = node.args[0]
                else:
                    rev.append(_Step("call"))
                    nxt = node.node
            elif isinstance(node, n.Filter):
                rev.extend(reversed(self._filter_steps(node)))
                nxt = node.node  # None in {% filter %} blocks: the root is the block's text
            consumed.add(id(node))
            if nxt is None:
                break
            node = nxt
        root = node.name if isinstance(node, n.Name) else ""
        if rev and rev[-1].name in ("format", "format_map") and node is not None:
            fmt = fold(node, self.consts)
            if isinstance(fmt, str):
                self._cover(node)
                rev.extend(reversed(_format_steps(fmt)))
        return root, list(reversed(rev))

    def _key_step(self, arg: jn.Node) -> _Step:
        from jinja2 import nodes as n

        value = fold(arg, self.consts)
        if isinstance(value, str):
            self._cover(arg)
            return _Step("item", value, "dot" if isinstance(arg, n.Const) else "built")
        if value is None and builds_string(arg):
            return _Step("dyn")
        return _Step("index")

    def _name_step(self, arg: jn.Node, via: str) -> _Step:
        from jinja2 import nodes as n

        value = fold(arg, self.consts)
        if isinstance(value, str):
            self._cover(arg)
            built = via != "mapped" and not isinstance(arg, n.Const)
            return _Step("attr", value, "built" if built else via)
        return _Step("dyn", "", via)

    def _filter_steps(self, node: jn.Filter) -> list[_Step]:
        from jinja2 import nodes as n

        if node.name == "attr" and node.args:
            return [self._name_step(node.args[0], "attr-filter")]
        steps = [_Step("filter", node.name)]
        named = [kw.value for kw in node.kwargs if kw.key == "attribute"]
        at = _ATTRIBUTE_ARG.get(node.name)
        if at is not None and len(node.args) > at:
            named.append(node.args[at])
        if node.name == "map" and len(node.args) >= 2 and isinstance(node.args[0], n.Const) \
                and node.args[0].value == "attr":
            named.append(node.args[1])
        if node.name not in _ATTRIBUTE_ARG and node.name != "map":
            named = []
        for expr in named:
            step = self._name_step(expr, "mapped")
            parts = step.name.split(".") if step.kind == "attr" else [step.name]
            steps += [_Step(step.kind, p, "mapped") for p in parts]
        return steps

    def _resolve(self, root: str, steps: list[_Step]) -> tuple[str, list[_Step], str]:
        """Substitute aliases of suspicious values (``{% set x = cycler.__init__ %}``)."""
        notes: list[str] = []
        for _ in range(8):
            key = root
            if root not in self.aliases and steps and steps[0].kind in ("attr", "item"):
                key = f"{root}.{steps[0].name}"  # namespace or dict member
                if key not in self.aliases:
                    break
                steps = steps[1:]
            elif root not in self.aliases:
                break
            (aroot, asteps), text = self.aliases[key]
            notes.append(f"{key} = {text}")
            root, steps = aroot, asteps + steps
        return root, steps, "; ".join(notes)

    def _grade(self, node: jn.Node, root: str, steps: list[_Step]) -> None:
        root, steps, note = self._resolve(root, steps)
        names = [s.name for s in steps if s.kind in ("attr", "item")]
        dunders = [x for x in [root, *names] if is_internal(x)]
        self.graded.update(dunders)
        escape_root = self._escape_root(root, steps)
        reach = [x for x in [root, *names] if x in TARGETS]
        evidence = text(node) + (f"  (where {note})" if note else "")
        built = [s.name for s in steps if s.via in ("built", "getattr") and is_internal(s.name)]
        if built:
            evidence += f"  (names built or looked up: {', '.join(built)})"
        reported = True
        if (dunders or (escape_root and steps)) and reach and (dunders or root in TARGETS
                                                               or steps[0].kind != "call"):
            path = [x for x in [root, *names] if is_internal(x) or x in TARGETS]
            why = " -> ".join(dict.fromkeys(path))
            self._report(ESCAPE, node, f"{evidence}  [reaches {why}]")
        elif dunders:
            self._report(DUNDER, node, evidence)
        elif escape_root and root in ENGINE_OBJECTS:
            inspected = steps[0].kind != "filter" or steps[0].name == "attr"
            self._report(ENGINE_OBJECT, node, evidence, None if inspected else Severity.MEDIUM)
        elif escape_root:
            accessed = any(s.kind in ("attr", "item", "dyn", "index") for s in steps)
            self._report(ENGINE_OBJECT, node, evidence,
                         None if accessed else Severity.MEDIUM)
        elif root in ENGINE_OBJECTS and not steps:
            self._report(ENGINE_OBJECT, node, f"{evidence}  (used as a value, not called)",
                         Severity.MEDIUM)
        else:
            reported = False
        self._dynamic(node, steps, evidence, reported)

    def _dynamic(self, node: jn.Node, steps: list[_Step], evidence: str, reported: bool) -> None:
        dyn = [i for i, s in enumerate(steps) if s.kind == "dyn"]
        if dyn:
            self.dynamic += 1
            called = any(s.kind == "call" for s in steps[dyn[0] + 1 :])
            self._report(DYNAMIC_NAME, node, evidence, Severity.CRITICAL if called else None)
        elif not reported:
            private = [s.name for s in steps if s.kind == "attr" and s.via != "mapped"
                       and s.name.startswith("_")]
            if private:
                self._report(PRIVATE, node, evidence)

    def _cover(self, top: jn.Node) -> None:
        """Mark a subtree whose strings were already graded as part of an access chain."""
        stack = [top]
        while stack:
            node = stack.pop()
            if id(node) not in self.covered:
                self.covered.add(id(node))
                stack.extend(node.iter_child_nodes())

    def _strings(self, flat: list[jn.Node]) -> None:
        """Report strings naming Python internals wherever they are built or passed."""
        from jinja2 import nodes as n

        for i, node in enumerate(flat):
            if i % 2048 == 0 and self._out_of_time(i, len(flat), "strings"):
                return
            if id(node) in self.covered:
                continue
            if isinstance(node, n.Keyword):
                value: Folded = node.key
            elif isinstance(node, n.Const) or builds_string(node):
                value = fold(node, self.consts)
            else:
                continue
            if isinstance(value, str) and "{" in value and not is_internal(value):
                value = next((s.name for s in _format_steps(value) if is_internal(s.name)), None)
            if not is_internal(value) or value in self.graded or "_" not in str(value):
                continue  # a bare 'mro' string is also a language code
            self._cover(node)
            evidence = f"{text(node)}  (string naming {value!r}"
            if rank(value) == 2 and self.dynamic:
                self._report(ESCAPE, node, f"{evidence}; attributes are looked up by "
                             "computed names elsewhere in the template)")
            else:
                self._report(DUNDER, node, f"{evidence})")

    def _report(self, r: Rule, node: jn.Node, evidence: str,
                severity: Severity | None = None) -> None:
        key = (r.id, node.lineno, evidence)
        if key in self.seen:
            return
        self.seen.add(key)
        if len(self.seen) > MAX_FINDINGS:
            if len(self.seen) == MAX_FINDINGS + 1:
                self.ctx.report(finding(TOO_COMPLEX, self.path, f"more than {MAX_FINDINGS} "
                                        "suspicious constructs: the rest are not listed",
                                        Location(line=node.lineno, detail=self.where or None)))
            return
        if self.cap is not None and (severity or r.severity) > self.cap:
            severity = self.cap
            evidence = "(in a template jinja2 rejects) " + evidence
        self.ctx.report(finding(r, self.path, clip(evidence),
                                Location(line=node.lineno, detail=self.where or None),
                                severity=severity))


def _target_name(target: jn.Node) -> str:
    from jinja2 import nodes as n

    if isinstance(target, n.NSRef):
        return f"{target.name}.{target.attr}"
    return target.name if isinstance(target, n.Name) else ""


def _pair(target: jn.Node, value: jn.Node, iterated: bool,
          out: list[tuple[str, jn.Node, bool]]) -> None:
    """Names bound by ``target = value`` (tuples pairwise; namespace and dict members)."""
    from jinja2 import nodes as n

    if isinstance(target, n.Tuple):
        if not iterated and isinstance(value, n.Tuple | n.List) \
                and len(value.items) == len(target.items):
            for t, v in zip(target.items, value.items, strict=True):
                _pair(t, v, False, out)
        else:
            out += [(t.name, value, True) for t in target.items if isinstance(t, n.Name)]
        return
    name = _target_name(target)
    if not name:
        return
    out.append((name, value, iterated))
    if iterated:
        return
    if isinstance(value, n.Dict):
        out += [(f"{name}.{p.key.value}", p.value, False) for p in value.items
                if isinstance(p.key, n.Const) and isinstance(p.key.value, str)]
    elif isinstance(value, n.Call) and isinstance(value.node, n.Name) \
            and value.node.name in ("namespace", "dict"):
        out += [(f"{name}.{k.key}", k.value, False) for k in value.kwargs]


def _format_steps(fmt: str) -> list[_Step]:
    """Attribute names inside ``str.format`` fields (``'{0.__class__}'.format(x)``)."""
    import string

    steps: list[_Step] = []
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(fmt) if f]
    except ValueError:
        return steps
    for field in fields[:32]:
        for part in re.split(r"[.\[\]]", field)[1:]:
            if part:
                steps.append(_Step("attr", part, "format"))
    return steps
