"""Compute the standard library's capability map statically, from its own source.

Run ``python -m modeltrust._scanners.pickle.gen_capmap`` with the Python whose standard
library should be described; it writes ``stdlib_capmap.jsonl`` next to this file (see
:func:`encode` for the layout, chosen so a scan parses only the modules it looks up).

Nothing is imported: every ``.py`` file under ``sysconfig.get_paths()["stdlib"]`` is read as
text and parsed with :mod:`ast`. For each module-level function, class and method a call
graph is built from the calls that can be resolved statically: module functions, names bound
by ``import``/``from ... import`` (followed into that module, star imports included),
``module.func``, ``self.m()``/``cls.m()`` and ``super().m()`` through the class and its
stdlib bases, ``ClassName(...)`` (its ``__init__``/``__new__``), ``ClassName(...).m()`` and
``x = ClassName(...); x.m()``, and functions passed as call arguments (callbacks). A class
node also links to its methods and bases, since a pickle holding the class can reach them.

The graph is seeded with the primitives of :mod:`curated` (``builtins.exec``, ``os.system``,
``_posixsubprocess.*`` ...) and propagated to a fixpoint by one reverse breadth-first search
per capability, which also yields a shortest evidence path. Calls whose danger lies in an
operand (``exec``, ``__import__``, ``import_module`` with a constant string) are not edges;
``open()`` with a constant read-only mode only reads. Dynamic calls stay unresolved: the
map under-approximates, which the scanner covers by grading unknown callables "unreviewed".
"""

from __future__ import annotations

import argparse
import ast
import builtins
import itertools
import json
import os
import sys
import sysconfig
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from modeltrust._scanners.pickle import curated
from modeltrust._scanners.pickle.capabilities import (
    CAPABILITY_ORDER,
    DATA_FILE,
    DATA_FORMAT,
    Capability,
    canonical_module,
)

_FuncDef = ast.FunctionDef | ast.AsyncFunctionDef
_BUILTINS = frozenset(dir(builtins))
_OPERAND_SINKS = frozenset(
    {"builtins.exec", "builtins.eval", "builtins.compile", "builtins.__import__",
     "importlib.import_module", "importlib.__import__"}
)  # fmt: skip
_OPEN_CALLS = frozenset({"builtins.open", "io.open"})
_READ_OPEN = "builtins.open(read-only mode)"
_SKIP_DIRS = frozenset({"site-packages", "__pycache__", "lib-dynload", "idle_test", "tests"})
_EXTRA_TOPS = frozenset({"test"})


@dataclass
class _Class:
    qual: str
    module: str
    base_exprs: list[ast.expr]
    methods: dict[str, str] = field(default_factory=dict)
    bases: list[str] = field(default_factory=list)
    attrs: dict[str, tuple[str, ast.expr]] = field(default_factory=dict)


@dataclass
class _Module:
    name: str
    defs: dict[str, str] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, ast.expr] = field(default_factory=dict)
    star: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)


@dataclass
class _Ctx:
    module: str
    cls: str | None
    imports: dict[str, str]
    shadowed: set[str]
    instances: dict[str, str] = field(default_factory=dict)


def _iter_sources(root: Path) -> Iterator[tuple[str, Path]]:
    """Yield ``(module name, path)`` for the stdlib's Python files, tests excluded."""
    tops = set(sys.stdlib_module_names) | _EXTRA_TOPS
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and "-" not in d)
        if rel.parts and rel.parts[0] not in tops:
            dirnames[:] = []
            continue
        for fn in sorted(filenames):
            if not fn.endswith(".py") or (rel.parts[:1] == ("test",) and fn.startswith("test_")):
                continue
            parts = [*rel.parts, fn[:-3]]
            if parts[-1] == "__init__":
                parts.pop()
            if parts and parts[0] in tops and all(p.isidentifier() for p in parts):
                yield ".".join(parts), Path(dirpath) / fn


