"""Folding literal string-building in Jinja expressions (no rendering) and printing nodes."""

from __future__ import annotations

import pytest

from modeltrust._scanners.jinja_expr import TEXT_MAX, builds_string, clip, fold, text

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
