"""Expected value types of the card metadata keys the assessments read.

Hub tooling validates these keys (a licence id is a string, ``datasets`` a list of
strings, ``model-index`` a list of mappings...). A value of another type is not a
declaration the hub would show, and reading it anyway (``license: 42`` as licence "42",
``base_model: 17`` as nothing) either invents or silently drops a claim. Each wrongly
typed value is therefore taken out of the metadata the assessments read and reported;
the card keeps it aside so that a present but unusable licence is ``unknown``, not ``none``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Checked = tuple[Any, list[str]]
"""(the value to keep, or None to drop the key; the problems found)."""

MAX_PROBLEMS = 5


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "mapping"}.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bad(where: str, value: object, expected: str) -> str:
    return f"{where}: {_kind(value)} {_show(value)} (expected {expected})"


def _text(key: str, value: object) -> Checked:
    if isinstance(value, str):
        return value, []
    return None, [_bad(key, value, "a string")]


def _texts(key: str, value: object, *, language: bool = False) -> Checked:
    """A string or a list of strings; wrongly typed items are dropped one by one."""
    if isinstance(value, str):
        return value, []
    if isinstance(value, bool) and language and not value:
        return "no", []
    if not isinstance(value, list):
        return None, [_bad(key, value, "a string or a list of strings")]
    kept: list[str] = []
    problems: list[str] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            kept.append(item)
        elif language and item is False:
            kept.append("no")  # YAML 1.1 reads the ISO 639-1 code `no` (Norwegian) as false
        else:
            problems.append(_bad(f"{key}[{i}]", item, "a string"))
    return (kept if kept or not problems else None), problems


def _languages(key: str, value: object) -> Checked:
    return _texts(key, value, language=True)


def _mapping(key: str, value: object) -> Checked:
    if isinstance(value, dict):
        return value, []
    return None, [_bad(key, value, "a mapping")]


def _mappings(key: str, value: object) -> Checked:
    if not isinstance(value, list):
        return None, [_bad(key, value, "a list of mappings")]
    kept = [item for item in value if isinstance(item, dict)]
    problems = [_bad(f"{key}[{i}]", item, "a mapping")
                for i, item in enumerate(value) if not isinstance(item, dict)]
    return (kept if kept or not problems else None), problems


def _date(key: str, value: object) -> Checked:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value, []
    return None, [_bad(key, value, "a date")]


def _flag(key: str, value: object) -> Checked:
    if isinstance(value, bool | str):
        return value, []
    return None, [_bad(key, value, "true, false, auto or manual")]


def _datasets(key: str, value: object) -> Checked:
    """A list of ids, or ModelScope's mapping of roles (``train``, ``evaluation``) to ids."""
    if not isinstance(value, dict):
        return _texts(key, value)
    kept: dict[str, Any] = {}
    problems: list[str] = []
    for role, ids in value.items():
        good, bad = _texts(f"{key}.{role}", ids)
        problems += bad
        if good is not None:
            kept[role] = good
    return (kept if kept or not problems else None), problems


KEY_TYPES: dict[str, Callable[[str, object], Checked]] = {
    "license": lambda k, v: _texts(k, v),
    "license_name": _text,
    "license_link": _text,
    "language": _languages,
    "tags": lambda k, v: _texts(k, v),
    "datasets": _datasets,
    "base_model": lambda k, v: _texts(k, v),
    "base_model_relation": _text,
    "pipeline_tag": _text,
    "library_name": _text,
    "model_name": _text,
    "model-index": _mappings,
    "widget": _mappings,
    "extra_gated_prompt": _text,
    "extra_gated_heading": _text,
    "extra_gated_description": _text,
    "extra_gated_button_content": _text,
    "extra_gated_fields": _mapping,
    "gated": _flag,
    "contact": lambda k, v: _texts(k, v),
    "model_creator": _text,
    "author": _text,
    "organization": _text,
    "publisher": _text,
    "date": _date,
    "release_date": _date,
    "released": _date,
    "last_updated": _date,
    "tasks": lambda k, v: _texts(k, v),
    "frameworks": lambda k, v: _texts(k, v),
}
"""Key -> check. The Hugging Face keys read for licence, data, lineage, accountability and
the BOM, plus ModelScope's ``tasks`` and ``frameworks``. Other keys are not read, so not
checked. ``null`` (an empty key) is the same as an absent key and never a problem."""


def check_types(meta: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Split metadata into (well-typed metadata, malformed raw values, problems).

    A list with some wrongly typed items keeps its good items (and is reported); a key
    whose value is wholly of the wrong type is moved to the malformed mapping.
    """
    clean: dict[str, Any] = {}
    malformed: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in meta.items():
        check = KEY_TYPES.get(key)
        if check is None or value is None:
            clean[key] = value
            continue
        kept, found = check(key, value)
        if found:
            malformed[key] = value
            problems += found[:MAX_PROBLEMS]
            if len(found) > MAX_PROBLEMS:
                problems.append(f"{key}: {len(found) - MAX_PROBLEMS} more")
        if kept is not None:
            clean[key] = kept
    return clean, malformed, problems