def _flatten(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Yield statements, descending into ``if``/``try``/``with`` blocks (conditional defs)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _flatten([*stmt.body, *stmt.orelse])
        elif isinstance(stmt, ast.Try | ast.TryStar):
            handlers = [s for h in stmt.handlers for s in h.body]
            yield from _flatten([*stmt.body, *handlers, *stmt.orelse, *stmt.finalbody])
        elif isinstance(stmt, ast.With):
            yield from _flatten(stmt.body)


def _relative(module: str, is_pkg: bool, level: int, target: str | None) -> str:
    base = module.split(".")
    base = base if is_pkg else base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _collect_imports(node: ast.AST, module: str, is_pkg: bool, out: dict[str, str]) -> list[str]:
    """Record the names ``import`` statements under ``node`` bind; return star sources."""
    star: list[str] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import):
            for a in sub.names:
                if a.asname:
                    out[a.asname] = canonical_module(a.name)
                else:
                    top = a.name.split(".")[0]
                    out[top] = canonical_module(top)
        elif isinstance(sub, ast.ImportFrom):
            src = sub.module or ""
            if sub.level:
                src = _relative(module, is_pkg, sub.level, sub.module)
            src = canonical_module(src)
            for a in sub.names:
                if a.name == "*":
                    star.append(src)
                else:
                    out[a.asname or a.name] = f"{src}.{a.name}"
    return star


