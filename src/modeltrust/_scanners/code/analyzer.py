"""The analysis of one source text: imports and aliases, calls, and when each call runs."""

from __future__ import annotations

import ast
import re
import time
from collections import deque
from dataclasses import dataclass

from modeltrust._scanners.code.capabilities import (
    BUILTINS,
    CALL,
    CREDENTIALS,
    DYNAMIC,
    DYNAMIC_ATTR,
    FILE_WRITE,
    IMPORT,
    INIT,
    MAX_DECODE_DEPTH,
    MAX_DEPTH,
    MAX_NODES,
    NATIVE,
    NETWORK,
    OBFUSCATED,
    PROCESS,
    SCRIPT,
    SECRET_ENV,
    SECRET_PATH,
    SENSITIVE_MODULES,
    SINK_EXEC,
    WRITE_METHODS,
    classify,
)
from modeltrust._scanners.code.decode import DECODERS, Decoded, State, StaticEvaluator, preview
from modeltrust.findings import Rule


@dataclass(frozen=True)
class Hit:
    rule: Rule
    line: int
    context: str
    owner: str
    evidence: str
    note: str = ""


def parse(raw: bytes) -> ast.Module | str:
    """The syntax tree, or why there is none (never compiles to bytecode)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(raw, filename="<model code>")
    except SyntaxError as exc:
        return f"syntax error at line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError, OverflowError, UnicodeError) as exc:
        return f"cannot parse: {type(exc).__name__}: {str(exc)[:200]}"


def error_line(message: str) -> int | None:
    m = re.match(r"syntax error at line (\d+)", message)
    return int(m.group(1)) if m else None


def is_main_guard(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return bool(names and consts)


_Frame = tuple[ast.AST, str, str, str | None, int]
"""(node, context, owner function, enclosing class, depth)"""
_Child = tuple[ast.AST, str, str, str | None]


class Analyzer(StaticEvaluator):
    """One source text (a file, or a payload decoded from one): imports, calls, contexts."""

    def __init__(self, tree: ast.Module, lines: list[str], state: State, depth: int,
                 base: str, owner: str, line_base: int | None) -> None:
        self.tree, self.lines, self.state, self.depth = tree, lines, state, depth
        self.base, self.base_owner, self.line_base = base, owner, line_base
        self.aliases: dict[str, str] = {}
        self.star: list[str] = []
        self.consts: dict[str, ast.expr] = {}
        self._memo: dict[str, Decoded] = {}
        self.defined: set[str] = set()
        self.imports: set[str] = set()
        self.hits: list[Hit] = []
        self.edges: dict[str, set[str]] = {}
        self.import_calls: dict[str, int] = {}

    def run(self) -> None:
        """Collect imports and aliases, then walk every statement in its context."""
        self._collect()
        self._walk()

    def propagate(self) -> None:
        """Functions (and classes) called at import time make their findings import-time."""
        reached: dict[str, int] = {}
        queue = deque(sorted(self.import_calls.items()))
        while queue:
            name, line = queue.popleft()
            if name in reached:
                continue
            reached[name] = line
            for owner in (name, f"{name}.__init__"):
                queue.extend((callee, line) for callee in sorted(self.edges.get(owner, ())))
        for i, hit in enumerate(self.hits):
            if hit.context not in (CALL, INIT) or not hit.owner:
                continue
            root = hit.owner if hit.owner in reached else hit.owner.removesuffix(".__init__")
            if root in reached and (root == hit.owner or hit.owner.endswith(".__init__")):
                note = f" (via {hit.owner}, reached from line {reached[root]})"
                self.hits[i] = Hit(hit.rule, hit.line, IMPORT, hit.owner, hit.evidence, note)

    # -- collection --------------------------------------------------------------------------

    def _collect(self) -> None:
        assigns: list[tuple[str, ast.expr]] = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    top = a.name.split(".")[0]
                    self.imports.add(top)
                    self.aliases[a.asname or top] = a.name if a.asname else top
            elif isinstance(node, ast.ImportFrom) and not node.level:
                mod = node.module or ""
                self.imports.add(mod.split(".")[0])
                for a in node.names:
                    if a.name == "*":
                        self.star.append(mod)
                    else:
                        self.aliases[a.asname or a.name] = f"{mod}.{a.name}"
            elif (isinstance(node, ast.Assign) and len(node.targets) == 1
                  and isinstance(node.targets[0], ast.Name)):
                assigns.append((node.targets[0].id, node.value))
        counts: dict[str, int] = {}
        for stmt in self.tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.defined.add(stmt.name)
            elif (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                  and isinstance(stmt.targets[0], ast.Name)):
                name = stmt.targets[0].id
                counts[name] = counts.get(name, 0) + 1
                self.consts[name] = stmt.value
        for name, n in counts.items():
            if n > 1:
                del self.consts[name]
        for _ in range(2):
            for target, value in assigns:
                q = self._qualname(value)
                if q is not None:
                    self.aliases[target] = q

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
            outer = [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
            self._decorators(node.decorator_list, ctx, owner)
            inner = node.name if not owner else None
            out = [(n, ctx, owner, None) for n in outer]
            return out + [(n, ctx, owner, inner) for n in node.body]
        if isinstance(node, ast.If) and ctx == IMPORT and not owner and is_main_guard(node.test):
            out = [(node.test, ctx, owner, None)]
            out += [(n, SCRIPT, owner, None) for n in node.body]
            return out + [(n, ctx, owner, None) for n in node.orelse]
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            return []  # docstrings and bare string statements
        if isinstance(node, ast.Call):
            self._call(node, ctx, owner)
        elif isinstance(node, ast.Subscript):
            self._subscript(node, ctx, owner)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            if self._qualname(node.iter) == "os.environ":
                self._hit(CREDENTIALS, node.iter, ctx, owner, "iterates over os.environ")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and SECRET_PATH.search(node.value[:4096])):
            self._hit(CREDENTIALS, node, ctx, owner, "names a credential file")
        return [(n, ctx, owner, None) for n in ast.iter_child_nodes(node)]

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, ctx: str,
                  owner: str, cls: str | None) -> list[_Child]:
        args = node.args
        outer: list[ast.AST] = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        body: list[ast.AST]
        if isinstance(node, ast.Lambda):
            name, body = "<lambda>", [node.body]
        else:
            name, body = node.name, list(node.body)
            outer = [*node.decorator_list, *outer]
            self._decorators(node.decorator_list, ctx, owner)
        if ctx == SCRIPT:
            inner_ctx = SCRIPT
        elif ctx == IMPORT and cls and name in ("__init__", "__new__", "__post_init__"):
            inner_ctx = INIT
        else:
            inner_ctx = CALL
        inner_owner = owner or (f"{cls}.{name}" if cls else name)
        out: list[_Child] = [(n, ctx, owner, None) for n in outer]
        return out + [(n, inner_ctx, inner_owner, None) for n in body]

    def _decorators(self, decorators: list[ast.expr], ctx: str, owner: str) -> None:
        for d in decorators:
            target = d.func if isinstance(d, ast.Call) else d
            if isinstance(target, ast.Name):
                self._edge(target.id, d, ctx, owner)

    def _edge(self, name: str, node: ast.AST, ctx: str, owner: str) -> None:
        if name not in self.defined:
            return
        if ctx == IMPORT and not owner:
            self.import_calls.setdefault(name, self._line(node))
        elif owner:
            self.edges.setdefault(owner, set()).add(name)

    # -- calls and references ----------------------------------------------------------------

    def _call(self, node: ast.Call, ctx: str, owner: str) -> None:
        if isinstance(node.func, ast.Name):
            self._edge(node.func.id, node, ctx, owner)
        for kw in node.keywords:
            if (kw.arg == "trust_remote_code" and isinstance(kw.value, ast.Constant)
                    and kw.value.value is True):
                self._hit(DYNAMIC, node, ctx, owner, "loads code from another repository "
                          "(trust_remote_code=True)")
        name = self._qualname(node.func)
        if name is None:
            if isinstance(node.func, ast.Attribute) and node.func.attr in WRITE_METHODS:
                self._hit(FILE_WRITE, node, ctx, owner, f"calls .{node.func.attr}()")
            return
        if self._special(name, node, ctx, owner):
            return
        r = classify(name)
        if r is None:
            return
        self._hit(r, node, ctx, owner, f"calls {name}")
        if r in (DYNAMIC, PROCESS, NATIVE, NETWORK):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                self._payload(arg, name, ctx, owner, node)

    def _special(self, name: str, node: ast.Call, ctx: str, owner: str) -> bool:
        """Calls whose danger depends on their arguments; True when fully handled here."""
        args = node.args
        if name in ("builtins.open", "io.open", "codecs.open", "os.fdopen"):
            mode = args[1] if len(args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "mode"), None)
            if isinstance(mode, ast.Constant) and isinstance(mode.value, str) and any(
                    c in mode.value for c in "wax+"):
                self._hit(FILE_WRITE, node, ctx, owner, f"opens a file for writing "
                          f"(mode {mode.value!r})")
            return True
        if name in ("os.getenv", "os.getenvb", "os.environ.get", "os.environ.pop",
                    "os.environ.setdefault"):
            key = self._static(args[0], 0).value if args else None
            if isinstance(key, str) and SECRET_ENV.search(key):
                self._hit(CREDENTIALS, node, ctx, owner, f"reads secret variable {key!r}")
            return True
        dumps = ("builtins.dict", "builtins.str", "builtins.repr", "builtins.list", "json.dumps",
                 "json.dump", "builtins.print", "pprint.pprint")
        if name in ("os.environ.copy", "os.environ.items", "os.environ.keys",
                    "os.environ.values") or (name in dumps and any(
                        self._qualname(a) == "os.environ" for a in args)):
            self._hit(CREDENTIALS, node, ctx, owner, "reads the whole environment")
            return True
        if name in ("builtins.getattr", "builtins.setattr", "builtins.delattr") and len(args) > 1:
            self._getattr(name, node, ctx, owner)
            return True
        if name in ("builtins.__import__", "importlib.import_module"):
            mod = args[0] if args else None
            if isinstance(mod, ast.Constant) and isinstance(mod.value, str):
                root = mod.value.split(".")[0]
                if root in SENSITIVE_MODULES or classify(f"{mod.value}.x") is not None:
                    self._hit(DYNAMIC_ATTR, node, ctx, owner, f"imports {mod.value!r} by name")
                return True
        if name in SINK_EXEC and args and isinstance(args[0], ast.Constant):
            self._hit(DYNAMIC, node, ctx, owner, f"calls {name} on a literal string")
            self._payload(args[0], name, ctx, owner, node)
            return True
        return False

    def _getattr(self, name: str, node: ast.Call, ctx: str, owner: str) -> None:
        target = self._qualname(node.args[0])
        if target is None or target.split(".")[0] not in SENSITIVE_MODULES:
            return
        attr_node = node.args[1]
        attr = self._static(attr_node, 0).value
        literal = isinstance(attr_node, ast.Constant)
        resolved = f"{target}.{attr}" if isinstance(attr, str) else None
        if not literal or (resolved is not None and classify(resolved) is not None):
            shown = f" resolving to {resolved}" if resolved else ""
            self._hit(DYNAMIC_ATTR, node, ctx, owner, f"{name.split('.')[-1]}() on {target} "
                      f"with a computed name{shown}" if not literal else
                      f"{name.split('.')[-1]}() fetches {resolved}")

    def _subscript(self, node: ast.Subscript, ctx: str, owner: str) -> None:
        value = node.value
        if not isinstance(node.ctx, ast.Load):
            return
        if self._qualname(value) == "os.environ":
            key = self._static(node.slice, 0).value
            if isinstance(key, str) and SECRET_ENV.search(key):
                self._hit(CREDENTIALS, node, ctx, owner, f"reads secret variable {key!r}")
            return
        name = self._subscript_name(node, 0)
        if name is not None and name.split(".")[0] in SENSITIVE_MODULES:
            self._hit(DYNAMIC_ATTR, node, ctx, owner, f"looks up {name} through a namespace "
                      "dictionary")

    def _hit(self, r: Rule, node: ast.AST, ctx: str, owner: str, why: str) -> None:
        seg = self._segment(node)
        where = f"decoded payload line {self._line(node, own=True)}: " if self.depth else ""
        self.hits.append(Hit(r, self._line(node), ctx, owner, f"{why}: {where}{seg}"))

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

    # -- name resolution ---------------------------------------------------------------------

    def _qualname(self, expr: ast.AST, d: int = 0) -> str | None:
        """The dotted name an expression refers to, through imports and aliases."""
        if d > 20:
            return None
        parts: list[str] = []
        node = expr
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        base: str | None
        if isinstance(node, ast.Name):
            base = self._resolve_name(node.id)
        elif isinstance(node, ast.Call):
            base = self._call_target(node, d + 1)
        elif isinstance(node, ast.Subscript):
            base = self._subscript_name(node, d + 1)
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
        fname = self._qualname(call.func, d)
        args = call.args
        if fname in ("builtins.__import__", "importlib.import_module") and args:
            mod = self._static(args[0], 0).value
            return mod if isinstance(mod, str) else None
        if fname == "builtins.getattr" and len(args) > 1:
            target = self._qualname(args[0], d)
            attr = self._static(args[1], 0).value
            return f"{target}.{attr}" if target and isinstance(attr, str) else None
        return None

    def _subscript_name(self, node: ast.Subscript, d: int) -> str | None:
        """``vars(os)["system"]``, ``os.__dict__["system"]``, ``__builtins__["exec"]``."""
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
            if fname in ("builtins.globals", "builtins.locals") and key == "__builtins__":
                return "builtins"
        elif isinstance(value, ast.Name) and value.id == "__builtins__":
            base = "builtins"
        elif isinstance(value, ast.Subscript):
            base = self._subscript_name(value, d + 1)
        return f"{base}.{key}" if base else None

    # -- encoded payloads --------------------------------------------------------------------

    def _payload(self, arg: ast.AST, sink: str, ctx: str, owner: str, call: ast.Call) -> None:
        res = self._static(arg, 0)
        uses = res.decoded or any(
            isinstance(n, ast.Call) and self._qualname(n.func) in DECODERS
            for n in ast.walk(arg))
        value = res.value
        if uses:
            if res.code_object:
                what = "a marshalled code object (not decoded)"
            elif value is None:
                what = "data decoded at run time"
            else:
                what = f"decoded {preview(value)}"
            self._hit(OBFUSCATED, call, ctx, owner, f"{sink} receives {what}")
        if value is None or sink not in SINK_EXEC:
            return
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        self._nested(text, ctx, owner, call)

    def _nested(self, text: str, ctx: str, owner: str, call: ast.Call) -> None:
        if self.depth + 1 > MAX_DECODE_DEPTH:
            self._limit(f"payloads nested deeper than {MAX_DECODE_DEPTH} levels not analysed")
            return
        if time.monotonic() > self.state.deadline:
            self._limit("time limit reached: embedded payloads not analysed")
            return
        tree = parse(text.encode("utf-8", "replace"))
        if isinstance(tree, str):
            return
        child = Analyzer(tree, text.splitlines(), self.state, self.depth + 1, ctx, owner,
                          self._line(call))
        child.run()
        child.propagate()
        self.hits.extend(child.hits)
        self.imports |= child.imports
