"""Script-only blocks and a package's own module names: what a file's names really mean.

``if __name__ == "__main__"`` (alone or joined with ``and``) runs only when the file is run
as a script, and ``importlib.import_module(__name__ + ".sub")`` can only import a module of
the file's own package, which the scan covers too. Both hold only while the file leaves
``__name__``/``__package__``/``__spec__`` alone, so a file that rewrites them (or its own
global namespace wholesale) loses both readings.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

ANCHORS = frozenset({"__name__", "__package__"})
"""Module globals naming the file's own module or package."""
_SPEC_PARTS = frozenset({"parent", "name"})
_NAMESPACE_CALLS = frozenset({"globals", "vars", "locals"})
MAX_SCOPE_DEPTH = 16
MAX_SCOPE_NODES = 200_000


def _names_main(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` or ``"__main__" == __name__``."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return bool(names and consts)


def guard_split(test: ast.expr, d: int = 0) -> tuple[list[ast.expr], list[ast.expr]] | None:
    """A main guard's test as (evaluated on import, evaluated only as a script), else None.

    ``a and __name__ == "__main__" and b``: ``a`` and the comparison run on import, ``b``
    only when the comparison holds. ``or`` and ``not`` never make a guard.
    """
    if _names_main(test):
        return [test], []
    if d > MAX_SCOPE_DEPTH or not (isinstance(test, ast.BoolOp)
                                    and isinstance(test.op, ast.And)):
        return None
    for i, value in enumerate(test.values):
        inner = guard_split(value, d + 1)
        if inner is not None:
            before, after = inner
            return [*test.values[:i], *before], [*after, *test.values[i + 1:]]
    return None


def guard_constants(tree: ast.AST) -> set[int]:
    """Ids of the ``"__main__"`` constants that belong to main-guard comparisons."""
    return {id(side) for n in ast.walk(tree) if isinstance(n, ast.Compare) and _names_main(n)
            for side in (n.left, n.comparators[0]) if isinstance(side, ast.Constant)}


def rewrites_identity(tree: ast.AST) -> bool:
    """Whether the file may change ``__name__``/``__package__``/``__spec__`` before a check.

    Assignments, imports or deletions of those names, writes into ``globals()``/``vars()``/
    ``locals()`` or ``sys.modules[...]`` attributes named ``__name__``, and any other string
    mentioning ``"__main__"`` (``exec("__name__ = '__main__'")``) all count.
    """
    guards = guard_constants(tree) | {id(n.value) for n in ast.walk(tree)
                                      if isinstance(n, ast.Expr)}  # docstrings
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) and (
                n.id in ANCHORS or n.id == "__spec__"):
            return True
        if isinstance(n, ast.alias) and (n.asname or n.name) in (*ANCHORS, "__spec__"):
            return True
        if (isinstance(n, ast.Attribute) and n.attr in (*ANCHORS, "__spec__")
                and not isinstance(n.ctx, ast.Load)
                and isinstance(n.value, ast.Subscript | ast.Call)):
            return True
        if (isinstance(n, ast.Subscript) and not isinstance(n.ctx, ast.Load)
                and _namespace_call(n.value)):
            return True
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                and n.func.attr in ("update", "__setitem__", "setdefault")
                and _namespace_call(n.func.value)):
            return True
        if (isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in guards
                and "__main__" in n.value[:1_000_000]):
            return True
    return False


def _namespace_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _NAMESPACE_CALLS)


@dataclass
class Scope:
    """A function: its parameters, its names assigned exactly once, where it is defined."""

    node: ast.FunctionDef | ast.AsyncFunctionDef
    parent: str
    params: list[str] = field(default_factory=list)
    assigned: dict[str, ast.expr] = field(default_factory=dict)


def make_scope(node: ast.FunctionDef | ast.AsyncFunctionDef, parent: str) -> Scope:
    """Parameters and single assignments of ``node``'s own body (not nested functions)."""
    a = node.args
    params = [p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs]]
    counts: dict[str, int] = {}
    values: dict[str, ast.expr] = {}
    stack: list[ast.AST] = list(node.body)
    seen = 0
    while stack and seen < MAX_SCOPE_NODES:
        n = stack.pop()
        seen += 1
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            counts[getattr(n, "name", "")] = 2  # rebinding a name by a def: not a string
            continue
        targets: list[ast.AST] = []
        if isinstance(n, ast.Assign):
            targets = list(n.targets)
        elif isinstance(n, ast.AnnAssign | ast.AugAssign | ast.NamedExpr | ast.For
                        | ast.AsyncFor | ast.comprehension):
            targets = [n.target]
        elif isinstance(n, ast.With | ast.AsyncWith):
            targets = [i.optional_vars for i in n.items if i.optional_vars is not None]
        for t in targets:
            for name in ast.walk(t):
                if isinstance(name, ast.Name):
                    counts[name.id] = counts.get(name.id, 0) + (
                        1 if isinstance(n, ast.Assign | ast.AnnAssign) and t is name else 2)
                    if isinstance(n, ast.Assign | ast.AnnAssign) and t is name and n.value:
                        values[name.id] = n.value
        stack.extend(ast.iter_child_nodes(n))
    assigned = {k: v for k, v in values.items() if counts.get(k) == 1 and k not in params}
    if stack:  # too large to read whole: no name is known to be assigned only once
        assigned = {}
    return Scope(node, parent, params, assigned)


def flatten(expr: ast.expr, d: int = 0) -> list[ast.expr]:
    """The operands of a string built by ``+`` or an f-string, left to right."""
    if d > MAX_SCOPE_DEPTH:
        return [expr]
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        return [*flatten(expr.left, d + 1), *flatten(expr.right, d + 1)]
    if isinstance(expr, ast.JoinedStr):
        return [v.value if isinstance(v, ast.FormattedValue) else v for v in expr.values]
    return [expr]


class OwnPackage:
    """Decides whether a module name can only name the file's own package or its modules."""

    consts: dict[str, ast.expr]
    scopes: dict[str, Scope | None]
    calls_by_name: dict[str, list[ast.Call]]
    identity_rewritten: bool

    def own_module(self, expr: ast.expr, owner: str, d: int = 0) -> bool:
        """``__name__ + ".x"``, ``f"{pkg}.{name}"`` with ``pkg`` bound to ``__name__``..."""
        if d > MAX_SCOPE_DEPTH or self.identity_rewritten:
            return False
        parts = flatten(expr)
        if len(parts) == 1:
            value = self._local(parts[0], owner)
            if value is not None:
                return self.own_module(value, owner, d + 1)
            return self.anchor(parts[0], owner, d + 1)
        nxt = parts[1]
        return (self.anchor(parts[0], owner, d + 1) and isinstance(nxt, ast.Constant)
                and isinstance(nxt.value, str) and nxt.value.startswith("."))

    def relative_name(self, expr: ast.expr) -> bool:
        """A name starting with ``"."``: relative to the ``package`` argument."""
        first = flatten(expr)[0]
        return (isinstance(first, ast.Constant) and isinstance(first.value, str)
                and first.value.startswith("."))

    def anchor(self, expr: ast.expr, owner: str, d: int = 0) -> bool:
        """``__name__``, ``__package__``, ``__spec__.parent``, or a name bound to one."""
        if d > MAX_SCOPE_DEPTH or self.identity_rewritten:
            return False
        if isinstance(expr, ast.Name) and expr.id in ANCHORS:
            return True
        if (isinstance(expr, ast.Attribute) and expr.attr in _SPEC_PARTS
                and isinstance(expr.value, ast.Name) and expr.value.id == "__spec__"):
            return True
        if not isinstance(expr, ast.Name):
            return False
        value = self._local(expr, owner)
        if value is not None:
            return self.anchor(value, owner, d + 1)
        for scope in self._enclosing(owner):
            if expr.id in scope.params:
                return self._bound_to_anchor(scope, expr.id, d + 1)
        return False

    def _local(self, expr: ast.expr, owner: str) -> ast.expr | None:
        """What a name assigned once in an enclosing function (or the module) holds."""
        if not isinstance(expr, ast.Name):
            return None
        for scope in self._enclosing(owner):
            if expr.id in scope.params:
                return None
            if expr.id in scope.assigned:
                return scope.assigned[expr.id]
        return self.consts.get(expr.id)

    def _enclosing(self, owner: str) -> Iterator[Scope]:
        """The function scope of ``owner`` and those around it, innermost first (bounded)."""
        for _ in range(MAX_SCOPE_DEPTH):
            scope = self.scopes.get(owner)
            if scope is None:
                return
            yield scope
            owner = scope.parent

    def _bound_to_anchor(self, scope: Scope, param: str, d: int) -> bool:
        """Every call of the function in this file passes an anchor for ``param``."""
        node = scope.node
        a = node.args
        if node.decorator_list:
            return False
        positional = [p.arg for p in [*a.posonlyargs, *a.args]]
        index = positional.index(param) if param in positional else None
        calls = self.calls_by_name.get(node.name, [])
        if not calls:
            return False
        for call in calls:
            arg: ast.expr | None = None
            if any(isinstance(x, ast.Starred) for x in call.args) or any(
                    k.arg is None for k in call.keywords):
                return False
            if index is not None and index < len(call.args):
                arg = call.args[index]
            else:
                arg = next((k.value for k in call.keywords if k.arg == param), None)
            if arg is None or not self.anchor(arg, "", d + 1):
                return False
        return True