class Analyzer:
    """Builds the call graph of the standard library and propagates capabilities."""

    def __init__(self) -> None:
        self.modules: dict[str, _Module] = {}
        self.classes: dict[str, _Class] = {}
        self.funcs: dict[str, tuple[_Ctx, _FuncDef]] = {}
        self.edges: dict[str, set[str]] = {}

    # ----------------------------------------------------------------- collection

    def add_module(self, name: str, tree: ast.Module, is_pkg: bool) -> None:
        """Record a module's definitions, imports and aliases (first pass)."""
        mod = _Module(name)
        self.modules[name] = mod
        for stmt in _flatten(tree.body):
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                mod.star += _collect_imports(stmt, name, is_pkg, mod.imports)
            if isinstance(stmt, _FuncDef):
                mod.defs[stmt.name] = f"{name}.{stmt.name}"
                self._add_func(f"{name}.{stmt.name}", name, None, stmt, is_pkg)
            elif isinstance(stmt, ast.ClassDef):
                self._add_class(mod, stmt, is_pkg)
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                tgt = stmt.targets[0]
                if isinstance(tgt, ast.Name):
                    val = stmt.value
                    if (
                        isinstance(val, ast.Name)
                        and val.id in _BUILTINS
                        and val.id not in mod.names | set(mod.defs) | set(mod.imports)
                    ):  # ``bltn_open = open`` before the module defines its own ``open``
                        mod.imports[tgt.id] = f"builtins.{val.id}"
                    elif isinstance(val, ast.Name | ast.Attribute):
                        mod.aliases[tgt.id] = val
                    mod.names.add(tgt.id)
        mod.names |= set(mod.defs) | set(mod.imports)

    def _add_class(self, mod: _Module, node: ast.ClassDef, is_pkg: bool) -> None:
        qual = f"{mod.name}.{node.name}"
        mod.defs[node.name] = qual
        cls = _Class(qual, mod.name, list(node.bases))
        self.classes[qual] = cls
        for stmt in _flatten(node.body):
            if isinstance(stmt, _FuncDef):
                cls.methods[stmt.name] = f"{qual}.{stmt.name}"
                mod.names.add(f"{node.name}.{stmt.name}")
                self._add_func(f"{qual}.{stmt.name}", mod.name, qual, stmt, is_pkg)
                for sub in ast.walk(stmt):  # ``self.x = module.func``: later ``self.x()``
                    if (
                        isinstance(sub, ast.Assign)
                        and isinstance(sub.value, ast.Name | ast.Attribute)
                        and isinstance(tgt := sub.targets[0], ast.Attribute)
                        and isinstance(tgt.value, ast.Name)
                        and tgt.value.id == "self"
                    ):
                        cls.attrs.setdefault(tgt.attr, (f"{qual}.{stmt.name}", sub.value))

    def _add_func(self, qual: str, module: str, cls: str | None, node: _FuncDef, pkg: bool) -> None:
        imports: dict[str, str] = {}
        _collect_imports(node, module, pkg, imports)
        shadowed: set[str] = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.arg):
                shadowed.add(sub.arg)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                shadowed.add(sub.id)
        self.funcs[qual] = (_Ctx(module, cls, imports, shadowed - set(imports)), node)

    # ----------------------------------------------------------------- resolution

    def resolve_qual(self, qual: str, depth: int = 0) -> str:
        """Resolve a dotted path to the definition it names (through re-exports)."""
        parts = canonical_module(qual).split(".")
        for i in range(len(parts), 0, -1):
            head = ".".join(parts[:i])
            if head in self.modules or head in self.classes:
                break
        else:
            return ".".join(parts)
        cur = head
        for attr in parts[i:]:
            if depth > 12:
                return f"{cur}.{attr}"
            if cur in self.classes:
                cur = self.lookup_attr(cur, attr) or f"{cur}.{attr}"
            elif cur in self.modules:
                cur = self.resolve_name(cur, attr, depth + 1)
            else:
                cur = f"{cur}.{attr}"
        return cur

    def resolve_name(self, module: str, name: str, depth: int = 0) -> str:
        """Resolve a module-level name to a qualified definition or external path."""
        mod = self.modules.get(module)
        if mod is None or depth > 12:
            return f"{module}.{name}"
        if name in mod.defs:
            return mod.defs[name]
        if name in mod.imports:
            return self.resolve_qual(mod.imports[name], depth + 1)
        if f"{module}.{name}" in self.modules:
            return f"{module}.{name}"
        if name in mod.aliases:
            ctx = _Ctx(module, None, {}, set())
            return self.resolve_expr(mod.aliases[name], ctx, depth + 1) or f"{module}.{name}"
        for src in mod.star:
            smod = self.modules.get(src)
            if src != module and (smod is None or name in smod.names or name in smod.defs):
                return self.resolve_name(src, name, depth + 1)
        return f"{module}.{name}"

    def lookup_attr(
        self, cls_qual: str, attr: str, skip_self: bool = False, depth: int = 0
    ) -> str | None:
        """Find ``attr`` along the (depth-first) base chain of a stdlib class."""
        seen: set[str] = set()
        stack = [cls_qual]
        while stack:
            cur = stack.pop(0)
            if cur in seen:
                continue
            seen.add(cur)
            cls = self.classes.get(cur)
            if cls is None:
                return None if cur in ("builtins.object", "object") else f"{cur}.{attr}"
            if not (skip_self and cur == cls_qual):
                if attr in cls.methods:
                    return cls.methods[attr]
                if attr in cls.attrs and depth < 6:
                    where, expr = cls.attrs[attr]
                    found = self.resolve_expr(expr, self.funcs[where][0], depth + 1)
                    if found in self.funcs or found in curated.SEEDS:
                        return found
            stack[:0] = cls.bases
        return None

    def resolve_expr(self, expr: ast.expr, ctx: _Ctx, depth: int = 0) -> str | None:
        """Resolve a callee expression to a qualified name, or ``None`` when dynamic."""
        if depth > 12:
            return None
        if isinstance(expr, ast.Name):
            if expr.id == "cls" and ctx.cls:
                return ctx.cls
            if expr.id in ctx.imports:
                return self.resolve_qual(ctx.imports[expr.id], depth + 1)
            if expr.id in ctx.shadowed:
                return None
            mod = self.modules[ctx.module]
            if expr.id in mod.names or expr.id in mod.defs or expr.id not in _BUILTINS:
                return self.resolve_name(ctx.module, expr.id, depth + 1)
            return f"builtins.{expr.id}"
        if not isinstance(expr, ast.Attribute):
            return None
        val, attr = expr.value, expr.attr
        if isinstance(val, ast.Name) and val.id in ("self", "cls") and ctx.cls:
            return self.lookup_attr(ctx.cls, attr, depth=depth + 1)
        if isinstance(val, ast.Name) and val.id in ctx.instances:
            return self.lookup_attr(ctx.instances[val.id], attr, depth=depth + 1)
        if (
            isinstance(val, ast.Call)
            and isinstance(val.func, ast.Name)
            and val.func.id == "super"
            and ctx.cls
        ):
            return self.lookup_attr(ctx.cls, attr, skip_self=True, depth=depth + 1)
        if isinstance(val, ast.Call):
            made = self.resolve_expr(val.func, ctx, depth + 1)
            return self.lookup_attr(made, attr, depth=depth + 1) if made in self.classes else None
        base = self.resolve_expr(val, ctx, depth + 1)
        return self.resolve_qual(f"{base}.{attr}", depth + 1) if base else None

    # ----------------------------------------------------------------- edges

    def build(self) -> None:
        """Resolve class bases, then every function's and class's outgoing edges."""
        for cls in self.classes.values():
            ctx = _Ctx(cls.module, None, {}, set())
            for b in cls.base_exprs:
                q = self.resolve_expr(b, ctx)
                if q and q != cls.qual:
                    cls.bases.append(q)
        for qual, (ctx, node) in self.funcs.items():
            self.edges[qual] = self._func_edges(ctx, node)
        for cls in self.classes.values():
            out = self.edges.setdefault(cls.qual, set())
            out |= self._ctor_targets(cls.qual) | set(cls.methods.values()) | set(cls.bases)

    def _ctor_targets(self, cls_qual: str) -> set[str]:
        if cls_qual in curated.SEEDS:
            return {cls_qual}
        found = {self.lookup_attr(cls_qual, m) for m in ("__init__", "__new__", "__post_init__")}
        return {t for t in found if t and not t.startswith("builtins.object")}

    def _func_edges(self, ctx: _Ctx, node: _FuncDef) -> set[str]:
        out: set[str] = set()
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Assign)
                and isinstance(sub.value, ast.Call)
                and len(sub.targets) == 1
                and isinstance(sub.targets[0], ast.Name)
            ):
                made = self.resolve_expr(sub.value.func, ctx)
                if made in self.classes:
                    ctx.instances[sub.targets[0].id] = made
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                out |= self._call_edges(sub, ctx)
        return out

    def _call_edges(self, call: ast.Call, ctx: _Ctx) -> set[str]:
        target = self.resolve_expr(call.func, ctx)
        out: set[str] = set()
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            if isinstance(arg, ast.Name | ast.Attribute):
                ref = self.resolve_expr(arg, ctx)
                if ref in self.funcs:
                    out.add(ref)
        if target is None:
            return out
        if target in _OPERAND_SINKS and call.args and isinstance(call.args[0], ast.Constant):
            return out
        if target in _OPEN_CALLS and _read_only_open(call):
            return out | {_READ_OPEN}
        if target in self.classes:
            return out | self._ctor_targets(target)
        return out | {target}

    # ----------------------------------------------------------------- propagation

    def seeds(self) -> dict[str, int]:
        """Capability bit masks of the primitives, for every node name in the graph."""
        names = set(self.edges) | {t for ts in self.edges.values() for t in ts}
        table: dict[str, int] = {_READ_OPEN: _mask([Capability.FILE_READ.value])}
        for name in names:
            entry = curated.CURATED.get(name)
            if name in curated.SEEDS and entry is not None:
                table[name] = _mask(entry[0].split())
            elif name.split(".")[0] in curated.SEED_WILDCARDS:
                wild = curated.CURATED.get(name.split(".")[0] + ".*")
                if wild is not None:
                    table[name] = _mask(wild[0].split())
        return table

    def propagate(self) -> tuple[dict[str, int], dict[str, str]]:
        """Return every node's capability mask and its next hop towards the primary one."""
        reverse: dict[str, set[str]] = {}
        for src, dsts in self.edges.items():
            for d in dsts:
                reverse.setdefault(d, set()).add(src)
        seeds = self.seeds()
        caps: dict[str, int] = {}
        hops: dict[str, dict[int, str]] = {}
        for bit in range(len(CAPABILITY_ORDER)):
            sources = sorted(n for n, m in seeds.items() if m >> bit & 1)
            queue = deque(sources)
            seen = set(sources)
            for n in sources:
                caps[n] = caps.get(n, 0) | 1 << bit
            while queue:
                cur = queue.popleft()
                if cur in curated.DIRECT_ONLY or cur in curated.BARRIERS:
                    continue
                for caller in sorted(reverse.get(cur, ())):
                    if caller not in seen:
                        seen.add(caller)
                        caps[caller] = caps.get(caller, 0) | 1 << bit
                        hops.setdefault(caller, {})[bit] = cur
                        queue.append(caller)
        nxt: dict[str, str] = {}
        for node, mask in caps.items():
            primary = next(b for b in range(len(CAPABILITY_ORDER)) if mask >> b & 1)
            hop = hops.get(node, {}).get(primary)
            if hop is not None:
                nxt[node] = hop
        return caps, nxt


