"""Jinja expressions without rendering: fold literal string-building, print nodes as text.

A template can hide a name such as ``__class__`` by building it (``'__cla' ~ 'ss__'``,
``chr(95)``, ``'%s' % ...``, ``'ssalc__'[::-1]``, ``dict(__class__=1)|first``); :func:`fold`
evaluates such expressions when they are made only of literals, with bounds on depth and
size, so the chat-template scanner grades what an access chain really reaches. A fold is
exact or gives up (``None``): a wrong value could turn a hidden dunder into a harmless name.
:func:`text` prints a node back as template source for evidence. Nothing here renders or
executes a template.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import nodes as jn

_FOLD_MAX = 4096
"""Longest string or list a fold may build (``'_' * 10**9`` stays unfolded)."""
TEXT_MAX = 240
"""Characters of template text quoted as evidence."""
DUNDER = re.compile(r"^__\w+__$")
INTROSPECTION = frozenset({
    "mro", "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "gi_frame", "gi_code",
    "cr_frame", "cr_code", "ag_frame", "ag_code", "tb_frame", "tb_next", "func_globals",
    "func_code", "func_closure", "im_func", "im_self", "co_code", "co_consts",
})
"""Non-dunder attributes of types, frames, generators and functions that lead to globals."""
ESCAPE_NAMES = frozenset({
    "__globals__", "__builtins__", "__subclasses__", "__import__", "__loader__", "f_globals",
    "f_builtins", "f_locals", "func_globals",
})
"""Internal names that by themselves reach module globals, builtins or every loaded class."""
_STRING_FILTERS = frozenset({"join", "format", "replace", "string", "reverse", "lower", "upper",
                             "title", "capitalize", "trim", "center", "first", "last", "list",
                             "safe", "e", "escape", "forceescape", "default", "d", "sort",
                             "truncate", "wordwrap", "indent", "striptags", "urlencode",
                             "random", "min", "max"})
_STRING_METHODS = frozenset({"join", "format", "format_map", "replace", "lower", "upper",
                             "strip", "lstrip", "rstrip", "decode", "encode", "title",
                             "capitalize", "swapcase", "casefold", "removeprefix",
                             "removesuffix", "split", "rsplit", "center", "ljust", "rjust",
                             "zfill", "translate", "expandtabs", "partition", "rpartition",
                             "keys", "values", "pop", "get"})
_CASES: dict[str, Callable[[str], str]] = {
    "lower": str.lower, "upper": str.upper, "title": str.title, "capitalize": str.capitalize,
    "swapcase": str.swapcase, "casefold": str.casefold, "string": str, "safe": str,
}

Folded = str | int | list[Any] | dict[str, Any] | None
Consts = Mapping[str, Folded]


def is_internal(name: object) -> bool:
    """True for names only introspection uses (``__class__``, ``mro``, ``f_globals``...)."""
    return isinstance(name, str) and (bool(DUNDER.match(name)) or name in INTROSPECTION)


def rank(value: object) -> int:
    """How suspicious a folded name is: 2 escape target, 1 internal, 0 anything else."""
    if not isinstance(value, str):
        return 0
    return 2 if value in ESCAPE_NAMES else 1 if is_internal(value) else 0


def pick(values: list[Folded]) -> Folded:
    """One value for a name with several candidates: the most suspicious, else the only one.

    Over-approximates on purpose: a variable that may hold ``__class__`` is graded as if it
    does; candidates that disagree and are all harmless give ``None`` (unknown).
    """
    if not values:
        return None
    best = max(values, key=rank)
    if rank(best) or all(v is not None and v == values[0] for v in values):
        return best
    return None


def builds_string(node: jn.Node, depth: int = 0) -> bool:
    """True when ``node`` computes a string from pieces (a hidden name, if used as a key)."""
    from jinja2 import nodes as n

    if depth > 40:
        return False
    if isinstance(node, n.Concat | n.Mod):
        return True
    if isinstance(node, n.Add | n.Mul):
        return any(isinstance(s, n.Const) and isinstance(s.value, str)
                   or builds_string(s, depth + 1) for s in (node.left, node.right))
    if isinstance(node, n.Filter):
        return node.name in _STRING_FILTERS
    if isinstance(node, n.Call):
        f = node.node
        return (isinstance(f, n.Getattr) and f.attr in _STRING_METHODS) or (
            isinstance(f, n.Name) and f.name in ("chr", "str", "dict"))
    if isinstance(node, n.Getitem):
        return isinstance(node.arg, n.Slice) or isinstance(node.node, n.Dict | n.List | n.Tuple)
    if isinstance(node, n.Getattr):
        return isinstance(node.node, n.Dict)
    if isinstance(node, n.CondExpr):
        return any(x is not None and (builds_string(x, depth + 1) or isinstance(x, n.Const))
                   for x in (node.expr1, node.expr2))
    return False


def fold(node: jn.Node | None, consts: Consts, depth: int = 0) -> Folded:
    """Evaluate string-building expressions made only of literals (bounded, no rendering).

    ``consts`` maps variable names (and ``name.key`` for namespace/dict members) to the
    value they were bound to. The result is exact, or ``None`` when it cannot be known.
    """
    from jinja2 import nodes as n

    if node is None or depth > 40:
        return None
    try:
        value = _fold_node(node, consts, depth + 1, n)
    except (ValueError, TypeError, IndexError, KeyError, OverflowError, AttributeError):
        return None
    if isinstance(value, str | list | dict) and len(value) > _FOLD_MAX:
        return None
    return value


def _fold_node(node: jn.Node, consts: Consts, d: int, n: Any) -> Folded:
    def f(x: jn.Node | None) -> Folded:
        return fold(x, consts, d)

    if isinstance(node, n.Const):
        v = node.value
        return v if isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) \
            else None
    if isinstance(node, n.Name):
        return consts.get(node.name)
    if isinstance(node, n.List | n.Tuple):
        items = [f(x) for x in node.items]
        return None if any(i is None for i in items) else items
    if isinstance(node, n.Dict):
        keys = [f(p.key) for p in node.items]
        if not all(isinstance(k, str) for k in keys):
            return None
        return {str(k): f(p.value) for k, p in zip(keys, node.items, strict=True)}
    if isinstance(node, n.Concat):
        parts = [f(x) for x in node.nodes]
        return None if any(p is None for p in parts) else "".join(str(p) for p in parts)
    if isinstance(node, n.Neg | n.Pos):
        v = f(node.node)
        return (-v if isinstance(node, n.Neg) else v) if isinstance(v, int) else None
    if isinstance(node, n.BinExpr):
        return _fold_binary(node.operator, f(node.left), f(node.right))
    if isinstance(node, n.CondExpr):
        return pick([f(node.expr1), f(node.expr2)])
    if isinstance(node, n.Filter) and node.node is not None:
        if node.dyn_args or node.dyn_kwargs:
            return None
        kwargs = {k.key: f(k.value) for k in node.kwargs}
        return _fold_filter(node.name, f(node.node), [f(a) for a in node.args], kwargs)
    if isinstance(node, n.Call):
        return _fold_call(node, f, n)
    if isinstance(node, n.Getattr):
        return _fold_member(node.node, node.attr, f, consts, n)
    if isinstance(node, n.Getitem):
        return _fold_item(node, f, consts, n)
    return None


def _fold_member(base_node: jn.Node, key: Folded, f: Any, consts: Consts, n: Any) -> Folded:
    """``d.k`` / ``d['k']`` on a folded dict, or a namespace/dict member bound by name."""
    base = f(base_node)
    if base is None and isinstance(base_node, n.Name) and isinstance(key, str):
        return consts.get(f"{base_node.name}.{key}")
    if isinstance(base, dict) and isinstance(key, str):
        return base.get(key)
    return None


def _fold_item(node: jn.Getitem, f: Any, consts: Consts, n: Any) -> Folded:
    if not isinstance(node.arg, n.Slice):
        key = f(node.arg)
        if isinstance(key, str):
            return _fold_member(node.node, key, f, consts, n)
    base = f(node.node)
    if not isinstance(base, str | list):
        return None
    if isinstance(node.arg, n.Slice):
        s = node.arg
        given = (s.start, s.stop, s.step)
        bounds = [f(x) if x is not None else None for x in given]
        ints = [b if isinstance(b, int) else None for b in bounds]
        if any(x is not None and b is None for x, b in zip(given, ints, strict=True)):
            return None
        return base[slice(*ints)]
    return base[key] if isinstance(key, int) else None


def _fold_binary(op: str, a: Folded, b: Folded) -> Folded:
    if a is None or b is None:
        return None
    if op == "+" and type(a) is type(b) and isinstance(a, str | int | list):
        return a + b  # type: ignore[operator]
    if op == "~":
        return f"{_jinja_str(a)}{_jinja_str(b)}"
    if isinstance(a, int) and isinstance(b, int) and op in ("-", "*", "//", "%") \
            and abs(a) < 1 << 32 and abs(b) < 1 << 32:
        return {"-": a - b, "*": a * b, "//": a // b if b else 0, "%": a % b if b else 0}[op]
    if op == "*" and isinstance(b, str) and isinstance(a, int):
        a, b = b, a
    if op == "*" and isinstance(a, str | list) and isinstance(b, int):
        return a * b if 0 <= len(a) * b <= _FOLD_MAX else None
    if op == "%" and isinstance(a, str) and re.fullmatch(r"(?:[^%]|%[sdc%])*", a):
        return a % (tuple(b) if isinstance(b, list) else b)
    return None


def _jinja_str(v: Folded) -> str:
    if isinstance(v, str | int):
        return str(v)
    raise TypeError("only strings and numbers are folded into text")


def items_of(v: Folded) -> list[Any] | None:
    """What iterating a folded value yields in Jinja (characters, items or dict keys)."""
    if isinstance(v, str):
        return list(v)
    if isinstance(v, list):
        return v
    if isinstance(v, dict):
        return list(v)
    return None


_FILTER_KWARGS = {"join": {"d"}, "trim": {"chars"}, "replace": {"count"},
                  "default": {"boolean"}, "d": {"boolean"}}


def _fold_filter(name: str, base: Folded, args: list[Folded],
                 kwargs: dict[str, Folded]) -> Folded:
    if base is None or any(a is None for a in args) or any(v is None for v in kwargs.values()):
        return None
    if not set(kwargs) <= _FILTER_KWARGS.get(name, set()):
        return None
    items = items_of(base)
    if name == "join" and items is not None and len(args) <= 1:
        sep = args[0] if args else kwargs.get("d", "")
        return _jinja_str(sep).join(_jinja_str(x) for x in items)
    if name in ("default", "d"):
        return base
    if args:
        return _fold_filter_args(name, base, args, kwargs)
    if name in ("e", "escape", "forceescape") and isinstance(base, str):
        return None if any(c in base for c in "<>&'\"") else base
    if name in _CASES and isinstance(base, str | int):
        return _CASES[name](str(base))
    if name == "trim" and isinstance(base, str):
        chars = kwargs.get("chars")
        return base.strip(chars) if isinstance(chars, str) else base.strip()
    if name == "reverse" and isinstance(base, str | list):
        return base[::-1]
    if name in ("first", "last") and items:
        one: Folded = items[0] if name == "first" else items[-1]
        return one
    if name == "list" and items is not None:
        return items
    if name == "sort" and items is not None and all(isinstance(x, str) for x in items):
        return sorted(items, key=str.lower)
    return None


def _fold_filter_args(name: str, base: Folded, args: list[Folded],
                      kwargs: dict[str, Folded]) -> Folded:
    if name == "trim" and isinstance(base, str) and len(args) == 1 and isinstance(args[0], str):
        return base.strip(args[0])
    if name == "replace" and isinstance(base, str) and len(args) in (2, 3):
        count = args[2] if len(args) == 3 else kwargs.get("count", -1)
        if not isinstance(count, int):
            return None
        return _replace(base, _jinja_str(args[0]), _jinja_str(args[1]), count)
    if name == "format" and isinstance(base, str):
        return _fold_binary("%", base, list(args))
    return None


def _replace(s: str, old: str, new: str, count: int = -1) -> str | None:
    hits = s.count(old) if old else len(s) + 1
    if count >= 0:
        hits = min(hits, count)
    if len(s) + hits * len(new) > _FOLD_MAX:
        return None
    return s.replace(old, new, count)


def _fold_call(node: jn.Call, f: Any, n: Any) -> Folded:
    if node.dyn_args or node.dyn_kwargs:
        return None
    args = [f(a) for a in node.args]
    if any(a is None for a in args):
        return None
    if isinstance(node.node, n.Name) and node.node.name == "dict" and not args:
        return {k.key: f(k.value) for k in node.kwargs}
    if node.kwargs:
        return None
    if isinstance(node.node, n.Name) and node.node.name == "chr" and len(args) == 1 \
            and isinstance(args[0], int) and 0 <= args[0] < 0x110000:
        return chr(args[0])
    if not isinstance(node.node, n.Getattr):
        return None
    base, method = f(node.node.node), node.node.attr
    if isinstance(base, dict):
        return _dict_method(base, method, args)
    if not isinstance(base, str):
        return None
    return _str_method(base, method, args)


def _dict_method(base: dict[str, Any], method: str, args: list[Any]) -> Folded:
    if method == "keys" and not args:
        return list(base)
    if method == "values" and not args and all(v is not None for v in base.values()):
        return list(base.values())
    if method in ("get", "pop") and len(args) == 1 and isinstance(args[0], str):
        return base.get(args[0])
    return None


def _str_method(base: str, method: str, args: list[Any]) -> Folded:
    strs = all(isinstance(a, str) for a in args)
    if method == "join" and len(args) == 1 and (items := items_of(args[0])) is not None:
        return base.join(_jinja_str(x) for x in items)
    if method == "replace" and len(args) in (2, 3) and all(isinstance(a, str) for a in args[:2]) \
            and (len(args) == 2 or isinstance(args[2], int)):
        return _replace(base, args[0], args[1], args[2] if len(args) == 3 else -1)
    if method in _CASES and method not in ("string", "safe") and not args:
        return _CASES[method](base)
    if method in ("strip", "lstrip", "rstrip") and len(args) <= 1 and strs:
        return str(getattr(base, method)(*args))
    if method in ("removeprefix", "removesuffix") and len(args) == 1 and strs:
        return str(getattr(base, method)(args[0]))
    if method in ("split", "rsplit") and len(args) <= 2 and (not args or isinstance(args[0], str)) \
            and (len(args) < 2 or isinstance(args[1], int)):
        return list(getattr(base, method)(*args))
    if method == "format" and re.fullmatch(r"(?:[^{}]|\{\d*\}|\{\{|\}\})*", base):
        return base.format(*[_jinja_str(a) for a in args])
    return None


_OPS = {"eq": "==", "ne": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<=", "in": "in",
        "notin": "not in"}


def text(node: jn.Node | None, depth: int = 0) -> str:
    """Source-like text of an expression, for evidence (a printer, not a renderer)."""
    from jinja2 import nodes as n

    if node is None:
        return ""
    if depth > 40:
        return "…"

    def t(x: jn.Node | None) -> str:
        return text(x, depth + 1)

    if isinstance(node, n.Name):
        return node.name
    if isinstance(node, n.Const | n.TemplateData):
        v = node.data if isinstance(node, n.TemplateData) else node.value
        r = repr(v)
        return r if len(r) <= 80 else r[:77] + "…'"
    if isinstance(node, n.Getattr):
        return f"{t(node.node)}.{node.attr}"
    if isinstance(node, n.Getitem):
        return f"{t(node.node)}[{t(node.arg)}]"
    if isinstance(node, n.Slice):
        return f"{t(node.start)}:{t(node.stop)}" + (f":{t(node.step)}" if node.step else "")
    if isinstance(node, n.Call | n.Filter | n.Test):
        args = [t(a) for a in node.args] + [f"{k.key}={t(k.value)}" for k in node.kwargs]
        args += [f"*{t(node.dyn_args)}"] if node.dyn_args else []
        args += [f"**{t(node.dyn_kwargs)}"] if node.dyn_kwargs else []
        inner = ", ".join(args)
        if isinstance(node, n.Call):
            return f"{t(node.node)}({inner})"
        sep = "|" if isinstance(node, n.Filter) else " is "
        return f"{t(node.node)}{sep}{node.name}" + (f"({inner})" if inner else "")
    if isinstance(node, n.Concat):
        return " ~ ".join(t(x) for x in node.nodes)
    if isinstance(node, n.BinExpr):
        return f"{t(node.left)} {node.operator} {t(node.right)}"
    if isinstance(node, n.UnaryExpr):
        op = "not " if isinstance(node, n.Not) else node.operator
        return f"{op}{t(node.node)}"
    if isinstance(node, n.Compare):
        return t(node.expr) + "".join(f" {_OPS.get(o.op, o.op)} {t(o.expr)}" for o in node.ops)
    if isinstance(node, n.List | n.Tuple):
        inner = ", ".join(t(x) for x in node.items)
        return f"[{inner}]" if isinstance(node, n.List) else f"({inner})"
    if isinstance(node, n.Dict):
        return "{" + ", ".join(f"{t(p.key)}: {t(p.value)}" for p in node.items) + "}"
    if isinstance(node, n.CondExpr):
        return f"{t(node.expr1)} if {t(node.test)} else {t(node.expr2)}"
    if isinstance(node, n.NSRef):
        return f"{node.name}.{node.attr}"
    return type(node).__name__


def clip(text: str) -> str:
    """Evidence text cut to twice :data:`TEXT_MAX` (an access chain plus its context)."""
    return text if len(text) <= 2 * TEXT_MAX else text[: 2 * TEXT_MAX - 1] + "…"


def fold_block(body: list[jn.Node], filt: jn.Filter | None, consts: Consts) -> Folded:
    """The string a ``{% set x %}...{% endset %}`` block assigns, when made of literals."""
    from jinja2 import nodes as n

    parts: list[str] = []
    for node in body:
        if not isinstance(node, n.Output):
            return None
        for x in node.nodes:
            v = x.data if isinstance(x, n.TemplateData) else fold(x, consts)
            if not isinstance(v, str | int):
                return None
            parts.append(str(v))
            if sum(map(len, parts)) > _FOLD_MAX:
                return None
    value: Folded = "".join(parts)
    filters: list[jn.Filter] = []
    while isinstance(filt, n.Filter) and len(filters) < 40:
        filters.append(filt)
        filt = filt.node  # type: ignore[assignment]
    for fl in reversed(filters):
        if fl.dyn_args or fl.dyn_kwargs:
            return None
        kwargs = {str(k.key): fold(k.value, consts) for k in fl.kwargs}
        try:
            value = _fold_filter(fl.name, value, [fold(a, consts) for a in fl.args], kwargs)
        except (ValueError, TypeError, IndexError, KeyError, OverflowError):
            return None
    return value
