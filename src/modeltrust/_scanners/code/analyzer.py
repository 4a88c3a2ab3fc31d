"""The analysis of one source text: imports and aliases, calls, and when each call runs."""

from __future__ import annotations

import ast
import re
import time
from dataclasses import dataclass

from modeltrust._scanners.code.capabilities import (
    CALL,
    CREDENTIALS,
    DYNAMIC,
    GRADES,
    IMPORT,
    INIT,
    MAX_DECODE_DEPTH,
    MAX_DEPTH,
    MAX_NODES,
    MAX_TOKENS,
    NATIVE,
    NETWORK,
    OBFUSCATED,
    ORDER,
    PROCESS,
    SCRIPT,
    SECRET_PATH,
    SINK_EXEC,
    SINK_PICKLE,
    classify,
)
from modeltrust._scanners.code.checks import PATH_JOINS, div_parts
from modeltrust._scanners.code.collect import Collector, count_tokens, parse
from modeltrust._scanners.code.decode import DECODERS, Decoded, State, marshalled, preview
from modeltrust._scanners.code.literal import benign, literal_text
from modeltrust._scanners.code.reach import Reach
from modeltrust._scanners.code.scopes import Scope, guard_split
from modeltrust.findings import Rule, Severity

CONSTRUCTORS = ("__init__", "__new__", "__post_init__")
NESTED_CLASS = "<nested>"
"""Class-body marker for classes defined inside functions (their methods run with them)."""
_PASSIVE_DECORATORS = frozenset({
    "functools.wraps", "functools.lru_cache", "functools.cache", "functools.cached_property",
    "builtins.property", "builtins.staticmethod", "builtins.classmethod",
    "contextlib.contextmanager", "contextlib.asynccontextmanager", "typing.overload",
    "abc.abstractmethod"})
"""Decorators that wrap a nested function without calling it."""


@dataclass(frozen=True)
class Hit:
    rule: Rule
    line: int
    context: str
    owner: str
    evidence: str
    note: str = ""
    cap: Severity | None = None
    """Highest severity allowed (code found in encoded data that is not shown to run)."""


def error_line(message: str) -> int | None:
    m = re.match(r"syntax error at line (\d+)", message)
    return int(m.group(1)) if m else None


def is_main_guard(test: ast.expr) -> bool:
    """``__name__ == "__main__"``, alone or as one operand of ``and``."""
    return guard_split(test) is not None


_Frame = tuple[ast.AST, str, str, str | None, int]
"""(node, context, owner function, enclosing class, depth)"""
_Child = tuple[ast.AST, str, str, str | None]


_PATH_WORDS = 3
"""A string naming a credential file counts when it reads as a path or a short command
(``~/.ssh/id_rsa``, ``cat ~/.netrc``); help text that mentions one is prose, not access."""


