"""Which functions run at import time or on instantiation, through calls the file makes.

A payload in a helper is as dangerous as one at module level when the module calls the
helper, instantiates a class whose ``__init__`` calls it, or defines a class whose metaclass
or base class (``__init_subclass__``) runs it. Functions are known by their owner name
(``helper``, ``Model.__init__``, ``outer.<locals>.inner``); calls between them are edges,
resolved once per file. Calling a function only *defines* the functions nested in it: their
bodies run when something calls them (the enclosing function, a callback it hands them to,
or whoever calls what it returns, ``outer()()``), which is what lazy loaders and decorators
rely on.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from modeltrust._scanners.code.capabilities import CALL, IMPORT, INIT

if TYPE_CHECKING:
    from modeltrust._scanners.code.analyzer import Hit

_ON_CREATE = ("__new__", "__init__", "__post_init__", "__set_name__")
"""Methods that run when a class is instantiated (``__set_name__``: as a class attribute)."""
_ON_DEFINE = ("__new__", "__init__", "__prepare__")
"""Metaclass methods that run when a class using the metaclass is defined."""
MAX_ANCESTORS = 64


class Reach:
    """Call edges between a file's top-level functions and methods, and what runs early."""

    def __init__(self) -> None:
        self.edges: dict[str, set[str]] = {}
        self.roots: dict[str, int] = {}
        self.bases: dict[str, list[str]] = {}
        self.meta: dict[str, str] = {}
        self.classes: set[str] = set()
        self.local: dict[str, dict[str, str]] = {}
        """Functions nested in a function: enclosing owner -> {name: nested owner}."""
        self.parent: dict[str, str] = {}
        self.refs: set[tuple[str, str]] = set()
        """(owner, name): ``owner`` uses ``name`` other than by returning it."""
        self.returned: set[tuple[str, str]] = set()
        """(owner, name): ``owner`` returns the function ``name``."""
        self.result_calls: set[tuple[str, str, int, int]] = set()
        """(owner, name, line, depth): ``owner`` ("" at import) calls what calling ``name``
        ``depth`` times returned (``outer()()``: 1)."""

    def add_class(self, node: ast.ClassDef, defined: set[str]) -> None:
        """Record a top-level class: its bases and metaclass defined earlier in the file."""
        self.classes.add(node.name)
        self.bases[node.name] = [b.id for b in node.bases
                                 if isinstance(b, ast.Name) and b.id in defined]
        for kw in node.keywords:
            if kw.arg == "metaclass" and isinstance(kw.value, ast.Name):
                self.meta[node.name] = kw.value.id

    def class_statement(self, name: str) -> list[str]:
        """Methods that run when ``class name(...)`` executes."""
        hooks: list[str] = []
        seen: set[str] = set()
        queue = deque(self.bases.get(name, ()))
        metas = [self.meta[name]] if name in self.meta else []
        while queue and len(seen) < MAX_ANCESTORS:
            base = queue.popleft()
            if base in seen:
                continue
            seen.add(base)
            hooks.append(f"{base}.__init_subclass__")
            if base in self.meta:
                metas.append(self.meta[base])
            queue.extend(self.bases.get(base, ()))
        for meta in metas:
            hooks += [f"{meta}.{m}" for m in _ON_DEFINE]
        return hooks

    def at_import(self, name: str, line: int) -> None:
        """``name`` (a function, class or method) runs when the module is imported."""
        self.roots.setdefault(name, line)

    def edge(self, caller: str, callee: str) -> None:
        """``caller`` calls ``callee``."""
        self.edges.setdefault(caller, set()).add(callee)

    def nested(self, owner: str, name: str, nested: str) -> None:
        """``def name`` inside ``owner`` defines the function known as ``nested``."""
        self.local.setdefault(owner, {})[name] = nested
        self.parent[nested] = owner

    @staticmethod
    def result(name: str) -> str:
        """The node standing for whatever calling ``name`` returns."""
        return f"{name}()"

    def _lookup(self, owner: str, name: str) -> str | None:
        scope: str | None = owner
        for _ in range(MAX_ANCESTORS):
            if scope is None:
                return None
            found = self.local.get(scope, {}).get(name)
            if found is not None:
                return found
            scope = self.parent.get(scope)
        return None

    def _resolve(self) -> None:
        """Turn name references into edges to the nested functions they denote."""
        for owner, name in sorted(self.refs):
            target = self._lookup(owner, name)
            if target is not None:
                self.edge(owner, target)
        for owner, name in sorted(self.returned):
            target = self._lookup(owner, name) or name
            self.edge(self.result(owner), target)
        for owner, name, line, depth in sorted(self.result_calls):
            made = self._lookup(owner, name) or name
            for _ in range(min(depth, 8)):
                made = self.result(made)
            if owner:
                self.edge(owner, made)
            else:
                self.at_import(made, line)

    def _closure(self, roots: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Everything reachable from ``roots``, each with the label of the root that got there."""
        reached: dict[str, str] = {}
        queue = deque(sorted(roots))
        while queue:
            name, origin = queue.popleft()
            if name in reached:
                continue
            reached[name] = origin
            if name.endswith("()()"):  # what the result of a call returns, when called
                queue.extend((self.result(t), origin)
                             for t in sorted(self.edges.get(name[:-2], ())))
            if name in self.classes:
                queue.extend((f"{name}.{m}", origin) for m in _ON_CREATE)
                if name in self.meta:
                    queue.append((f"{self.meta[name]}.__call__", origin))
            queue.extend((callee, origin) for callee in sorted(self.edges.get(name, ())))
        return reached

    def promote(self, hits: list[Hit]) -> list[Hit]:
        """Hits in functions reached at import time become import-time, from __init__ init."""
        self._resolve()
        early = self._closure((n, f"line {line}") for n, line in self.roots.items())
        on_init = self._closure((f"{c}.{m}", f"{c}.{m}") for c in sorted(self.classes)
                                for m in _ON_CREATE[:3])
        out: list[Hit] = []
        for hit in hits:
            if hit.context in (CALL, INIT) and hit.owner in early:
                note = f" (via {hit.owner}, reached from {early[hit.owner]})"
                hit = replace(hit, context=IMPORT, note=note)
            elif hit.context == CALL and hit.owner in on_init:
                hit = replace(hit, context=INIT, note=f" (called from {on_init[hit.owner]})")
            out.append(hit)
        return out
