"""Jinja expressions without rendering: fold literal string-building, print nodes as text.

A template can hide a name such as ``__class__`` by building it (``'__cla' ~ 'ss__'``,
``chr(95)``, ``'%s' % ...``); :func:`fold` evaluates such expressions when they are made only
of literals, with bounds on depth and size, so the chat-template scanner grades what an
access chain really reaches. :func:`text` prints a node back as template source for evidence.
Nothing here renders or executes a template.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import nodes as jn

_FOLD_MAX = 4096
"""Longest string a fold may build (``'_' * 10**9`` stays unfolded)."""
TEXT_MAX = 240
"""Characters of template text quoted as evidence."""
_STRING_FILTERS = frozenset({"join", "format", "replace", "string", "reverse", "lower", "upper",
                             "title", "capitalize", "trim", "center", "first", "last", "list"})
_STRING_METHODS = frozenset({"join", "format", "replace", "lower", "upper", "strip", "lstrip",
                             "rstrip", "decode", "encode", "title", "capitalize", "swapcase"})


def builds_string(node: jn.Node) -> bool:
    """True when ``node`` computes a string from pieces (a hidden name, if used as a key)."""
    from jinja2 import nodes as n

    if isinstance(node, n.Concat | n.Mod):
        return True
    if isinstance(node, n.Add):
        return any(isinstance(s, n.Const) and isinstance(s.value, str) or builds_string(s)
                   for s in (node.left, node.right))
    if isinstance(node, n.Filter):
        return node.name in _STRING_FILTERS
    if isinstance(node, n.Call):
        f = node.node
        return (isinstance(f, n.Getattr) and f.attr in _STRING_METHODS) or (
            isinstance(f, n.Name) and f.name in ("chr", "str"))
    if isinstance(node, n.Getitem):
        return isinstance(node.arg, n.Slice)
    return False


Folded = str | int | list[Any] | None


def fold(node: jn.Node | None, consts: dict[str, str | None], depth: int = 0) -> Folded:
    """Evaluate string-building expressions made only of literals (bounded, no rendering)."""
    from jinja2 import nodes as n

    if node is None or depth > 40:
        return None
    try:
        value = _fold_node(node, consts, depth + 1, n)
    except (ValueError, TypeError, IndexError, KeyError, OverflowError):
        return None
    if isinstance(value, str) and len(value) > _FOLD_MAX:
        return None
    if isinstance(value, list) and len(value) > _FOLD_MAX:
        return None
    return value


def _fold_node(node: jn.Node, consts: dict[str, str | None], d: int, n: Any) -> Folded:
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
    if isinstance(node, n.Concat):
        parts = [f(x) for x in node.nodes]
        return None if any(p is None for p in parts) else "".join(str(p) for p in parts)
    if isinstance(node, n.Neg | n.Pos):
        v = f(node.node)
        return (-v if isinstance(node, n.Neg) else v) if isinstance(v, int) else None
    if isinstance(node, n.BinExpr):
        return _fold_binary(node.operator, f(node.left), f(node.right))
    if isinstance(node, n.Filter) and node.node is not None:
        return _fold_filter(node.name, f(node.node), [f(a) for a in node.args])
    if isinstance(node, n.Call):
        return _fold_call(node, f, n)
    if isinstance(node, n.Getitem):
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
        idx = f(node.arg)
        return base[idx] if isinstance(idx, int) else None
    return None


def _fold_binary(op: str, a: Folded, b: Folded) -> Folded:
    if a is None or b is None:
        return None
    if op == "+" and type(a) is type(b) and isinstance(a, str | int):
        return a + b  # type: ignore[operator]
    if op == "~":
        return f"{a}{b}"
    if isinstance(a, int) and isinstance(b, int) and op in ("-", "*", "//", "%") \
            and abs(a) < 1 << 32 and abs(b) < 1 << 32:
        return {"-": a - b, "*": a * b, "//": a // b if b else 0, "%": a % b if b else 0}[op]
    if op == "*" and isinstance(a, str) and isinstance(b, int):
        return a * b if 0 <= len(a) * b <= _FOLD_MAX else None
    if op == "%" and isinstance(a, str) and re.fullmatch(r"(?:[^%]|%[sdc%])*", a):
        return a % (tuple(b) if isinstance(b, list) else b)
    return None


def _fold_filter(name: str, base: Folded, args: list[Folded]) -> Folded:
    if base is None or any(a is None for a in args):
        return None
    if name == "join" and isinstance(base, list):
        sep = args[0] if args else ""
        return str(sep).join(str(x) for x in base)
    if name in ("string", "lower", "upper", "trim", "title", "capitalize"):
        s = str(base)
        return {"string": s, "lower": s.lower(), "upper": s.upper(), "trim": s.strip(),
                "title": s.title(), "capitalize": s.capitalize()}[name]
    if name == "reverse" and isinstance(base, str | list):
        return base[::-1]
    if name == "replace" and isinstance(base, str) and len(args) >= 2:
        out = base.replace(str(args[0]), str(args[1]))
        return out if len(out) <= _FOLD_MAX else None
    if name == "format" and isinstance(base, str):
        return _fold_binary("%", base, list(args))
    if name in ("first", "last") and isinstance(base, str | list) and base:
        return base[0] if name == "first" else base[-1]
    if name == "list" and isinstance(base, str):
        return list(base)
    return None


def _fold_call(node: jn.Call, f: Any, n: Any) -> Folded:
    args = [f(a) for a in node.args]
    if any(a is None for a in args) or node.kwargs:
        return None
    if isinstance(node.node, n.Name) and node.node.name == "chr" and len(args) == 1 \
            and isinstance(args[0], int) and 0 <= args[0] < 0x110000:
        return chr(args[0])
    if not isinstance(node.node, n.Getattr):
        return None
    base, method = f(node.node.node), node.node.attr
    if not isinstance(base, str):
        return None
    if method == "join" and len(args) == 1 and isinstance(args[0], list):
        return base.join(str(x) for x in args[0])
    if method == "replace" and len(args) == 2:
        out = base.replace(str(args[0]), str(args[1]))
        return out if len(out) <= _FOLD_MAX else None
    if method in ("lower", "upper", "strip", "title", "capitalize") and not args:
        return str(getattr(str, method)(base))
    if method == "format" and re.fullmatch(r"(?:[^{}]|\{\d*\}|\{\{|\}\})*", base):
        return base.format(*[str(a) for a in args])
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
    return type(node).__name__


def clip(text: str) -> str:
    """Evidence text cut to twice :data:`TEXT_MAX` (an access chain plus its context)."""
    return text if len(text) <= 2 * TEXT_MAX else text[: 2 * TEXT_MAX - 1] + "…"
