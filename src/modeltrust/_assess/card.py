"""The model card: README.md YAML front matter, body sections, ModelScope configuration.

The front matter is read with ``yaml.safe_load`` on a bounded string and copied into
plain data (see :mod:`.yamlsafe`). Sections are found by heading first and by content
second, skipping code blocks (whose ``#`` lines are comments, not headings). The body's
structure (ATX and setext headings, fenced and indented code, line ranges) comes from
markdown-it-py's CommonMark block parser, not from home-made regular expressions.
Nothing here raises on bad input: problems become findings on the card.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from modeltrust._assess import rules
from modeltrust._assess.cardtypes import check_types
from modeltrust._assess.snapshot import Snapshot
from modeltrust._assess.yamlsafe import as_list, as_str, load_json_mapping, load_yaml_mapping
from modeltrust.findings import Finding, Location
from modeltrust.rules import finding

SECTION_KINDS: dict[str, str] = {
    "intended_use": r"intended|^(?!.*\bhow to\b).*\buses?\b|direct use|downstream use|"
                    r"use cases?|applications?|purpose|使用方式|适用范围|用途|使用场景",
    "limitations": r"limitation|out[- ]of[- ]scope|caveat|shortcoming|known (issues|failure)|"
                   r"misuse|not (suitable|intended)|局限|限制",
    "training_data": r"training (data|details|corpus|set|mixture)|"
                     r"train(ing)? (set|corpus|datasets?)|pre-?training data|"
                     r"^(?!.*\b(test|testing|eval\w*|validation|benchmark)\b).*(\bdatasets?\b|\bdata\b)|训练数据",
    "evaluation": r"evaluat|results|benchmark|performance|metrics|testing|评估|评测|测试|结果",
    "bias_risks": r"bias|risk|ethic|safety|harm|fairness|responsible ai|偏差|偏见|风险|安全",
    "environmental_impact": r"environment|carbon|co2|emission|energy|compute infrastructure|"
                            r"碳排放|环境",
    "contact": r"contact|\bsupport\b|feedback|questions|maintainer|get in touch|联系",
    "licence": r"licen[cs]e|terms of use|许可|协议",
}
"""Section kind -> regular expression matched against headings (case-insensitive).