def _mask(values: list[str]) -> int:
    return sum(1 << CAPABILITY_ORDER.index(Capability(v)) for v in values)


def _read_only_open(call: ast.Call) -> bool:
    mode: ast.expr | None = call.args[1] if len(call.args) > 1 else None
    for kw in call.keywords:
        if kw.arg == "mode":
            mode = kw.value
    if mode is None:
        return True
    return (
        isinstance(mode, ast.Constant)
        and isinstance(mode.value, str)
        and not set(mode.value) & set("wax+")
    )


def analyse(root: Path) -> Analyzer:
    """Parse every stdlib source file under ``root`` and build the propagated graph."""
    an = Analyzer()
    for name, path in _iter_sources(root):
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, UnicodeDecodeError):
            continue
        an.add_module(canonical_module(name), tree, path.name == "__init__.py")
    an.build()
    return an


def render(an: Analyzer) -> dict[str, object]:
    """Serialise the dangerous nodes and the per-module name data compactly."""
    caps, nxt = an.propagate()
    known = set(an.funcs) | set(an.classes) | {m for m in caps if m in curated.SEEDS}
    keep = sorted(n for n in caps if n in known or n in nxt or n == _READ_OPEN)
    keep_set = set(keep)
    for n in list(keep):  # evidence paths must stay inside the table
        hop = nxt.get(n)
        while hop is not None and hop not in keep_set:
            keep_set.add(hop)
            hop = nxt.get(hop)
    nodes = sorted(keep_set)
    index = {n: i for i, n in enumerate(nodes)}
    modules: dict[str, dict[str, object]] = {}
    for name, mod in sorted(an.modules.items()):
        bases = {
            c.qual.rsplit(".", 1)[1]: c.bases
            for c in an.classes.values()
            if c.module == name and c.bases
        }
        entry: dict[str, object] = {"n": sorted(mod.names)}
        mod_imports = {}
        for local in sorted(set(mod.imports) | set(mod.aliases)):
            target = an.resolve_name(name, local)
            if target != f"{name}.{local}":
                mod_imports[local] = target
        if mod_imports:
            entry["i"] = dict(sorted(mod_imports.items()))
        if bases:
            entry["b"] = dict(sorted(bases.items()))
        if mod.star:
            entry["s"] = sorted(set(mod.star) - {name})
        modules[name] = entry
    return {
        "python": ".".join(map(str, sys.version_info[:3])),
        "format": DATA_FORMAT,
        "nodes": nodes,
        "caps": [caps[n] for n in nodes],
        "next": [index[nxt[n]] if n in nxt else -1 for n in nodes],
        "modules": modules,
    }