class Analyzer(Collector):
    """One source text (a file, or a payload decoded from one): imports, calls, contexts."""

    def __init__(self, tree: ast.Module, lines: list[str], state: State, depth: int,
                 base: str, owner: str, line_base: int | None,
                 cap: Severity | None = None) -> None:
        self.tree, self.lines, self.state, self.depth = tree, lines, state, depth
        self.base, self.base_owner, self.line_base, self.cap = base, owner, line_base, cap
        self.aliases: dict[str, str] = {}
        self.members: dict[str, str] = {}
        self.star: list[str] = []
        self.consts: dict[str, ast.expr] = {}
        self._memo: dict[str, Decoded] = {}
        self.defined: set[str] = set()
        self.imports: set[str] = set()
        self.relative: set[str] = set()
        """Modules imported with ``from .name import ...`` (loaders fetch them too)."""
        self.hits: list[Hit] = []
        self.reach = Reach()
        self.handled: set[int] = set()
        self.blobs: list[tuple[int, bytes]] = []
        """Literal bytes handed to a deserialiser (line, data): scanned as files of their own."""
        self.scopes: dict[str, Scope | None] = {}
        """Functions by owner name (None when two definitions share one)."""
        self.calls_by_name: dict[str, list[ast.Call]] = {}
        self.identity_rewritten = False
        self.results: dict[str, tuple[str, int]] = {}
        """Names bound to what calling a function returned (``f = outer()``: outer, once;
        ``@deco(x) def g``: deco, twice)."""
        self.exec_spaces: set[str] = set()
        """Dictionaries that ``exec`` of a literal binds names in: ``exec(src, ns)``."""
        self.returned_ids: set[int] = set()

    def run(self) -> None:
        """Collect imports and aliases, then walk every statement in its context."""
        self._collect()
        self._walk()

    def propagate(self) -> None:
        """Code reached at import time (or from ``__init__``) takes that context."""
        self.hits = self.reach.promote(self.hits)

    # -- the walk ----------------------------------------------------------------------------

    def _walk(self) -> None:
        st = self.state
        stack: list[_Frame] = [(n, self.base, self.base_owner, None, 0)
                               for n in reversed(self.tree.body)]
        while stack:
            node, ctx, owner, cls, depth = stack.pop()
            st.nodes += 1
            if st.nodes > MAX_NODES:
                self._limit(f"more than {MAX_NODES} syntax nodes: the rest was not analysed")
                return
            if st.nodes % 8192 == 0 and time.monotonic() > st.deadline:
                self._limit("time limit reached: the rest was not analysed")
                return
            if depth > MAX_DEPTH:
                self._limit(f"syntax nested deeper than {MAX_DEPTH} levels was not analysed")
                continue
            for child, c_ctx, c_owner, c_cls in reversed(self._visit(node, ctx, owner, cls)):
                stack.append((child, c_ctx, c_owner, c_cls, depth + 1))

    def _limit(self, why: str) -> None:
        if why not in self.state.limits:
            self.state.limits.append(why)

    def _visit(self, node: ast.AST, ctx: str, owner: str, cls: str | None) -> list[_Child]:
        out: list[_Child]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return self._function(node, ctx, owner, cls)
        if isinstance(node, ast.ClassDef):
            return self._class(node, ctx, owner)
        if isinstance(node, ast.If) and ctx == IMPORT and not owner:
            split = None if self.identity_rewritten else guard_split(node.test)
            if split is not None:  # runs only as a script; the else branch runs on import
                out = [(n, ctx, owner, None) for n in split[0]]
                out += [(n, SCRIPT, owner, None) for n in [*split[1], *node.body]]
                return out + [(n, ctx, owner, None) for n in node.orelse]
        if isinstance(node, ast.Name) and owner and owner != self.base_owner:
            if isinstance(node.ctx, ast.Load) and id(node) not in self.returned_ids:
                self.reach.refs.add((owner, node.id))
            return []
        if isinstance(node, ast.Return) and owner and node.value is not None:
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            for v in values:
                if isinstance(v, ast.Name):
                    self.returned_ids.add(id(v))
                    self.reach.returned.add((owner, v.id))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            return []  # docstrings and bare string statements
        if (isinstance(node, ast.Assign) and ctx == IMPORT and not owner and cls is None
                and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Lambda)):
            return self._function(node.value, ctx, owner, None, node.targets[0].id)
        if isinstance(node, ast.Call):
            self._call(node, ctx, owner)
            if isinstance(node.func, ast.Lambda):  # (lambda: ...)() runs where it is called
                lam = node.func
                inner: list[ast.AST] = [*node.args, *(k.value for k in node.keywords),
                                        *lam.args.defaults, lam.body]
                return [(n, ctx, owner, None) for n in inner]
        elif isinstance(node, ast.Dict | ast.List | ast.Set | ast.Return | ast.Assign
                        | ast.Yield):
            self._stored(node, ctx, owner)
        elif isinstance(node, ast.Subscript):
            self._subscript(node, ctx, owner)
        elif isinstance(node, ast.Attribute):
            self._attribute(node, ctx, owner)
        elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
              and id(node) not in self.handled):
            parts = div_parts(node)
            self.handled.update(id(p) for p in ast.walk(node.left) if isinstance(p, ast.BinOp))
            self._path_parts(node, ctx, owner, parts)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            if self._qualname(node.iter) == "os.environ":
                self._hit(CREDENTIALS, node.iter, ctx, owner, "iterates over os.environ")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and len(node.value[:4096].split()) <= _PATH_WORDS
              and SECRET_PATH.search(node.value[:4096])):
            self._hit(CREDENTIALS, node, ctx, owner, "names a credential file")
        return [(n, ctx, owner, None) for n in ast.iter_child_nodes(node)]

    def _class(self, node: ast.ClassDef, ctx: str, owner: str) -> list[_Child]:
        outer = [*_unwrap(node.decorator_list), *node.bases, *(k.value for k in node.keywords)]
        self._decorators(node.decorator_list, ctx, owner)
        if ctx == IMPORT and not owner:
            # defining the class runs its metaclass and the bases' __init_subclass__
            for hook in self.reach.class_statement(node.name):
                self.reach.at_import(hook, self._line(node))
        inner = node.name if not owner else NESTED_CLASS
        out = [(n, ctx, owner, None) for n in outer]
        return out + [(n, ctx, owner, inner) for n in node.body]

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, ctx: str,
                  owner: str, cls: str | None, name: str = "<lambda>") -> list[_Child]:
        args = node.args
        outer: list[ast.AST] = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        body: list[ast.AST]
        if isinstance(node, ast.Lambda):
            body = [node.body]
        else:
            name, body = node.name, list(node.body)
            outer = [*_unwrap(node.decorator_list), *outer]
            self._decorators(node.decorator_list, ctx, owner)
        if ctx == SCRIPT:
            inner_ctx = SCRIPT
        elif ctx == IMPORT and cls and name in CONSTRUCTORS:
            inner_ctx = INIT
        else:
            inner_ctx = CALL
        if cls == NESTED_CLASS:
            cls = None
        elif (owner and owner != self.base_owner and cls is None
              and not isinstance(node, ast.Lambda)):
            # defined when the enclosing function runs, run only when something calls it
            inner_owner = f"{owner}.<locals>.{name}"
            self.reach.nested(owner, name, inner_owner)
            self._scope(node, inner_owner, owner)
            if not all(self._passive(d) for d in node.decorator_list):
                self.reach.edge(owner, inner_owner)  # a decorator may call it right away
            out: list[_Child] = [(n, ctx, owner, None) for n in outer]
            return out + [(n, CALL if ctx != SCRIPT else SCRIPT, inner_owner, None)
                          for n in body]
        inner_owner = owner or (f"{cls}.{name}" if cls else name)
        if not owner and cls and not isinstance(node, ast.Lambda):
            self._scope(node, inner_owner, "")  # methods; top-level functions: _collect
        out = [(n, ctx, owner, None) for n in outer]
        return out + [(n, inner_ctx, inner_owner, None) for n in body]

    def _result_call(self, name: str, depth: int, node: ast.AST, ctx: str, owner: str) -> None:
        """``node`` calls what calling ``name`` returned (``depth`` calls deep)."""
        if ctx == IMPORT and not owner:
            self.reach.result_calls.add(("", name, self._line(node), depth))
        elif owner:
            self.reach.result_calls.add((owner, name, 0, depth))

    def _passive(self, decorator: ast.expr) -> bool:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = self._qualname(target)
        if name is None and isinstance(target, ast.Name):
            name = f"builtins.{target.id}"
        return name in _PASSIVE_DECORATORS

    def _decorators(self, decorators: list[ast.expr], ctx: str, owner: str) -> None:
        for d in decorators:
            target = d.func if isinstance(d, ast.Call) else d
            if isinstance(target, ast.Name):
                self._edge(target.id, d, ctx, owner)
                if isinstance(d, ast.Call):  # @deco(x): what deco(x) returns is called too
                    self._result_call(target.id, 1, d, ctx, owner)

    def _edge(self, name: str, node: ast.AST, ctx: str, owner: str) -> None:
        if name not in self.defined:
            return
        if ctx == IMPORT and not owner:
            self.reach.at_import(name, self._line(node))
        elif owner:
            self.reach.edge(owner, name)

    # -- calls and references ----------------------------------------------------------------

    def _call(self, node: ast.Call, ctx: str, owner: str) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            self._edge(func.id, node, ctx, owner)
            if func.id in self.results:  # f = outer(); f()
                self._result_call(*self.results[func.id], node, ctx, owner)
        elif isinstance(func, ast.Call) and isinstance(func.func, ast.Name):
            self._result_call(func.func.id, 1, node, ctx, owner)  # outer()()
        elif (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
              and func.value.id in ("self", "cls") and "." in owner):
            self.reach.edge(owner, f"{owner.split('.')[0]}.{func.attr}")
        for kw in node.keywords:
            if (kw.arg == "trust_remote_code" and isinstance(kw.value, ast.Constant)
                    and kw.value.value is True):
                self._hit(DYNAMIC, node, ctx, owner, "loads code from another repository "
                          "(trust_remote_code=True)")
        name = self._qualname(func)
        if name is None:
            self._unresolved_call(node, ctx, owner)
            return
        if name in SINK_PICKLE:
            self._pickle_blob(node)
        if name in DECODERS and name != "marshal.loads" and id(node) not in self.handled:
            self._probe(node, ctx, owner)
        if self._special(name, node, ctx, owner):
            return
        r = classify(name)
        if r is None:
            if name in PATH_JOINS:
                self._path_parts(node, ctx, owner, node.args)
            self._callbacks(node, name, ctx, owner)
            return
        self._hit(r, node, ctx, owner, f"calls {name}")
        self._callbacks(node, name, ctx, owner)
        if r in (DYNAMIC, PROCESS, NATIVE, NETWORK) and id(node) not in self.handled:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                self._payload(arg, name, ctx, owner, node)

    def _hit(self, r: Rule, node: ast.AST, ctx: str, owner: str, why: str,
             cap: Severity | None = None) -> None:
        seg = self._segment(node)
        where = f"decoded payload line {self._line(node, own=True)}: " if self.depth else ""
        self.hits.append(Hit(r, self._line(node), ctx, owner, f"{why}: {where}{seg}",
                             cap=cap or self.cap))

    def _line(self, node: ast.AST, own: bool = False) -> int:
        line = int(getattr(node, "lineno", 0))
        return line if own or self.line_base is None else self.line_base

    def _segment(self, node: ast.AST) -> str:
        line = int(getattr(node, "lineno", 0))
        if not 0 < line <= len(self.lines):
            return ""
        raw = self.lines[line - 1].encode("utf-8", "replace")
        start = int(getattr(node, "col_offset", 0))
        end_line = getattr(node, "end_lineno", line)
        end = getattr(node, "end_col_offset", None) if end_line == line else None
        text = raw[start:end].decode("utf-8", "replace").strip()
        if end_line != line:
            text += " ..."
        return text if len(text) <= 160 else text[:157] + "..."

    # -- encoded payloads --------------------------------------------------------------------

    def _payload(self, arg: ast.AST, sink: str, ctx: str, owner: str, call: ast.Call) -> None:
        res = self._static(arg, 0)
        if sink == "marshal.loads":
            res = marshalled(res)
        decoders = [n for n in ast.walk(arg)
                    if isinstance(n, ast.Call) and self._qualname(n.func) in DECODERS]
        self.handled.update(id(n) for n in decoders)
        value = res.value
        if res.decoded or decoders:
            if res.code is not None:
                what = f"a marshalled code object ({res.code})"
            elif res.code_object:
                what = "a marshalled code object (not decoded)"
            elif value is None:
                what = "data decoded at run time"
            else:
                what = f"decoded {preview(value)}"
            self._hit(OBFUSCATED, call, ctx, owner, f"{sink} receives {what}")
        if value is None or sink not in SINK_EXEC:
            return
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        self._nested(text, ctx, owner, call, self.cap)

    def _probe(self, call: ast.Call, ctx: str, owner: str) -> None:
        """Decoded literal data that turns out to be Python with capabilities is a payload."""
        self.handled.update(id(n) for n in ast.walk(call) if isinstance(n, ast.Call))
        res = self._static(call, 0)
        if res.code is not None and res.dangerous:
            self._hit(OBFUSCATED, call, ctx, owner, f"decodes a marshalled code object "
                      f"({res.code})")
            return
        value = res.value
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                return
        if not isinstance(value, str) or not value.strip():
            return
        found = {h.rule.id for h in self._nested(value, ctx, owner, call, Severity.HIGH)}
        if found:
            self._hit(OBFUSCATED, call, ctx, owner, f"decodes hidden Python "
                      f"({', '.join(sorted(found))}): {preview(value)}", Severity.HIGH)

    def _pickle_blob(self, call: ast.Call) -> None:
        arg: ast.AST | None = call.args[0] if call.args else None
        if (isinstance(arg, ast.Call) and arg.args
                and self._qualname(arg.func) in ("io.BytesIO", "_io.BytesIO")):
            arg = arg.args[0]
        if arg is None:
            return
        value = self._static(arg, 0).value
        if isinstance(value, bytes) and value:
            self.blobs.append((self._line(call), value))

    def _literal_exec(self, name: str, node: ast.Call, ctx: str, owner: str) -> None:
        """``exec("...")``: graded by what the literal does, at the exec's timing."""
        tree = self._literal_tree(node)
        text = literal_text(node.args[0])
        if tree is None or text is None or self.depth + 1 > MAX_DECODE_DEPTH:
            self._hit(DYNAMIC, node, ctx, owner, f"calls {name} on a literal string")
            self._payload(node.args[0], name, ctx, owner, node)
            return
        found = self._nested(text, ctx, owner, node, self.cap, self.aliases)
        grades = [_grade(h) for h in found]
        if any(classify(q) in (PROCESS, DYNAMIC, NATIVE) for q in
               (self._qualname(n) for n in ast.walk(tree)
                if isinstance(n, ast.Name | ast.Attribute)) if q):
            cap, what = Severity.CRITICAL, "code referring to a dangerous callable"
        elif grades:
            cap, what = max(grades), "code with the capabilities reported with it"
        elif benign(tree, self._qualname):
            cap, what = Severity.LOW, "code that only imports and defines names"
        else:
            cap, what = Severity.MEDIUM, "code without a known capability"
        self._hit(DYNAMIC, node, ctx, owner, f"calls {name} on a literal string ({what})",
                  cap=cap if self.cap is None else min(cap, self.cap))

    def _nested(self, text: str, ctx: str, owner: str, call: ast.Call,
                cap: Severity | None, inherit: dict[str, str] | None = None) -> list[Hit]:
        """Analyse decoded text as Python; the findings it raised."""
        if self.depth + 1 > MAX_DECODE_DEPTH:
            self._limit(f"payloads nested deeper than {MAX_DECODE_DEPTH} levels not analysed")
            return []
        if time.monotonic() > self.state.deadline:
            self._limit("time limit reached: embedded payloads not analysed")
            return []
        raw = text.encode("utf-8", "replace")
        st = self.state
        tokens = count_tokens(raw, MAX_TOKENS // 4)
        st.tokens += tokens
        if tokens > MAX_TOKENS // 4 or st.tokens > MAX_TOKENS:
            self._limit(f"decoded payloads larger than {MAX_TOKENS // 4} tokens each or "
                        f"{MAX_TOKENS} in all were not parsed")
            return []
        tree = parse(raw)
        if isinstance(tree, str):
            return []
        child = Analyzer(tree, text.splitlines(), self.state, self.depth + 1, ctx, owner,
                         self._line(call), cap)
        if inherit:  # exec of a literal sees the names of the namespace it runs in
            child.aliases.update(inherit)
            child.star.extend(self.star)
        child.run()
        child.propagate()
        self.hits.extend(child.hits)
        self.blobs.extend(child.blobs)
        self.imports |= child.imports
        return child.hits


def _grade(hit: Hit) -> Severity:
    sev = GRADES[hit.rule.id][ORDER[hit.context]]
    return sev if hit.cap is None else min(sev, hit.cap)


def _unwrap(decorators: list[ast.expr]) -> list[ast.AST]:
    """``@(lambda f: ...)`` runs its body when the decorated object is defined."""
    return [d.body if isinstance(d, ast.Lambda) else d for d in decorators]