Chinese keywords are the headings of ModelScope's card template (期望模型使用方式以及适用范围,
模型局限性以及可能的偏差, 训练数据介绍, 数据评估及结果 ...).
"""

EXPECTED_SECTIONS = ("intended_use", "limitations", "training_data", "evaluation",
                     "bias_risks", "environmental_impact", "contact")
"""The sections a complete model card has (a finding lists the missing ones)."""

CONTENT_HINTS: dict[str, str] = {
    "intended_use": r"\b(is|are) (primarily |mainly )?intended (to be used )?(for|as|to)\b|"
                    r"\bintended uses?\b|\bdesigned (for|to be used)\b",
    "training_data": r"\b(trained|pre-?trained|fine-?tuned) (it )?(on|with|using)\b.{0,80}"
                     r"\b(data|dataset|corpus|corpora|tokens|examples|pairs|sentences|texts?)\b",
    "evaluation": r"\b(evaluated|benchmarked|tested) (it )?(on|against|with)\b|"
                  r"\b(achieves?|scores?|reaches)\b.{0,60}\b(accuracy|f1|bleu|rouge|exact match|"
                  r"pass@\d|perplexity)",
    "environmental_impact": r"carbon (emissions|footprint)|co2(eq| eq|e)? (emitted|emissions)|"
                            r"kg ?co2|tco2|gpu[- ]hours",
    "contact": r"[\w.+-]+@[\w-]+\.[\w.]+|please contact|reach out to|open an issue",
    "bias_risks": r"\bbias(es|ed)?\b.{0,80}\b(model|output)|\b(model|output)s?\b.{0,80}"
                  r"\b(biased|stereotyp\w*|harmful|toxic|offensive)\b",
    "limitations": r"\bthe model (may|can|might|does) (produce|generate|not|fail|hallucinate)|"
                   r"\bshould not be used (for|to|in)\b|\bnot suitable for\b",
}
"""Section kind -> body text pattern that counts when no heading matched."""

_KIND_RES = {k: re.compile(p, re.IGNORECASE) for k, p in SECTION_KINDS.items()}
_HINT_RES = {k: re.compile(p, re.IGNORECASE) for k, p in CONTENT_HINTS.items()}
_HTML_HEADING = re.compile(r"^\s*<h([1-6])\b[^>]{0,200}>(.{1,200}?)</h\1>", re.IGNORECASE)
_RAW_HTML = re.compile(r"\s*<(pre|script|style|textarea)\b", re.IGNORECASE)
_BOLD_LINE = re.compile(r"(\*\*|__).{2,80}?\1:?")
_TAGS = re.compile(r"<[^>]{0,200}>|[*_`]+")
_FRONT_END = re.compile(r"^(---|\.\.\.)\s*$", re.MULTILINE)
MODELSCOPE_TASKS = {
    "auto-speech-recognition": "automatic-speech-recognition",
    "text-to-image-synthesis": "text-to-image",
    "image-captioning": "image-to-text",
    "sentence-embedding": "sentence-similarity",
    "image-object-detection": "object-detection",
    "chat": "text-generation",
}
"""ModelScope task names that differ from the Hugging Face pipeline tag for the same task
(others, such as ``text-generation``, are the same on both hubs)."""


@dataclass(frozen=True)
class Section:
    """One documented topic: its kind, heading (or the matching line) and where it is."""

    kind: str
    heading: str
    line: int
    words: int
    by: str = "heading"

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"kind": self.kind, "heading": self.heading, "line": self.line,
                "words": self.words, "found_by": self.by}


@dataclass
class Card:
    """What the card says: metadata, body and sections, plus the problems found reading it."""

    rel: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    meta_ok: bool = False
    body: str = ""
    body_line: int = 1
    sections: list[Section] = field(default_factory=list)
    modelscope: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    malformed: dict[str, Any] = field(default_factory=dict)
    """Keys whose values have the wrong type (MT-CARD-002), removed from ``meta``."""

    @property
    def pipeline_tag(self) -> str | None:
        """The task: ``pipeline_tag``, else ModelScope's ``tasks`` or ``configuration.json``."""
        tag = as_str(self.meta.get("pipeline_tag"))
        tag = tag or next(iter(as_list(self.meta.get("tasks"))), "")
        tag = tag or _string(self.modelscope.get("task"))
        tag = tag.lower()[:100]
        return MODELSCOPE_TASKS.get(tag, tag) or None

    @property
    def library_name(self) -> str | None:
        """``library_name``, else ModelScope's ``frameworks`` or ``configuration.json``."""
        name = as_str(self.meta.get("library_name"))
        name = name or next(iter(as_list(self.meta.get("frameworks"))), "")
        name = name or _string(self.modelscope.get("framework"))
        return name.lower()[:100] or None

    def section(self, kind: str) -> Section | None:
        """The first section of a kind, if any."""
        return next((s for s in self.sections if s.kind == kind), None)

    def section_text(self, kind: str, limit: int = 20_000) -> str:
        """The text under the first heading of ``kind``, subsections included."""
        sec = self.section(kind)
        return self.text_of(sec)[:limit] if sec is not None else ""

    def text_of(self, sec: Section) -> str:
        """The text under a heading section, up to the next heading of its level or higher."""
        span = self.span_of(sec)
        return "\n".join(self.body.splitlines()[span[0]:span[1]]) if span else ""

    def span_of(self, sec: Section) -> tuple[int, int] | None:
        """Body line range ``[start, end)`` under a heading section (heading line excluded)."""
        if sec.by != "heading":
            return None
        layout = headings(self.body)
        first = sec.line - self.body_line
        n = next((k for k, (i, _, _) in enumerate(layout) if i == first), None)
        if n is None:
            return None
        return first + 1, section_end(layout, n, len(self.body.splitlines()))

    def section_ranges(self, kind: str) -> list[tuple[int, int]]:
        """Body line ranges under every heading of ``kind`` (subsections included)."""
        spans = (self.span_of(s) for s in self.sections if s.kind == kind)
        return [span for span in spans if span is not None]


