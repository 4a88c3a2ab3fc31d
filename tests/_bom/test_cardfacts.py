"""Card quotes for BOMs: plain prose from Markdown, bounded metrics, implied modalities."""

from __future__ import annotations

from typing import Any

import pytest

from modeltrust._assess.card import Card, find_sections
from modeltrust._bom.cardfacts import (
    MAX_QUOTE,
    considerations,
    metrics,
    modalities,
    plain,
    title_and_description,
)


def card(body: str, meta: dict[str, Any] | None = None) -> Card:
    return Card(rel="README.md", meta=meta or {}, meta_ok=True, body=body,
                sections=find_sections(body))


def test_plain_drops_code_images_html_and_tables_rules() -> None:
    text = plain("See [docs](http://x).\n```py\nimport os\n```\n![img](a.png) <b>bold</b>\n"
                 "| a | b |\n|---|:-:|\n| 1 | 2 |\n")
    assert text == "See docs. bold a; b. 1; 2."
    assert len(plain("word " * 2000)) == MAX_QUOTE


def test_title_and_first_paragraph_only() -> None:
    title, desc = title_and_description(card("# My Model\n\nIt does things.\nWell.\n\n"
                                             "## Usage\nrun it\n"))
    assert (title, desc) == ("My Model", "It does things. Well.")
    assert title_and_description(card("# T\n## Uses\ntext\n")) == ("T", None)
    assert title_and_description(card("")) == (None, None)


def test_considerations_quote_their_heading() -> None:
    cons = considerations(card("# M\n## Limitations\nIt fails on long inputs.\n"
                               "## Environmental impact\n3 kg CO2eq.\n"))
    assert cons.technical_limitations == ("Limitations: It fails on long inputs.",)
    assert cons.environmental == ("Environmental impact: 3 kg CO2eq.",)
    assert cons.use_cases == () and not considerations(card("# M\n")).use_cases


@pytest.mark.parametrize("index", [
    None, "text", [1, "x", None], [{"results": "bad"}], [{"results": [{"metrics": [
        {"type": "acc", "value": {"nested": 1}}, {"value": 3}, "junk"]}]}],
])
def test_malformed_model_index_gives_no_metric(index: object) -> None:
    assert metrics({"model-index": index}) == ()


def test_metrics_are_bounded_and_sorted() -> None:
    results = [{"dataset": {"name": f"d{i}"}, "metrics": [{"type": "acc", "value": i}]}
               for i in range(500)]
    found = metrics({"model-index": [{"results": results}]})
    assert len(found) == 200 and list(found) == sorted(found)


def test_modalities() -> None:
    assert modalities("text-generation") == (("text",), ("text",))
    assert modalities("sentence-similarity") == (("text",), ("embedding",))
    assert modalities(None) == modalities("unheard-of") == ((), ())
