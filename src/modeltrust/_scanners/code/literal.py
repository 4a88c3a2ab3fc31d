"""``exec``/``eval``/``compile`` of a string written in the file: its content is visible.

Shims such as ``exec("from cupy.fft import *", ns)`` run code a reviewer can read. The
literal is parsed with :mod:`ast` and graded by what it does; only a literal that does no
more than import and define names is low. Names the literal binds (``exec("from os import
system as s")``) are resolved in the file as if written there, so hiding an import inside a
literal does not hide the calls made through it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from modeltrust._scanners.code.capabilities import classify

_NAMESPACE_CALLS = frozenset({"builtins.globals", "builtins.locals", "builtins.vars"})


def literal_text(node: ast.expr) -> str | None:
    """The source text of a literal ``str``/``bytes`` argument, else None."""
    if not isinstance(node, ast.Constant):
        return None
    value = node.value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None


def namespace_args(call: ast.Call, qualname: Callable[[ast.AST], str | None]
                   ) -> tuple[bool, list[str]]:
    """Where an ``exec`` binds names: (the module's own globals?, dictionary variables)."""
    spaces = [*call.args[1:3], *(k.value for k in call.keywords
                                 if k.arg in ("globals", "locals"))]
    own = not spaces
    names: list[str] = []
    for s in spaces:
        if isinstance(s, ast.Name):
            names.append(s.id)
        elif isinstance(s, ast.Call) and qualname(s.func) in _NAMESPACE_CALLS:
            own = True
    return own, names


def benign(tree: ast.Module, qualname: Callable[[ast.AST], str | None]) -> bool:
    """The literal only imports and defines names, none of them a dangerous capability."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            continue
        if isinstance(stmt, ast.ImportFrom):
            mod = stmt.module or ""
            if stmt.level == 0 and any(a.name != "*" and classify(f"{mod}.{a.name}")
                                       for a in stmt.names):
                return False
            continue
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
                      | ast.Pass | ast.Global | ast.Nonlocal):
            continue
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.Expr):
            value = stmt.value
        if value is None or not _inert(value, qualname):
            return False
    return True


def _inert(value: ast.expr, qualname: Callable[[ast.AST], str | None]) -> bool:
    """A literal value, or a plain reference to something that is not a capability."""
    try:
        ast.literal_eval(value)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if isinstance(value, ast.Name | ast.Attribute):
        name = qualname(value)
        return name is None or classify(name) is None
    return False
