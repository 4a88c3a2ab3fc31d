"""Bounded YAML and JSON loading for card metadata: plain data out, findings-ready errors.

``yaml.safe_load`` builds only plain Python values (no tags that construct objects), but
a hostile document can still be deep (recursion), use aliases to fan out (billion laughs)
or hold values the constructor rejects. The loaded value is copied into plain JSON-like
data under a node budget and a depth limit; anything beyond them is an error string.
"""

from __future__ import annotations

import datetime
import importlib
import json
from typing import Any

MAX_YAML_BYTES = 256 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 24

Plain = dict[str, Any]


class _Budget(Exception):
    """Raised internally when the node budget or depth limit is exceeded."""


def load_yaml_mapping(text: str) -> tuple[Plain | None, str]:
    """Parse YAML text into a plain mapping, or ``(None, reason)``."""
    if len(text.encode("utf-8", "replace")) > MAX_YAML_BYTES:
        return None, f"front matter larger than {MAX_YAML_BYTES} bytes"
    try:
        yaml: Any = importlib.import_module("yaml")
    except ImportError:
        return None, "PyYAML is not installed (install modeltrust[openness])"
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, f"YAML error: {' '.join(str(exc).split())[:300]}"
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:
        return None, f"YAML value rejected: {type(exc).__name__}: {str(exc)[:200]}"
    return _mapping(value)


def load_json_mapping(data: bytes) -> tuple[Plain | None, str]:
    """Parse JSON bytes into a plain mapping, or ``(None, reason)``."""
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as exc:
        return None, f"JSON error: {str(exc)[:200]}"
    return _mapping(value)


def _mapping(value: object) -> tuple[Plain | None, str]:
    if value is None:
        return {}, ""
    if not isinstance(value, dict):
        return None, f"metadata is a {type(value).__name__}, not a mapping"
    try:
        plain = _plain(value, [0], 0)
    except _Budget as exc:
        return None, str(exc)
    assert isinstance(plain, dict)
    return plain, ""


def _plain(value: object, count: list[int], depth: int) -> Any:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise _Budget(f"metadata has more than {MAX_NODES} nodes (alias fan-out?)")
    if depth > MAX_DEPTH:
        raise _Budget(f"metadata nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {str(k): _plain(v, count, depth + 1) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        value = sorted(value, key=repr)
    if isinstance(value, list | tuple):
        return [_plain(v, count, depth + 1) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def as_str(value: object) -> str:
    """A scalar as a stripped string; lists, mappings and None become ``""``."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def as_list(value: object) -> list[str]:
    """A string or a list of scalars as a list of non-empty strings."""
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list):
        return [s for s in (as_str(v) for v in value) if s]
    return []
