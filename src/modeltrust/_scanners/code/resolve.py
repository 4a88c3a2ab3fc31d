"""Name resolution: which dotted name an expression refers to, through aliases and lookups.

``import os as o; o.system``, ``from os import system as s``, ``__import__("o" + "s")``,
``getattr(os, "sys" + "tem")``, ``vars(os)["system"]``, ``sys.modules["os"]`` and
``globals()["__builtins__"]`` all resolve to the same dotted names, so one capability table
covers every spelling. Every recursion here is depth-bounded.
"""

from __future__ import annotations

import ast

from modeltrust._scanners.code.capabilities import BUILTINS, classify
from modeltrust._scanners.code.decode import StaticEvaluator

MAX_RESOLVE_DEPTH = 20
MAX_EVAL_SOURCE = 4096
"""Longest literal handed to ``eval`` that is resolved as a name."""
_MODULE_LOOKUPS = frozenset({"builtins.__import__", "importlib.import_module",
                             "importlib.__import__", "sys.modules.get",
                             "sys.modules.__getitem__", "sys.modules.setdefault",
                             "sys.modules.pop"})


class NameResolver(StaticEvaluator):
    """Resolves expressions to dotted names; the analyser fills in the tables."""

    aliases: dict[str, str]
    members: dict[str, str]
    """Attributes bound in class bodies or on ``self``/``cls`` to a resolvable name."""
    star: list[str]
    defined: set[str]
    exec_spaces: set[str]
    """Dictionaries an ``exec`` of a literal binds names in: ``ns["system"]``."""

    def _qualname(self, expr: ast.AST, d: int = 0) -> str | None:
        """The dotted name an expression refers to, through imports and aliases."""
        if d > MAX_RESOLVE_DEPTH:
            return None
        parts: list[str] = []
        node = expr
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        base: str | None
        if (isinstance(node, ast.Name) and parts and parts[-1] in self.members
                and (node.id in ("self", "cls") or node.id in self.defined)):
            base = self.members[parts.pop()]  # self.run = os.system ... self.run(...)
        elif isinstance(node, ast.Name):
            base = self._resolve_name(node.id)
        elif isinstance(node, ast.Call):
            base = self._call_target(node, d + 1)
        elif isinstance(node, ast.Subscript):
            base = self._subscript_name(node, d + 1)
        elif isinstance(node, ast.NamedExpr):
            base = self._qualname(node.value, d + 1)
        else:
            return None
        return None if base is None else ".".join([base, *reversed(parts)])

    def _resolve_name(self, name: str) -> str | None:
        if name in self.aliases:
            return self.aliases[name]
        if name in ("__builtins__", "builtins"):
            return "builtins"
        if name in BUILTINS and name not in self.defined:
            return f"builtins.{name}"
        for mod in self.star:
            cand = f"{mod}.{name}"
            if classify(cand) is not None:
                return cand
        return None

    def _call_target(self, call: ast.Call, d: int) -> str | None:
        """``__import__("os")`` is ``os``; ``getattr(os, "sys" + "tem")`` is ``os.system``."""
        func = call.func
        args = call.args
        if isinstance(func, ast.Attribute) and func.attr == "get" and args:
            # os.__dict__.get("system"), vars(os).get("system"), globals().get("exec")
            key = self._static(args[0], 0).value
            if isinstance(key, str):
                probe = ast.Subscript(value=func.value, slice=ast.Constant(key), ctx=ast.Load())
                found = self._subscript_name(probe, d + 1)
                if found is not None:
                    return found
        fname = self._qualname(func, d)
        if fname == "builtins.eval" and args:  # eval("os.system") is os.system
            source = self._static(args[0], 0).value
            if isinstance(source, str) and len(source) <= MAX_EVAL_SOURCE:
                try:
                    expr = ast.parse(source.strip(), mode="eval")
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    return None
                return self._qualname(expr.body, d + 1)
        if fname in _MODULE_LOOKUPS and args:
            mod = self._static(args[0], 0).value
            return mod if isinstance(mod, str) else None
        if fname == "builtins.getattr" and len(args) > 1:
            target = self._qualname(args[0], d)
            attr = self._static(args[1], 0).value
            return f"{target}.{attr}" if target and isinstance(attr, str) else None
        return None

    def _subscript_name(self, node: ast.Subscript, d: int) -> str | None:
        """``vars(os)["system"]``, ``os.__dict__["system"]``, ``sys.modules["os"]``..."""
        if d > MAX_RESOLVE_DEPTH:
            return None
        key = self._static(node.slice, 0).value
        if not isinstance(key, str):
            return None
        value = node.value
        base: str | None = None
        if isinstance(value, ast.Attribute) and value.attr == "__dict__":
            base = self._qualname(value.value, d + 1)
        elif isinstance(value, ast.Call) and value.args:
            if self._qualname(value.func, d + 1) == "builtins.vars":
                base = self._qualname(value.args[0], d + 1)
        elif isinstance(value, ast.Call):
            fname = self._qualname(value.func, d + 1)
            if fname in ("builtins.globals", "builtins.locals", "builtins.vars"):
                return "builtins" if key == "__builtins__" else self._resolve_name(key)
        elif isinstance(value, ast.Name) and value.id == "__builtins__":
            base = "builtins"
        elif isinstance(value, ast.Name) and value.id in self.exec_spaces:
            return self._resolve_name(key)  # exec("from os import *", ns); ns["system"]
        elif isinstance(value, ast.Subscript):
            base = self._subscript_name(value, d + 1)
        if (base is None and isinstance(value, ast.Attribute | ast.Name)
                and self._qualname(value, d + 1) == "sys.modules"):
            return key
        return f"{base}.{key}" if base else None
