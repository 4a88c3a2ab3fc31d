"""Checks whose verdict depends on arguments: file modes, secrets, lookups, callbacks.

``open(p, "w")`` writes and ``open(p)`` does not; ``os.getenv("HF_TOKEN")`` reads a secret
and ``os.getenv("CUDA_VISIBLE_DEVICES")`` does not; ``getattr(os, name)`` hides a call and
``getattr(sys, "frozen")`` does not. Each check here looks at the arguments to decide.
"""

from __future__ import annotations

import ast

from modeltrust._scanners.code.capabilities import (
    CREDENTIALS,
    DYNAMIC,
    DYNAMIC_ATTR,
    ESCAPE_ATTRS,
    FILE_WRITE,
    NATIVE,
    OPEN_WRITE_FLAGS,
    PATCH_MODULES,
    PROCESS,
    RESOLVERS,
    SECRET_ENV,
    SECRET_PATH,
    SENSITIVE_MODULES,
    SINK_EXEC,
    SYS_HOOKS,
    WRITE_METHODS,
    classify,
    listed,
)
from modeltrust._scanners.code.resolve import NameResolver
from modeltrust._scanners.code.scopes import OwnPackage
from modeltrust.findings import Rule, Severity

_TYPE_CHECKS = frozenset({"builtins.isinstance", "builtins.issubclass", "builtins.hasattr",
                          "builtins.id", "builtins.repr", "builtins.str", "builtins.callable",
                          "builtins.type", "builtins.print", "typing.cast", "functools.wraps"})
_RISKY_ATTRS = frozenset({"system", "popen", "exec", "eval", "compile", "__import__", "spawn",
                          "execv", "execve", "execvp", "Popen", "run", "call", "check_output",
                          "check_call", "getoutput", "fork", "loads", "load_module", "CDLL",
                          "LoadLibrary", "dlopen", "urlopen", "import_module"})
CALLBACK_APIS = frozenset({
    "threading.Thread", "threading.Timer", "multiprocessing.Process", "multiprocessing.Pool",
    "multiprocessing.pool.Pool", "multiprocessing.pool.ThreadPool", "atexit.register",
    "functools.partial", "functools.partialmethod", "functools.reduce", "builtins.map",
    "builtins.filter", "builtins.sorted", "builtins.min", "builtins.max", "itertools.starmap",
    "itertools.accumulate", "signal.signal", "sys.settrace", "sys.setprofile",
    "threading.settrace", "threading.setprofile", "sys.addaudithook", "weakref.finalize",
    "asyncio.to_thread", "operator.call", "ctypes.LibraryLoader", "codecs.register",
    "_thread.start_new_thread", "_thread.start_new", "concurrent.futures.ThreadPoolExecutor",
    "concurrent.futures.ProcessPoolExecutor", "contextlib.ExitStack.callback"})
"""Calls that run (or keep to run) the callables they are given."""
CALLBACK_METHODS = frozenset({
    ".submit", ".map", ".starmap", ".imap", ".imap_unordered", ".apply", ".apply_async",
    ".map_async", ".starmap_async", ".run_in_executor", ".call_soon", ".call_soon_threadsafe",
    ".call_later", ".call_at", ".add_done_callback", ".callback", ".push",
    ".register_forward_hook", ".register_forward_pre_hook", ".register_full_backward_hook",
    ".register_backward_hook", ".register_hook", ".start_new_thread"})
"""Methods (on values not resolved to a module) that run the callables they are given."""
PATH_JOINS = frozenset({"os.path.join", "posixpath.join", "ntpath.join", "pathlib.Path",
                         "pathlib.PurePath", "pathlib.PosixPath"})


