"""The model card: README.md YAML front matter, body sections, ModelScope configuration.

The front matter is read with ``yaml.safe_load`` on a bounded string and copied into
plain data (see :mod:`.yamlsafe`). Sections are found by heading first and by content
second, skipping fenced code blocks (whose ``#`` lines are comments, not headings).
Nothing here raises on bad input: problems become findings on the card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from modeltrust._assess import rules
from modeltrust._assess.snapshot import Snapshot
from modeltrust._assess.yamlsafe import load_json_mapping, load_yaml_mapping
from modeltrust.findings import Finding, Location
from modeltrust.rules import finding

SECTION_KINDS: dict[str, str] = {
    "intended_use": r"intended|\buses?\b|direct use|downstream use|use cases?",
    "limitations": r"limitation|out[- ]of[- ]scope|caveat|shortcoming",
    "training_data": r"training data|train(ing)? (set|corpus|datasets?)|datasets?|\bdata\b",
    "evaluation": r"evaluat|results|benchmark|performance|metrics",
    "bias_risks": r"bias|risk|ethic|safety|harm|fairness",
    "environmental_impact": r"environment|carbon|co2|emission|energy",
    "contact": r"contact|support|feedback|questions|maintainer|get in touch",
    "licence": r"licen[cs]e|terms of use",
}
"""Section kind -> regular expression matched against headings (case-insensitive)."""

EXPECTED_SECTIONS = ("intended_use", "limitations", "training_data", "evaluation",
                     "bias_risks", "environmental_impact", "contact")
"""The sections a complete model card has (a finding lists the missing ones)."""

CONTENT_HINTS: dict[str, str] = {
    "environmental_impact": r"carbon (emissions|footprint)|co2(eq)? emitted|kg co2",
    "contact": r"[\w.+-]+@[\w-]+\.[\w.]+|please contact|reach out to",
    "bias_risks": r"\bbias(es|ed)?\b.{0,80}\b(model|output)",
    "limitations": r"\bthe model (may|can) (produce|generate|not)",
}
"""Section kind -> body text pattern that counts when no heading matched."""

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_FRONT_END = re.compile(r"^(---|\.\.\.)\s*$", re.MULTILINE)


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

    def section(self, kind: str) -> Section | None:
        """The first section of a kind, if any."""
        return next((s for s in self.sections if s.kind == kind), None)

    def section_text(self, kind: str, limit: int = 20_000) -> str:
        """The text under the first heading of ``kind`` up to the next heading of its level."""
        sec = self.section(kind)
        if sec is None or sec.by != "heading":
            return ""
        lines = self.body.splitlines()[sec.line - self.body_line:]
        level = len(lines[0]) - len(lines[0].lstrip("#")) if lines else 1
        out: list[str] = []
        for ln in lines[1:]:
            m = _HEADING.match(ln)
            if m and len(m.group(1)) <= level:
                break
            out.append(ln)
        return "\n".join(out)[:limit]


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
    if meta_text is not None:
        meta, error = load_yaml_mapping(meta_text)
        if meta is None:
            card.findings.append(finding(rules.CARD_BAD_YAML, shown, error,
                                         Location(line=1, detail="YAML front matter")))
        else:
            card.meta, card.meta_ok = meta, True
    card.sections = find_sections(body, body_line)
    missing = sorted(set(EXPECTED_SECTIONS) - {s.kind for s in card.sections})
    if missing:
        card.findings.append(finding(rules.CARD_SECTIONS, shown,
                                     "no section on: " + ", ".join(missing)))


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """Split ``---`` YAML front matter from the Markdown body; return (yaml, body, line)."""
    stripped = text.lstrip("\ufeff")
    if not re.match(r"---[ \t]*\r?\n", stripped):
        return None, text, 1
    first_nl = stripped.index("\n") + 1
    end = _FRONT_END.search(stripped, first_nl)
    if end is None:
        return stripped[first_nl:], "", 1
    meta = stripped[first_nl:end.start()]
    rest_start = stripped.find("\n", end.start())
    body = "" if rest_start < 0 else stripped[rest_start + 1:]
    return meta, body, stripped.count("\n", 0, rest_start + 1) + 1 if rest_start >= 0 else 1


def find_sections(body: str, first_line: int = 1) -> list[Section]:
    """Sections by heading (outside code fences), then by content for kinds still missing."""
    found: list[Section] = []
    lines = body.splitlines()
    fenced = False
    headings: list[tuple[int, str]] = []
    for i, ln in enumerate(lines):
        if _FENCE.match(ln):
            fenced = not fenced
            continue
        m = None if fenced else _HEADING.match(ln)
        if m:
            headings.append((i, m.group(2)[:200]))
    for n, (i, heading) in enumerate(headings):
        end = headings[n + 1][0] if n + 1 < len(headings) else len(lines)
        words = sum(len(ln.split()) for ln in lines[i + 1:end])
        for kind, pattern in SECTION_KINDS.items():
            if re.search(pattern, heading, re.IGNORECASE):
                found.append(Section(kind, heading, first_line + i, words))
    have = {s.kind for s in found}
    for kind, pattern in CONTENT_HINTS.items():
        if kind in have:
            continue
        for i, ln in enumerate(lines[:50_000]):
            m = re.search(pattern, ln[:2000], re.IGNORECASE)
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
