"""Folding literal string-building in Jinja expressions (no rendering) and printing nodes."""

from __future__ import annotations

import pytest

from modeltrust._scanners.jinja_expr import (
    TEXT_MAX,
    builds_string,
    clip,
    fold,
    fold_block,
    is_internal,
    pick,
    rank,
    text,
)

jinja2 = pytest.importorskip("jinja2")


def expr(source: str) -> object:
    return jinja2.Environment().parse("{{ " + source + " }}").body[0].nodes[0]


@pytest.mark.parametrize(("source", "value"), [
    ("'__cla' ~ 'ss__'", "__class__"),
    ("'__%s__' % 'globals'", "__globals__"),
    ("'{}{}'.format('__in', 'it__')", "__init__"),
    ("['__', 'mro', '__'] | join", "__mro__"),
    ("'_' * 2 ~ 'base' ~ '_' * 2", "__base__"),
])
def test_literal_names_are_folded(source: str, value: str) -> None:
    node = expr(source)
    assert fold(node, {}) == value  # type: ignore[arg-type]
    assert builds_string(node)  # type: ignore[arg-type]


def test_folding_is_bounded_and_needs_literals() -> None:
    assert fold(expr("'_' * 100000000"), {}) is None  # type: ignore[arg-type]
    assert fold(expr("user ~ '__'"), {}) is None  # type: ignore[arg-type]
    assert fold(expr("x"), {"x": "__class__"}) == "__class__"  # type: ignore[arg-type]


def test_text_prints_the_expression_and_clip_bounds_it() -> None:
    assert "__class__" in text(expr("foo.__class__"))  # type: ignore[arg-type]
    assert len(clip("x" * 10_000)) == 2 * TEXT_MAX


@pytest.mark.parametrize(("source", "value"), [
    ("'xx__class__xx'|trim('x')", "__class__"),
    ("['', 'class', '']|join(d='__')", "__class__"),
    ("'X_classX'|replace('X', '__', 1)", "___classX"),
    ("2 * '_' ~ 'class'", "__class"),
    ("'__CLASS__'.swapcase()", "__class__"),
    ("'a.__mro__.b'.split('.')[1]", "__mro__"),
    ("'__init__xx'.rstrip('x')", "__init__"),
    ("dict(__class__=1)|first", "__class__"),
    ("{'__class__': 1}.keys()|list|last", "__class__"),
    ("{'k': '__base__'}['k']", "__base__"),
    ("{'k': '__base__'}.k", "__base__"),
    ("'__class__' if c else 'content'", "__class__"),
    ("'ssalc__'|list|reverse|join ~ '__'", "__class__"),
    ("'__class__'|e", "__class__"),
    ("'__class__'|default('x')", "__class__"),
])
def test_folds_are_exact(source: str, value: str) -> None:
    assert fold(expr(source), {}) == value  # type: ignore[arg-type]


@pytest.mark.parametrize("source", [
    "'a'|join(attribute='x')",  # an unknown keyword: give up rather than guess
    "'<b>'|e",  # escaping changes the text
    "'a' if c else 'b'",  # harmless candidates that disagree
    "'%(x)s' % {'x': 1}",
    "'{x}'.format(x=1)",
    "'{:>99999}'.format('a')",
    "'a'|replace('a', 'b' * 4000)|replace('b', 'cc')",
    "'__class__'|center(20)",
])
def test_unknown_or_unbounded_folds_give_up(source: str) -> None:
    assert fold(expr(source), {}) is None  # type: ignore[arg-type]


def test_names_and_members_come_from_bindings() -> None:
    consts = {"ns.c": "__class__", "a": "__"}
    assert fold(expr("ns.c"), consts) == "__class__"  # type: ignore[arg-type]
    assert fold(expr("ns['c']"), consts) == "__class__"  # type: ignore[arg-type]
    assert fold(expr("a ~ 'init' ~ a"), consts) == "__init__"  # type: ignore[arg-type]


def test_rank_and_pick_prefer_the_most_suspicious() -> None:
    assert rank("__globals__") == 2 and rank("__class__") == 1 and rank("mro") == 1
    assert rank("content") == 0 and rank({"a": 1}) == 0
    assert pick(["content", "__class__", "__globals__"]) == "__globals__"
    assert pick(["a", "a"]) == "a" and pick(["a", "b"]) is None and pick(["a", None]) is None
    assert is_internal("f_globals") and not is_internal("__")


def test_set_block_folds_with_its_filters() -> None:
    body = jinja2.Environment().parse("{% set a | lower %}__CLA{{ 'SS__' }}{% endset %}").body[0]
    assert fold_block(body.body, body.filter, {}) == "__class__"
