"""Value following in a parsed chat template: bindings, aliases and access chains.

A payload rarely writes ``cycler.__init__.__globals__`` in one expression: it binds pieces
with ``set``/``with``/``for``, macro parameters, ``caller(...)``, namespaces and dicts, and
builds names from literals. This module follows those values (flow-insensitively) and
splits each expression into a root name and its steps (``.x``, ``['x']``, ``|attr``,
``getattr``, ``str.format`` fields), so :mod:`.template_grade` can grade what a chain
reaches without knowing how the template spelled it.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from modeltrust._scanners import common
from modeltrust._scanners.interface import ScanContext
from modeltrust._scanners.jinja_expr import (
    Folded,
    builds_string,
    fold,
    fold_block,
    is_internal,
    items_of,
    rank,
    text,
)
from modeltrust.findings import Location, Severity
from modeltrust.rules import finding

if TYPE_CHECKING:
    from jinja2 import nodes as jn

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


class Step:
    """One link of an access chain: ``.x``, ``['x']``, ``[i]``, ``(...)``, ``|f``."""

    __slots__ = ("kind", "name", "via")

    def __init__(self, kind: str, name: str = "", via: str = "") -> None:
        self.kind = kind  # attr, item, index, dyn, call, filter
        self.name = name
        self.via = via  # dot, attr-filter, getattr, format, mapped, built


Chain = tuple[str, list[Step]]


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


class ValueFlow:
    """What each name in a parsed template may hold, and which chain each expression spells.

    Data flow is flow-insensitive and over-approximate: every ``set``, ``with``, ``for``,
    macro parameter (from call sites and defaults), ``caller(...)`` argument, namespace and
    dict member binds its name to what was assigned, so a value passed around keeps its
    grade. Holds the state of one analysis; :class:`.template_grade.Analyser` grades on it.
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
        steps = steps + [Step("index", "item")] if item else steps
        self.aliases[name] = ((root, steps), text(value))

    def _suspicious(self, root: str, steps: list[Step]) -> bool:
        names = [s.name for s in steps if s.kind in ("attr", "item")]
        bare = root in ENGINE_OBJECTS and not steps
        return (any(is_internal(x) for x in names) or is_internal(root) or bare
                or any(s.kind == "dyn" for s in steps) or self._escape_root(root, steps)
                or root in self.aliases)

    def _escape_root(self, root: str, steps: list[Step]) -> bool:
        if root in ENGINE_OBJECTS:  # rebinding them is no excuse: it may never run
            return bool(steps) and steps[0].kind in ("attr", "item", "dyn", "filter")
        return root in HOST_GLOBALS and (root in _UNSHADOWED or root not in self.bound)

    def _chain(self, top: jn.Node, consumed: set[int]) -> Chain:
        """Split an access chain into its root name and steps, walking the spine iteratively."""
        from jinja2 import nodes as n

        rev: list[Step] = []
        node: jn.Node | None = top
        while node is not None:
            nxt: jn.Node | None = None
            if isinstance(node, n.Getattr):
                rev.append(Step("attr", node.attr, "dot"))
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
                    rev.append(Step("call"))
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
                rev.extend(reversed(format_steps(fmt)))
        return root, list(reversed(rev))

    def _key_step(self, arg: jn.Node) -> Step:
        from jinja2 import nodes as n

        value = fold(arg, self.consts)
        if isinstance(value, str):
            self._cover(arg)
            return Step("item", value, "dot" if isinstance(arg, n.Const) else "built")
        if value is None and builds_string(arg):
            return Step("dyn")
        return Step("index")

    def _name_step(self, arg: jn.Node, via: str) -> Step:
        from jinja2 import nodes as n

        value = fold(arg, self.consts)
        if isinstance(value, str):
            self._cover(arg)
            built = via != "mapped" and not isinstance(arg, n.Const)
            return Step("attr", value, "built" if built else via)
        return Step("dyn", "", via)

    def _filter_steps(self, node: jn.Filter) -> list[Step]:
        from jinja2 import nodes as n

        if node.name == "attr" and node.args:
            return [self._name_step(node.args[0], "attr-filter")]
        steps = [Step("filter", node.name)]
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
            steps += [Step(step.kind, p, "mapped") for p in parts]
        return steps

    def _resolve(self, root: str, steps: list[Step]) -> tuple[str, list[Step], str]:
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

    def _cover(self, top: jn.Node) -> None:
        """Mark a subtree whose strings were already graded as part of an access chain."""
        stack = [top]
        while stack:
            node = stack.pop()
            if id(node) not in self.covered:
                self.covered.add(id(node))
                stack.extend(node.iter_child_nodes())


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


def format_steps(fmt: str) -> list[Step]:
    """Attribute names inside ``str.format`` fields (``'{0.__class__}'.format(x)``)."""
    import string

    steps: list[Step] = []
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(fmt) if f]
    except ValueError:
        return steps
    for field in fields[:32]:
        for part in re.split(r"[.\[\]]", field)[1:]:
            if part:
                steps.append(Step("attr", part, "format"))
    return steps