class ArgumentChecks(NameResolver, OwnPackage):
    """Argument-dependent checks; the analyser supplies ``_hit`` and ``_payload``."""

    handled: set[int]

    def _hit(self, r: Rule, node: ast.AST, ctx: str, owner: str, why: str,
             cap: Severity | None = None) -> None:
        raise NotImplementedError

    def _payload(self, arg: ast.AST, sink: str, ctx: str, owner: str, call: ast.Call) -> None:
        raise NotImplementedError

    def _callbacks(self, node: ast.Call, name: str, ctx: str, owner: str) -> None:
        """``Thread(target=os.system)``, ``map(exec, ...)``, ``attrgetter("system")``."""
        if name in RESOLVERS and node.args:
            attr = self._static(node.args[0], 0).value
            if isinstance(attr, str) and (attr.split(".")[-1] in _RISKY_ATTRS
                                          or attr in ESCAPE_ATTRS):
                self._hit(DYNAMIC_ATTR, node, ctx, owner, f"{name} of {attr!r}")
            return
        if name in _TYPE_CHECKS:
            return
        calls_back = name in CALLBACK_APIS or name in CALLBACK_METHODS
        local = self._local_function(node)
        args: list[tuple[int | str, ast.expr]] = [
            *enumerate(node.args), *((k.arg or "", k.value) for k in node.keywords)]
        for slot, arg in args:
            if not isinstance(arg, ast.Name | ast.Attribute | ast.Subscript):
                continue
            target = self._qualname(arg)
            last = target.rsplit(".", 1)[-1] if target else ""
            if target is None or (last.isupper() and not listed(target)):
                continue  # constants such as subprocess.PIPE are not callables
            r = classify(target)
            if r not in (PROCESS, DYNAMIC, NATIVE):
                continue
            if (last[:1].isupper() and not calls_back
                    and (local is None or not _param_used(local, slot))):
                continue  # a class handed to a registry (a key, a type to match) is not run
            self._hit(r, arg, ctx, owner, f"passes {target} to {name}() to be called")

    def _local_function(self, node: ast.Call) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The function of this file that ``node`` calls by name, when there is one."""
        if not isinstance(node.func, ast.Name) or node.func.id not in self.defined:
            return None
        scope = self.scopes.get(node.func.id)
        return scope.node if scope is not None else None

    def _stored(self, node: ast.AST, ctx: str, owner: str) -> None:
        """``{"run": os.system}``, ``return exec``, ``self.f = os.system``: kept to call later."""
        values: list[ast.AST]
        if isinstance(node, ast.Dict):
            values = [v for v in node.values if v is not None]
        elif isinstance(node, ast.List | ast.Set):  # tuples: isinstance() and annotations
            values = list(node.elts)
        elif isinstance(node, ast.Assign):
            stores = [t for t in node.targets if not isinstance(t, ast.Name)]
            values = [node.value] if stores else []
        else:
            value = getattr(node, "value", None)
            values = [value] if value is not None else []
        for v in values[:256]:
            if not isinstance(v, ast.Name | ast.Attribute):
                continue
            target = self._qualname(v)
            last = target.rsplit(".", 1)[-1] if target else ""
            if target is None or last.isupper() or last[:1].isupper():
                continue  # constants, and classes (kept in sets for isinstance checks)
            r = classify(target)
            if r in (PROCESS, DYNAMIC, NATIVE):
                self._hit(r, v, ctx, owner, f"keeps a reference to {target}")

    def _unresolved_call(self, node: ast.Call, ctx: str, owner: str) -> None:
        """Method calls on values: ``Path(p).write_text()``, ``p.open("w")``..."""
        func = node.func
        self._callbacks(node, f".{func.attr}" if isinstance(func, ast.Attribute) else "a call",
                        ctx, owner)
        if not isinstance(func, ast.Attribute):
            return
        if func.attr in WRITE_METHODS:
            self._hit(FILE_WRITE, node, ctx, owner, f"calls .{func.attr}()")
        elif func.attr == "open" and self._write_mode(node, 0):
            self._hit(FILE_WRITE, node, ctx, owner, "opens a file for writing")
        elif func.attr == "joinpath":
            self._path_parts(node, ctx, owner, [func.value, *node.args])

    def _write_mode(self, node: ast.Call, index: int) -> str | None:
        args = node.args
        mode = args[index] if len(args) > index else next(
            (k.value for k in node.keywords if k.arg == "mode"), None)
        if isinstance(mode, ast.Constant) and isinstance(mode.value, str) and any(
                c in mode.value for c in "wax+"):
            return mode.value
        return None

    def _special(self, name: str, node: ast.Call, ctx: str, owner: str) -> bool:
        """Calls whose danger depends on their arguments; True when fully handled here."""
        args = node.args
        if name in ("builtins.open", "io.open", "codecs.open", "os.fdopen", "io.FileIO",
                    "_io.FileIO", "_io.open"):
            mode = self._write_mode(node, 1)
            if mode is not None:
                self._hit(FILE_WRITE, node, ctx, owner, f"opens a file for writing "
                          f"(mode {mode!r})")
            self._path_parts(node, ctx, owner, args[:1])
            return True
        if name in ("os.open", "posix.open"):
            flags = {n.attr if isinstance(n, ast.Attribute) else getattr(n, "id", "")
                     for a in args[1:2] for n in ast.walk(a)}
            if flags & OPEN_WRITE_FLAGS:
                self._hit(FILE_WRITE, node, ctx, owner, "opens a file for writing")
            return True
        if name in ("os.getenv", "os.getenvb", "os.environ.get", "os.environ.pop",
                    "os.environ.setdefault", "os.environ.__getitem__"):
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
        if name in ("builtins.__import__", "importlib.import_module", "importlib.__import__"):
            mod = args[0] if args else None
            if isinstance(mod, ast.Constant) and isinstance(mod.value, str):
                root = mod.value.split(".")[0]
                if root in SENSITIVE_MODULES or classify(f"{mod.value}.x") is not None:
                    self._hit(DYNAMIC_ATTR, node, ctx, owner, f"imports {mod.value!r} by name")
                elif (mod.value.startswith(".") and (len(args) > 1 or node.keywords)
                      and not self._own_import(name, node, mod, owner)):
                    self._hit(DYNAMIC, node, ctx, owner, f"imports {mod.value!r} relative to "
                              "a package named at run time")
                return True
            if mod is not None and self._own_import(name, node, mod, owner):
                self._hit(DYNAMIC, node, ctx, owner, "imports a module of its own package "
                          "by a computed name", cap=Severity.LOW)
                return True
        if name in SINK_EXEC and args and isinstance(args[0], ast.Constant):
            self._literal_exec(name, node, ctx, owner)
            return True
        return False

    def _own_import(self, name: str, node: ast.Call, mod: ast.expr, owner: str) -> bool:
        """``import_module(__name__ + ".sub")``, ``("." + x, __package__)``, ``level=1``."""
        if self.own_module(mod, owner):
            return True
        if name == "builtins.__import__":
            level = node.args[4] if len(node.args) > 4 else next(
                (k.value for k in node.keywords if k.arg == "level"), None)
            return (isinstance(level, ast.Constant) and isinstance(level.value, int)
                    and not isinstance(level.value, bool) and level.value > 0)
        package = node.args[1] if len(node.args) > 1 else next(
            (k.value for k in node.keywords if k.arg == "package"), None)
        return (name == "importlib.import_module" and package is not None
                and self.relative_name(mod) and self.anchor(package, owner))

    def _literal_exec(self, name: str, node: ast.Call, ctx: str, owner: str) -> None:
        raise NotImplementedError

    def _getattr(self, name: str, node: ast.Call, ctx: str, owner: str) -> None:
        verb = name.split(".")[-1]
        attr_node = node.args[1]
        attr = self._static(attr_node, 0).value
        if isinstance(attr, str) and attr in ESCAPE_ATTRS:
            self._hit(DYNAMIC_ATTR, node, ctx, owner, f"{verb}() reaches {attr}")
            return
        target = self._qualname(node.args[0])
        if target is None or target.split(".")[0] not in SENSITIVE_MODULES:
            return
        literal = isinstance(attr_node, ast.Constant)
        resolved = f"{target}.{attr}" if isinstance(attr, str) else None
        if verb != "getattr" and target.split(".")[0] in PATCH_MODULES:
            self._hit(DYNAMIC_ATTR, node, ctx, owner, f"{verb}() replaces "
                      f"{resolved or target + '.<computed>'}")
        elif not literal or (resolved is not None and classify(resolved) is not None):
            shown = f" resolving to {resolved}" if resolved else ""
            self._hit(DYNAMIC_ATTR, node, ctx, owner, f"{verb}() on {target} "
                      f"with a computed name{shown}" if not literal else
                      f"{verb}() fetches {resolved}")

    def _attribute(self, node: ast.Attribute, ctx: str, owner: str) -> None:
        """Escapes through ``__globals__``/frames, code swaps, monkey-patching, token paths."""
        attr = node.attr
        if attr in ESCAPE_ATTRS:
            self._hit(DYNAMIC_ATTR, node, ctx, owner, f"reaches {attr}")
        elif attr == "__subclasses__" and _introspects(node.value):
            self._hit(DYNAMIC_ATTR, node, ctx, owner, "enumerates every loaded class")
        elif (attr == "__code__" and isinstance(node.ctx, ast.Store)) or (
                attr == "replace" and isinstance(node.value, ast.Attribute)
                and node.value.attr == "__code__"):
            self._hit(DYNAMIC, node, ctx, owner, "swaps a function's code object")
        elif isinstance(node.ctx, ast.Store | ast.Del):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and (root.id in ("self", "cls")
                                               or root.id in self.defined):
                return  # an object's own attribute, not a module's
            q = self._qualname(node)
            if q is not None and (q.split(".")[0] in PATCH_MODULES or q in SYS_HOOKS):
                self._hit(DYNAMIC_ATTR, node, ctx, owner, f"replaces {q}")
        elif attr in ("HF_TOKEN_PATH", "HF_STORED_TOKENS_PATH"):
            self._hit(CREDENTIALS, node, ctx, owner, "names the hub token file")

    def _subscript(self, node: ast.Subscript, ctx: str, owner: str) -> None:
        value = node.value
        if not isinstance(node.ctx, ast.Load):
            if self._qualname(value) in SYS_HOOKS:
                self._hit(DYNAMIC_ATTR, node, ctx, owner, f"replaces an entry of "
                          f"{self._qualname(value)}")
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

    def _path_parts(self, node: ast.AST, ctx: str, owner: str, parts: list[ast.expr]) -> None:
        """``Path.home() / ".cache" / "huggingface" / "token"`` names a credential file."""
        if not any(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
            return
        texts = [self._static(p, 0).value for p in parts]
        strs = [t for t in texts if isinstance(t, str)]
        if len(strs) < 2 or any(SECRET_PATH.search(t) for t in strs):
            return  # a single literal is checked on its own
        if SECRET_PATH.search("/".join(strs)):
            self._hit(CREDENTIALS, node, ctx, owner, "builds the path of a credential file")


def _param_used(func: ast.FunctionDef | ast.AsyncFunctionDef, slot: int | str) -> bool:
    """Whether the parameter in ``slot`` is called, handed on, returned or kept as a value.

    Used only as a dictionary key, compared or type-checked, it is never run.
    """
    a = func.args
    positional = [p.arg for p in [*a.posonlyargs, *a.args]]
    if isinstance(slot, int):
        if slot >= len(positional):
            return True  # lands in *args: followed no further
        param = positional[slot]
    else:
        if slot not in positional and slot not in [p.arg for p in a.kwonlyargs]:
            return True  # lands in **kwargs
        param = slot

    def named(n: ast.AST | None) -> bool:
        return isinstance(n, ast.Name) and n.id == param

    for n in ast.walk(func):
        if isinstance(n, ast.Call):
            fname = n.func.id if isinstance(n.func, ast.Name) else ""
            if named(n.func) or (fname not in ("isinstance", "issubclass", "type", "id")
                                 and any(named(x) for x in
                                         [*n.args, *(k.value for k in n.keywords)])):
                return True
        elif isinstance(n, ast.Return | ast.Yield | ast.Assign | ast.AnnAssign | ast.NamedExpr):
            value = n.value
            if named(value) or (isinstance(value, ast.Tuple) and any(map(named, value.elts))):
                return True
        elif any(map(named, n.values if isinstance(n, ast.Dict) else
                     n.elts if isinstance(n, ast.List | ast.Set) else [])):
            return True
    return False


def div_parts(node: ast.BinOp) -> list[ast.expr]:
    parts: list[ast.expr] = []
    cur: ast.expr = node
    while isinstance(cur, ast.BinOp) and isinstance(cur.op, ast.Div) and len(parts) < 64:
        parts.append(cur.right)
        cur = cur.left
    parts.append(cur)
    return parts[::-1]


def _introspects(node: ast.AST) -> bool:
    """``object``, ``x.__class__.__bases__[0]``, ``type.__mro__[1]``..."""
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.id == "object":
            return True
        if isinstance(n, ast.Attribute) and n.attr in ("__bases__", "__base__", "__mro__",
                                                       "mro"):
            return True
    return False
