"""Code a Keras config makes Keras run: ``Lambda`` functions and bytecode hidden in strings.

A ``Lambda`` layer carries marshalled bytecode that runs on load (CVE-2024-3660,
CVE-2025-9905), Python source, or the name of a function. Function strings are decoded
the lenient way Keras decodes them (junk characters skipped, raw marshal text accepted)
and the bytecode is read by :mod:`._marshal`, never unmarshalled. Kept apart from the
config walk because it is the one part that reads code rather than names.
"""

from __future__ import annotations

import base64
import binascii
import re

from modeltrust._scanners import _marshal
from modeltrust._scanners.keras_names import dangerous, is_keras_module
from modeltrust._scanners.keras_rules import (
    FOREIGN_MODULE,
    LAMBDA_BYTECODE,
    LAMBDA_NAMED,
    LAMBDA_SOURCE,
    Walk,
)
from modeltrust.findings import Severity

_B64 = re.compile(rb"^[A-Za-z0-9+/=\r\n]+$")
MAX_BLOB = 64 * 1024 * 1024
"""Longest string decoded as base64 or bytecode (and parsed as nested JSON)."""
_FN_KEYS = ("function", "output_shape", "mask")
"""Lambda fields Keras turns into functions (``<key>_type`` says how, in Keras 2)."""


def check_lambda(walk: Walk, cfg: dict[object, object], path: str, cls: str) -> None:
    """A ``Lambda`` (or Keras 3 ``__lambda__``) config: each field Keras turns into code."""
    name = str(cfg.get("name", "?"))
    if cls == "__lambda__":
        key = "code" if "code" in cfg else "value"
        _check_function(walk, cfg.get(key), f"{path}.config.{key}", name)
        return
    for key in _FN_KEYS:
        fn = cfg.get(key)
        kind = cfg.get(f"{key}_type")
        where = f"{path}.config.{key}"
        if fn is None or isinstance(fn, dict):
            if key == "function" and isinstance(fn, dict) and fn.get("class_name") != (
                    "__lambda__"):
                walk.report(LAMBDA_NAMED, where, f"Lambda {name!r} calls "
                            f"{fn.get('module', '')}.{fn.get('config', fn.get('class_name'))}")
            continue
        if kind == "function" and isinstance(fn, str):
            _named_function(walk, cfg, key, where, name)
        elif kind == "raw" and key == "function" and isinstance(fn, str):
            _report_source(walk, where, name, fn)
        elif kind == "lambda" or (key == "function" and kind is None):
            _check_function(walk, fn, where, name)


def _named_function(walk: Walk, cfg: dict[object, object], key: str, where: str,
                    name: str) -> None:
    fn = cfg[key]
    mod = cfg.get("module" if key == "function" else f"{key}_module")
    walk.report(LAMBDA_NAMED, where, f"Lambda {name!r} calls {mod}.{fn}")
    if isinstance(mod, str) and mod and not is_keras_module(mod):
        sev = Severity.CRITICAL if dangerous(mod, [str(fn)]) else None
        walk.report(FOREIGN_MODULE, where, f"Lambda function module {mod!r} -> {mod}.{fn}",
                    sev)


def _check_function(walk: Walk, fn: object, where: str, name: str) -> None:
    """A value Keras hands to ``func_load``: decoded the way Keras decodes it."""
    if isinstance(fn, list | tuple) and fn:
        fn, where = fn[0], f"{where}[0]"
    if isinstance(fn, str):
        raw = _marshal.function_bytes(fn) if len(fn) <= MAX_BLOB else b""
        if _marshal.looks_like_code(raw):
            report_code(walk, raw, where)
        else:
            _report_source(walk, where, name, fn)
    elif fn is not None:
        walk.report(LAMBDA_SOURCE, where, f"Lambda {name!r} function is a "
                    f"{type(fn).__name__}, not readable code")


def report_code(walk: Walk, raw: bytes, path: str) -> None:
    """Report marshalled code with the names and constants read from it."""
    try:
        info = _marshal.read_code(raw)
    except _marshal.MarshalError as exc:
        walk.report(LAMBDA_BYTECODE, path, f"{len(raw)} bytes of marshalled code that "
                    f"this reader cannot decode ({exc})")
        return
    walk.report(LAMBDA_BYTECODE, path, f"marshalled code ({info.layout}): "
                f"{info.describe()}; dangerous={info.dangerous()}")


def _report_source(walk: Walk, where: str, name: str, fn: str) -> None:
    try:
        info = _marshal.read_source(fn)
    except _marshal.MarshalError as exc:
        walk.report(LAMBDA_SOURCE, where, f"Lambda {name!r} function {fn[:80]!r} is neither "
                    f"bytecode nor Python source ({exc})")
        return
    bad = info.dangerous()
    sev = Severity.CRITICAL if bad else None
    walk.report(LAMBDA_SOURCE, where, f"Lambda {name!r} Python source {fn[:120]!r}: "
                f"{info.describe()}; dangerous={bad}", sev)


def _decode_b64(text: str) -> bytes | None:
    """Bytes of a strict base64 string that decodes to a marshal code object, else None."""
    if len(text) < 24 or text.lstrip()[:1] not in ("4", "Y") or len(text) > MAX_BLOB:
        return None
    raw = b64(text)
    return raw if raw is not None and _marshal.looks_like_code(raw) else None


def _hidden_code(text: str) -> bytes | None:
    """Bytecode that Keras' lenient decoding would find in a string that is not clean base64.

    Only a string that reads as a whole code object counts, so that ordinary text never
    becomes a finding.
    """
    if len(text) < 24 or len(text) > MAX_BLOB:
        return None
    raw = _marshal.function_bytes(text)
    if not _marshal.looks_like_code(raw):
        return None
    try:
        _marshal.read_code(raw, max_objects=20_000)
    except _marshal.MarshalError:
        return None
    return raw


def b64(text: str) -> bytes | None:
    """Bytes of a strict base64 string (line breaks allowed), else None."""
    data = text.strip().encode("ascii", "replace")
    if not _B64.match(data):
        return None
    try:
        return base64.b64decode(data.replace(b"\n", b"").replace(b"\r", b""), validate=True)
    except (binascii.Error, ValueError):
        return None


def code_in_string(text: str) -> bytes | None:
    """Bytecode in any config string: clean base64 or what Keras' lenient decoding finds."""
    return _decode_b64(text) or _hidden_code(text)
