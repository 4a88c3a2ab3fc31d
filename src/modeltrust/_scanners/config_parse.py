"""Config bytes to documents: JSON as ``json.loads`` decodes it, YAML with ``safe_load`` only.

Also the two byte-level checks made before parsing: ``!!python`` tags (honoured only by
unsafe YAML loaders) and text that is really a protocol-0 pickle.
"""

from __future__ import annotations

import importlib
import json
import pickletools
import re
import reprlib
import struct
from typing import Any

from modeltrust._scanners.config_rules import PYTHON_TAG
from modeltrust._scanners.interface import ScanContext
from modeltrust._source.interface import Buffer
from modeltrust.findings import Location
from modeltrust.rules import finding

_GLOBAL_ARG = re.compile(r"[A-Za-z_][\w.]* [A-Za-z_][\w.]*")
_PY_TAG = re.compile(r"!!python/[\w/:.-]*|tag:yaml\.org,2002:python/[\w/:.-]*")


def python_tags(data: Buffer, path: str, ctx: ScanContext) -> None:
    """Report ``!!python/...`` tags, which only unsafe YAML loaders honour."""
    text = bytes(data).decode("utf-8", "replace")
    for n, m in enumerate(_PY_TAG.finditer(text)):
        if n >= 5:
            break
        line = text.count("\n", 0, m.start()) + 1
        snippet = text[m.start() : m.end() + 60].split("\n", 1)[0]
        ctx.report(finding(PYTHON_TAG, path, snippet, Location(line=line)))


def starts_like_pickle(data: Buffer) -> bool:
    """True when the bytes open with protocol-0 pickle opcodes naming an importable global."""
    if bytes(data[:1]) not in (b"c", b"i", b"(", b"}", b"]"):
        return False
    try:
        for count, (op, arg, _pos) in enumerate(pickletools.genops(bytes(data[:4096]))):
            if op.name in ("GLOBAL", "INST") and _GLOBAL_ARG.fullmatch(str(arg)):
                return True
            if count >= 16:
                break
    except (ValueError, struct.error):
        pass
    return False


def loads_tracking(text: str | bytes) -> tuple[Any, list[str], list[object]]:
    """``json.loads`` that also returns the duplicate keys and the values they shadow.

    Loaders keep the last of duplicate keys, other readers the first: both values are
    checked. Raises what ``json.loads`` raises.
    """
    duplicates: list[str] = []
    shadowed: list[object] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                duplicates.append(key)
                shadowed.append(out[key])
            out[key] = value
        return out

    return json.loads(text, object_pairs_hook=pairs), duplicates, shadowed


def load_json(data: Buffer) -> tuple[object, list[str], list[object]] | str:
    """``(document, duplicate keys, shadowed values)`` or the reason the bytes are not JSON.

    Decoded as ``json.loads(bytes)`` decodes (what Keras calls): UTF-8, UTF-16 or UTF-32,
    with or without a BOM, lone surrogates passed through.
    """
    raw = bytes(data)
    encoding = json.detect_encoding(raw)
    try:
        text = raw.decode(encoding, "surrogatepass")
    except UnicodeDecodeError as exc:
        return f"not {encoding.upper()} at byte {exc.start}"
    try:
        return loads_tracking(text)
    except json.JSONDecodeError as exc:
        cut = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        where = "truncated" if cut else "invalid"
        return f"{where} JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return "nesting too deep for the JSON parser"
    except ValueError as exc:
        return f"invalid JSON: {exc}"[:200]


def load_yaml(data: Buffer) -> tuple[object, list[str], list[object]] | str:
    try:
        yaml: Any = importlib.import_module("yaml")
    except ImportError:
        return "pyyaml missing"
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 at byte {exc.start}"
    try:
        return yaml.safe_load(text), [], []
    except yaml.YAMLError as exc:
        return f"invalid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    except RecursionError:
        return "nesting too deep for the YAML parser"
    except (ValueError, TypeError, OverflowError) as exc:
        return f"invalid YAML: {type(exc).__name__}: {exc}"[:200]


def dump(value: object, limit: int) -> str:
    """``value`` as JSON text for evidence, cut at ``limit``; never raises.

    YAML documents hold dates, bytes, non-string keys and self-referencing lists, which
    ``json.dumps`` refuses: those are shown with ``repr`` (bounded) instead.
    """
    try:
        return json.dumps(value, default=str)[:limit]
    except (TypeError, ValueError, RecursionError):
        shorten = reprlib.Repr()
        shorten.maxstring = shorten.maxother = limit
        return shorten.repr(value)[:limit]