def encode(data: dict[str, object]) -> bytes:
    """Serialise :func:`render`'s output as the shipped JSON-lines file.

    Line 1 holds everything but the per-module data: the module names in order and where
    each module's line ends (``ends``, counted from the start of line 2). Line ``k + 2`` holds
    module ``k``'s entry. A scan parses line 1 (a fifth of the bytes) and reads the rest only
    when it looks a module up, which most scans never do.
    """
    modules = data["modules"]
    assert isinstance(modules, dict)
    lines = [json.dumps(v, separators=(",", ":"), sort_keys=True).encode() + b"\n"
             for v in modules.values()]
    ends = list(itertools.accumulate(map(len, lines)))
    head = {k: v for k, v in data.items() if k != "modules"} | {"modules": list(modules),
                                                                  "ends": ends}
    return json.dumps(head, separators=(",", ":"), sort_keys=True).encode() + b"\n" + b"".join(
        lines)


def main(argv: list[str] | None = None) -> int:
    """Regenerate the shipped map for the running interpreter's standard library."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stdlib", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name(DATA_FILE))
    args = parser.parse_args(argv)
    data = render(analyse(args.stdlib))
    blob = encode(data)
    args.out.write_bytes(blob)
    n_nodes = len(data["nodes"])  # type: ignore[arg-type]
    print(f"wrote {args.out} ({len(blob)} bytes raw, {n_nodes} dangerous nodes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
