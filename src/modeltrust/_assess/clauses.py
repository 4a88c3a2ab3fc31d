"""Clause classes in licence texts, each with the sentence that shows it.

Patterns are matched per sentence (bounded length, bounded count) so a quote is always a
whole sentence of the licence and the evidence can be checked by reading the file. Kinds:

- ``field_of_use``: acceptable-use or use restrictions ("you agree not to use ...").
- ``user_threshold``: monthly-active-user or revenue thresholds.
- ``output_ban``: bans on using the model or its outputs to improve other models.
- ``naming``: naming or attribution duties for derivatives ("Built with ...").
- ``remote_restriction``: the licensor may restrict use remotely or otherwise.
- ``termination_deletion``: termination that requires deleting the model.
- ``non_commercial``: non-commercial use only.
- ``research_only``: research or evaluation use only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SENTENCES = 20_000
MAX_SENTENCE = 2_000
MAX_QUOTE = 400
MAX_PER_KIND = 3

KINDS: dict[str, tuple[str, ...]] = {
    "field_of_use": (
        r"\bagree not to use\b",
        r"\b(acceptable|prohibited) use polic(y|ies)\b",
        r"\buse restrictions?\b",
        r"\byou (shall|will|must) not use\b.{0,200}\b(for|to)\b",
        r"\bnot (be )?used? (for|in) (any )?(military|surveillance|medical|weapons?)",
    ),
    "user_threshold": (
        r"\bmonthly active users\b",
        r"\b(annual|total) (gross )?revenues?\b.{0,200}\b(exceed|in excess of|more than|greater)",
        r"\b(exceed|in excess of|more than|greater than)\b.{0,60}\b(us )?\$\s?[0-9][0-9,.]*",
    ),
    "output_ban": (
        r"\b(outputs?|results?)\b.{0,120}\bto (improve|train|develop)\b.{0,120}\b(other|another)"
        r"\b.{0,40}\b(models?|ai|llms?)\b",
        r"\b(improve|train)\b.{0,60}\b(any )?other (large )?(language )?models?\b",
    ),
    "naming": (
        r"\bbuilt with\s+[\"'\u201c\u2018]?\w+",
        r"\bat the beginning of any such (ai )?model name\b",
        r"\b(improved|powered) (using|by)\s+[\"'\u201c\u2018]?\w+",
        r"\bmodel name (must|shall) (begin|start) with\b",
    ),
    "remote_restriction": (
        r"\brestrict\b.{0,40}\bremotely or otherwise\b",
        r"\bremotely or otherwise\b.{0,40}\brestrict",
    ),
    "termination_deletion": (
        r"\b(delete|destroy)\b.{0,80}\b(cease|stop)\b.{0,40}\buse\b",
        r"\b(cease|stop)\b.{0,40}\buse\b.{0,80}\b(delete|destroy)\b",
        r"\bterminat\w*\b.{0,200}\b(delete|destroy)\b",
    ),
    "non_commercial": (
        r"\bnon[- ]?commercial\b",
        r"\bnot (be )?(used )?for (any )?commercial (use|purposes?)\b",
        r"\bno commercial use\b",
    ),
    "research_only": (
        r"\b(solely|only|exclusively)\b.{0,40}\bresearch\b",
        r"\bresearch (and|or) (evaluation|academic) (use|purposes) only\b",
        r"\bresearch purposes only\b",
        r"\bresearch (use|license)\b.{0,80}\bonly\b",
    ),
}
"""Clause kind -> patterns (case-insensitive) that mark a sentence as that kind."""

_COMPILED = {k: tuple(re.compile(p, re.IGNORECASE) for p in v) for k, v in KINDS.items()}
_SPLIT = re.compile(r"(?<=[.;!?])\s+(?=[\"'(\u201c]?[A-Z0-9])|\n\s*\n|"
                    r"\n\s*(?=[-*\u2022]|\(?[a-z0-9]{1,3}[.)]\s)")


@dataclass(frozen=True, order=True)
class Clause:
    """One restrictive or notable clause: its kind, the quoted sentence, where it is."""

    kind: str
    path: str
    line: int
    quote: str

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"kind": self.kind, "quote": self.quote, "path": self.path, "line": self.line}


def sentences(text: str) -> list[tuple[int, str]]:
    """Split text into (line number, sentence) pairs, bounded in count and length."""
    out: list[tuple[int, str]] = []
    pos = 0
    for m in _SPLIT.finditer(text):
        _add(out, text, pos, m.start())
        pos = m.end()
        if len(out) >= MAX_SENTENCES:
            return out
    _add(out, text, pos, len(text))
    return out


def _add(out: list[tuple[int, str]], text: str, start: int, end: int) -> None:
    chunk = text[start:end]
    stripped = " ".join(chunk[:MAX_SENTENCE].split())
    if stripped:
        lead = len(chunk) - len(chunk.lstrip())
        out.append((text.count("\n", 0, start + lead) + 1, stripped))


def find_clauses(text: str, path: str, first_line: int = 1) -> list[Clause]:
    """Every clause kind found in ``text`` with up to :data:`MAX_PER_KIND` quotes each.

    ``first_line`` is the file line ``text`` starts at (for text cut out of a card).
    """
    found: list[Clause] = []
    per_kind: dict[str, int] = {}
    for line, sentence in sentences(text):
        kinds = {k for k, pats in _COMPILED.items() if any(p.search(sentence) for p in pats)}
        if "output_ban" in kinds:  # "you will not use ... outputs to improve" is that, only
            kinds.discard("field_of_use")
        for kind in sorted(kinds):
            if per_kind.get(kind, 0) >= MAX_PER_KIND:
                continue
            per_kind[kind] = per_kind.get(kind, 0) + 1
            found.append(Clause(kind, path, line + first_line - 1, quote(sentence)))
    return sorted(found)


def quote(sentence: str) -> str:
    """A sentence shortened to :data:`MAX_QUOTE` characters (marked with an ellipsis)."""
    return sentence if len(sentence) <= MAX_QUOTE else sentence[: MAX_QUOTE - 1] + "\u2026"