def _string(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def read_card(snap: Snapshot) -> Card:
    """Read README.md (any case) and ModelScope's configuration.json from the snapshot."""
    card = Card()
    readmes = snap.find("README.md", "README.markdown", "README")
    if readmes:
        _parse_readme(snap, readmes[0], card)
    configs = snap.find("configuration.json")
    if configs:
        _parse_modelscope(snap, configs[0], card)
    if card.rel is None and not card.modelscope and snap.single is None:
        card.findings.append(finding(rules.CARD_MISSING, snap.shown,
                                     "no README.md or configuration.json at the top level"))
    return card


def _parse_readme(snap: Snapshot, rel: str, card: Card) -> None:
    text = snap.read_text(rel)
    shown = snap.path_of(rel)
    card.rel = rel
    if text.error:
        card.findings.append(finding(rules.LIC_UNREADABLE, shown, f"cannot read: {text.error}"))
        return
    if text.binary or text.truncated:
        why = "binary content (NUL bytes or invalid UTF-8)" if text.binary else (
            f"{text.size} bytes, only the first {len(text.text.encode())} analysed")
        card.findings.append(finding(rules.CARD_TRUNCATED, shown, why))
    meta_text, body, body_line = split_front_matter(text.text)
    card.body, card.body_line = body, body_line
    if meta_text is None and front_matter_unclosed(text.text):
        card.findings.append(finding(
            rules.CARD_BAD_YAML, shown, "the front matter opened by '---' on line 1 is never "
            "closed by a '---' line; the hub reads no metadata from it",
            Location(line=1, detail="YAML front matter")))
    if meta_text is not None:
        meta, error = load_yaml_mapping(meta_text)
        if meta is None:
            card.findings.append(finding(rules.CARD_BAD_YAML, shown, error,
                                         Location(line=1, detail="YAML front matter")))
        else:
            card.meta, card.malformed, problems = check_types(meta)
            card.meta_ok = True
            if problems:
                card.findings.append(finding(
                    rules.CARD_BAD_YAML, shown,
                    "wrongly typed values, ignored: " + "; ".join(problems),
                    Location(line=1, detail="YAML front matter")))
    card.sections = find_sections(body, body_line)
    missing = sorted(set(EXPECTED_SECTIONS) - {s.kind for s in card.sections})
    if missing:
        card.findings.append(finding(rules.CARD_SECTIONS, shown,
                                     "no section on: " + ", ".join(missing)))


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """Split ``---`` YAML front matter from the Markdown body; return (yaml, body, line).

    Front matter that is never closed is no front matter (the hub reads no metadata from
    it): the whole text is the body (:func:`front_matter_unclosed` tells this case apart).
    """
    stripped = text.lstrip("\ufeff")
    if not re.match(r"---[ \t]*\r?\n", stripped):
        return None, text, 1
    first_nl = stripped.index("\n") + 1
    end = _FRONT_END.search(stripped, first_nl)
    if end is None:
        return None, text, 1
    meta = stripped[first_nl:end.start()]
    rest_start = stripped.find("\n", end.start())
    body = "" if rest_start < 0 else stripped[rest_start + 1:]
    return meta, body, stripped.count("\n", 0, rest_start + 1) + 1 if rest_start >= 0 else 1


def front_matter_unclosed(text: str) -> bool:
    """True when the text opens ``---`` front matter that no ``---`` line closes."""
    stripped = text.lstrip("\ufeff")
    if not re.match(r"---[ \t]*\r?\n", stripped):
        return False
    return _FRONT_END.search(stripped, stripped.index("\n") + 1) is None


MAX_LINES = 50_000
"""Lines of the body read for headings and content hints. Real cards have hundreds of
lines; a 1 MiB card of one-character lines would otherwise make ~1M block tokens."""

_BLOCKS = MarkdownIt("commonmark", {"maxNesting": 20}).disable(["inline", "reference"])
"""Block structure only. ``maxNesting`` caps blockquote and list depth (100k ``>`` give
20 levels). Inline parsing (emphasis, links, entities: seconds on a hostile 1 MiB body)
and link reference definitions (a slow scan, irrelevant to headings) are switched off;
heading text is the raw inline source, cleaned with ``_TAGS``."""

_INLINE = MarkdownIt("commonmark")
"""Inline parser for one short candidate line (a bold-only first line of a paragraph)."""


def headings(body: str) -> list[tuple[int, int, str]]:
    """(line index, level, text) of each heading outside code: ATX, setext, HTML and bold lines.

    Line indices are those of ``body.splitlines()``. Beyond CommonMark, two conventions
    common on model cards count: ``<h1>``..``<h6>`` lines in an HTML block (at their
    level) and a paragraph outside lists whose first line is only bold text
    (``**Limitations:**``) as a level-6 heading.
    """
    return list(_layout(body)[0])


def skipped_lines(body: str) -> frozenset[int]:
    """Indices (of ``body.splitlines()``) of code and comment lines: never prose."""
    return _layout(body)[1]


@functools.lru_cache(maxsize=8)
def _layout(body: str) -> tuple[tuple[tuple[int, int, str], ...], frozenset[int]]:
    """Headings and the lines to skip for content hints (code, HTML comments), from tokens.

    The parser gets the first ``MAX_LINES`` of ``body.splitlines()`` joined by newlines, so
    its line numbers are the ``splitlines`` indices (CommonMark does not break lines at a
    form feed or U+2028). Cached: ``Card.section_text`` asks again for each section kind.
    """
    tokens = _BLOCKS.parse("\n".join(body.splitlines()[:MAX_LINES]))
    out: list[tuple[int, int, str]] = []
    code: set[int] = set()
    lists = 0
    for n, tok in enumerate(tokens):
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            lists += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            lists -= 1
        if tok.map is None:
            continue
        start, end = tok.map
        if tok.type in ("fence", "code_block"):
            code.update(range(start, end))
        elif tok.type == "heading_open":
            out.append((start, int(tok.tag[1]), _inline_text(tokens, n).replace("\n", " ")))
        elif tok.type == "html_block":
            out.extend(_html_headings(tok.content, start, code))
        elif tok.type == "paragraph_open" and not lists:
            bold = _bold_line(_inline_text(tokens, n).split("\n", 1)[0])
            if bold:
                out.append((start, 6, bold))
    cleaned = tuple((i, lv, " ".join(_TAGS.sub(" ", t).split())[:200]) for i, lv, t in out)
    return cleaned, frozenset(code)


def _inline_text(tokens: list[Token], n: int) -> str:
    """The raw source of the inline token after block token ``n`` (headings, paragraphs)."""
    nxt = tokens[n + 1] if n + 1 < len(tokens) else None
    return nxt.content if nxt is not None and nxt.type == "inline" else ""


def _html_headings(html: str, start: int, hidden: set[int]) -> list[tuple[int, int, str]]:
    """``<hN>text</hN>`` lines of an HTML block (CommonMark leaves HTML blocks opaque).

    Text inside ``<!-- -->`` comments is not rendered, so it names no heading and its lines
    join ``hidden`` (no content hints either): a card cannot claim a section in a comment.
    Raw-text blocks (``<pre>``, ``<script>``, ``<style>``, ``<textarea>``) hold no headings.
    """
    if _RAW_HTML.match(html):
        return []
    shown = _uncomment(html).split("\n")
    found = []
    for k, (orig, ln) in enumerate(zip(html.split("\n"), shown, strict=True)):
        if orig.strip() and not ln.strip():
            hidden.add(start + k)
        m = _HTML_HEADING.match(ln[:1000])
        if m:
            found.append((start + k, int(m.group(1)), m.group(2)))
    return found


def _uncomment(html: str) -> str:
    """``html`` with each ``<!-- ... -->`` (an unclosed one: to the end) blanked, newlines kept.

    A linear scan: a lazy regex would rescan the rest once for each unclosed ``<!--``.
    """
    parts: list[str] = []
    pos = 0
    while (opening := html.find("<!--", pos)) >= 0:
        closing = html.find("-->", opening + 4)
        stop = len(html) if closing < 0 else closing + 3
        parts.append(html[pos:opening])
        parts.append("\n" * html.count("\n", opening, stop))
        pos = stop
    parts.append(html[pos:])
    return "".join(parts)


def _bold_line(line: str) -> str | None:
    """The text of a line that is only strong emphasis (2-80 characters, optional colon).

    A cheap shape check first, then the inline parser decides (escapes, unbalanced
    markers, nested emphasis or code disqualify the line).
    """
    line = line.strip()
    if not _BOLD_LINE.fullmatch(line):
        return None
    kinds = [(t.type, t.content) for t in _INLINE.parseInline(line)[0].children or []
             if t.type != "text" or t.content.strip()]
    if len(kinds) == 4 and kinds[3] == ("text", ":"):
        kinds.pop()
    if [k for k, _ in kinds] != ["strong_open", "text", "strong_close"]:
        return None
    text = kinds[1][1].rstrip(":").strip()
    return text if len(text) >= 2 else None


def section_end(layout: tuple[tuple[int, int, str], ...] | list[tuple[int, int, str]],
                n: int, total: int) -> int:
    """The line index where heading ``n``'s section ends.

    That is the next heading of the same or a higher level: a section includes its
    subsections.

    A lone level-1 heading at the top is the card's title, not a section around the whole
    card: it ends at the next heading of any level.
    """
    start, level, _ = layout[n]
    title = n == 0 and level == 1 and not any(lv == 1 for _, lv, _ in layout[1:])
    return next((i for i, lv, _ in layout[n + 1:] if title or lv <= level), total)


_PLACEHOLDER = re.compile(r"\[more information needed\]|<!--.*?-->", re.IGNORECASE)
"""Hugging Face template text that says nothing (placeholders, guidance comments)."""


def _words(lines: list[str], layout: tuple[tuple[int, int, str], ...], n: int, end: int,
           kind_re: re.Pattern[str]) -> int:
    """Words under heading ``n`` up to ``end``.

    Its own text and its subsections on the same topic (``### Training Dataset`` under
    ``## Model Data``; not ``### Framework versions`` under ``## Training Details``),
    Hugging Face template placeholders left out.
    """
    total, skip_to = 0, -1
    pos = layout[n][0] + 1
    for i, level, heading in layout[n + 1:]:
        if i >= end:
            break
        if pos > skip_to:
            total += _count(lines[pos:i])
        if not kind_re.search(heading) and i > skip_to:
            skip_to = next((j for j, lv, _ in layout if j > i and lv <= level), end) - 1
        pos = i + 1
    if pos > skip_to:
        total += _count(lines[pos:end])
    return total


def _count(lines: list[str]) -> int:
    return len(_PLACEHOLDER.sub(" ", "\n".join(lines)).split())


def find_sections(body: str, first_line: int = 1) -> list[Section]:
    """Sections by heading, then by content (outside code and comments) for kinds missing."""
    found: list[Section] = []
    lines = body.splitlines()
    layout, code = _layout(body)
    heads = [(i, t) for i, _, t in layout]
    for n, (i, heading) in enumerate(heads):
        end = section_end(layout, n, len(lines))
        for kind, kind_re in _KIND_RES.items():
            if kind_re.search(heading):
                words = _words(lines, layout, n, end, kind_re)
                found.append(Section(kind, heading, first_line + i, words))
    have = {s.kind for s in found}
    for kind, hint_re in _HINT_RES.items():
        if kind in have:
            continue
        for i, ln in enumerate(lines[:MAX_LINES]):
            if i in code:
                continue
            m = hint_re.search(ln[:2000])
            if m:
                found.append(Section(kind, ln.strip()[:120], first_line + i, 0, by="content"))
                break
    return sorted(found, key=lambda s: (s.kind, s.line))


def _parse_modelscope(snap: Snapshot, rel: str, card: Card) -> None:
    data, error = snap.read_bytes(rel, 256 * 1024)
    shown = snap.path_of(rel)
    meta, reason = load_json_mapping(data) if not error else (None, error)
    if meta is None:
        card.findings.append(finding(rules.CARD_BAD_YAML, shown, reason or "unreadable"))
        return
    card.modelscope = meta
