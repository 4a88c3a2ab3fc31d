"""First pass over a source text: imports, aliases, functions, and names ``exec`` binds.

Everything the walk needs to resolve a call is collected here before any call is graded, so
a name bound late in the file (or inside a literal handed to ``exec``) still resolves.
"""

from __future__ import annotations

import ast
import itertools
import re

from modeltrust._scanners.code.capabilities import MAX_TOKENS
from modeltrust._scanners.code.checks import ArgumentChecks
from modeltrust._scanners.code.literal import literal_text, namespace_args
from modeltrust._scanners.code.reach import Reach
from modeltrust._scanners.code.scopes import make_scope, rewrites_identity


def parse(raw: bytes) -> ast.Module | str:
    """The syntax tree, or why there is none (never compiles to bytecode)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(raw, filename="<model code>")
    except SyntaxError as exc:
        if exc.lineno is None:
            return f"syntax error: {exc.msg}"
        return f"syntax error at line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError, OverflowError, UnicodeError) as exc:
        return f"cannot parse: {type(exc).__name__}: {str(exc)[:200]}"


_TOKEN = re.compile(rb"\w+|[^\w\s]")


def count_tokens(raw: bytes, limit: int) -> int:
    """Tokens in ``raw`` (an upper bound on syntax nodes), counting no further than ``limit``."""
    return sum(1 for _ in itertools.islice(_TOKEN.finditer(raw), limit + 1))


class Collector(ArgumentChecks):
    """Builds the alias, function and call tables of one source text."""

    tree: ast.Module
    aliases: dict[str, str]
    members: dict[str, str]
    star: list[str]
    imports: set[str]
    relative: set[str]
    reach: Reach
    results: dict[str, tuple[str, int]]

    def _collect(self) -> None:
        assigns = self._bindings(self.tree)
        members: list[tuple[str, ast.expr]] = []
        escaping: set[str] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign):
                        members += [p for t in stmt.targets for p in _pairs(t, stmt.value)]
            elif isinstance(node, ast.Assign):
                members += [(t.attr, node.value) for t in node.targets
                            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                            and t.value.id in ("self", "cls")]
                if isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name):
                    for tgt in node.targets:  # f = outer(); a, b = outer()
                        for bound in ast.walk(tgt):
                            if isinstance(bound, ast.Name):
                                self.results[bound.id] = (node.value.func.id, 1)
            if isinstance(node, ast.Call):
                if isinstance(node.func, ast.Name):
                    self.calls_by_name.setdefault(node.func.id, []).append(node)
                escaping.update(a.id for a in [*node.args, *(k.value for k in node.keywords)]
                                if isinstance(a, ast.Name))
            elif isinstance(node, ast.Assign | ast.Return | ast.Dict | ast.List | ast.Tuple):
                escaping.update(c.id for c in ast.iter_child_nodes(node)
                                if isinstance(c, ast.Name))
        for name in escaping:  # handed on: called with arguments this file does not show
            self.calls_by_name.pop(name, None)
        self.identity_rewritten = rewrites_identity(self.tree)
        counts: dict[str, int] = {}
        for stmt in self.tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.defined.add(stmt.name)
                if not isinstance(stmt, ast.ClassDef):
                    self._scope(stmt, stmt.name, "")
                if isinstance(stmt, ast.ClassDef):
                    self.reach.add_class(stmt, self.defined)
            elif (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                  and isinstance(stmt.targets[0], ast.Name)):
                name = stmt.targets[0].id
                counts[name] = counts.get(name, 0) + 1
                self.consts[name] = stmt.value
                if isinstance(stmt.value, ast.Lambda):
                    self.defined.add(name)
        for name, n in counts.items():
            if n > 1:
                del self.consts[name]
        self._resolve_aliases(assigns, members)
        extra = self._exec_bindings()
        if extra is not None:  # names bound by exec'd literals can change what others mean
            self._resolve_aliases(assigns + extra, members)
        for stmt in self.tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.decorator_list:
                top = stmt.decorator_list[0]  # g = deco(g), or deco(x)(g)
                target = top.func if isinstance(top, ast.Call) else top
                if isinstance(target, ast.Name) and target.id in self.defined:
                    self.results[stmt.name] = (target.id, 2 if isinstance(top, ast.Call) else 1)

    def _bindings(self, tree: ast.AST) -> list[tuple[str, ast.expr]]:
        """Imports (into the alias tables) and name bindings of ``tree``."""
        assigns: list[tuple[str, ast.expr]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    top = a.name.split(".")[0]
                    self.imports.add(top)
                    self.aliases[a.asname or top] = a.name if a.asname else top
            elif isinstance(node, ast.ImportFrom):
                self._import_from(node)
            elif isinstance(node, ast.Assign):
                for tgt in node.targets:
                    assigns += _pairs(tgt, node.value)
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
                assigns += _pairs(node.target, node.value)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                assigns += _defaults(node.args)  # def f(run=os.system): run(...)
        return assigns

    def _resolve_aliases(self, assigns: list[tuple[str, ast.expr]],
                         members: list[tuple[str, ast.expr]]) -> None:
        for _ in range(2):
            for target, value in assigns:
                q = self._qualname(value)
                if q is not None:
                    self.aliases[target] = q
            for target, value in members:
                q = self._qualname(value)
                if q is not None:
                    self.members[target] = q

    def _exec_bindings(self) -> list[tuple[str, ast.expr]] | None:
        """Names that ``exec`` of a literal binds, as if the file bound them itself."""
        assigns: list[tuple[str, ast.expr]] | None = None
        for node in ast.walk(self.tree):
            if not (isinstance(node, ast.Call) and node.args
                    and self._qualname(node.func) in ("builtins.exec", "builtins.eval")):
                continue
            tree = self._literal_tree(node)
            if tree is None:
                continue
            _own, spaces = namespace_args(node, self._qualname)
            self.exec_spaces.update(spaces)
            assigns = [*(assigns or []), *self._bindings(tree)]
        return assigns

    def _literal_tree(self, call: ast.Call) -> ast.Module | None:
        """The parsed literal handed to ``exec``/``eval``/``compile`` (bounded), else None."""
        text = literal_text(call.args[0]) if call.args else None
        if text is None:
            return None
        raw = text.encode("utf-8", "replace")
        if count_tokens(raw, MAX_TOKENS // 4) > MAX_TOKENS // 4:
            return None
        tree = parse(raw)
        return tree if isinstance(tree, ast.Module) else None

    def _import_from(self, node: ast.ImportFrom) -> None:
        mod = node.module or ""
        if node.level:
            if node.level == 1 and mod:
                self.relative.add(mod)
            return
        self.imports.add(mod.split(".")[0])
        for a in node.names:
            if a.name == "*":
                self.star.append(mod)
            else:
                self.aliases[a.asname or a.name] = f"{mod}.{a.name}"

    def _scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef, name: str,
               parent: str) -> None:
        """Remember a function's parameters and locals (ambiguous when defined twice)."""
        self.scopes[name] = None if name in self.scopes else make_scope(node, parent)


def _defaults(args: ast.arguments) -> list[tuple[str, ast.expr]]:
    positional = [*args.posonlyargs, *args.args]
    pairs = [(a.arg, d) for a, d in zip(positional[len(positional) - len(args.defaults):],
                                         args.defaults, strict=True)]
    return pairs + [(a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                    if d is not None]


def _pairs(target: ast.expr, value: ast.expr) -> list[tuple[str, ast.expr]]:
    """``a = x``, ``a, b = x, y`` and ``(a := x)``: names bound to expressions."""
    if isinstance(target, ast.Name):
        return [(target.id, value)]
    if (isinstance(target, ast.Tuple | ast.List) and isinstance(value, ast.Tuple | ast.List)
            and len(target.elts) == len(value.elts)):
        return [(t.id, v) for t, v in zip(target.elts, value.elts, strict=True)
                if isinstance(t, ast.Name)]
    return []
