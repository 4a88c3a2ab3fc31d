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

_MONEY = (r"([$\u20ac\u00a3\u00a5\u20a9\u20b9]\s?\d|\b(usd|eur|gbp|rmb|cny|jpy|krw|inr|chf|"
          r"us\s?dollars?|dollars?|euros?|pounds?( sterling)?|yuan|renminbi|yen)\b|"
          r"\d[\d,.]*\s*(thousand|million|billion|mn|bn|[mkb])\b)")
_MORE = r"(exceed\w*|in excess of|more than|greater than|over|above|at least|surpass\w*)"
_LESS = r"(less than|fewer than|below|under|up to|no more than|not exceeding)"
_PROHIBIT = (r"\b((shall|will|must|may|can|agree|are|is)\s*(not|never)|cannot|prohibit\w*|"
             r"forbid\w*|restrict\w*|not (be )?(permitted|allowed)|may only|shall only|no )")

KINDS: dict[str, tuple[str, ...]] = {
    "field_of_use": (
        r"\bagree (that you will |you will |to )?not (to )?use\b",
        r"\b(acceptable|prohibited) use polic(y|ies)\b",
        r"\buse restrictions?\b|\bprohibited uses?\b|\brestricted uses?\b",
        r"\b(you|licensee|users?|recipients?|licensees)\b.{0,30}\b(shall|will|must|may|agree)"
        r"\s*(not|never)\b.{0,60}\buse\b.{0,200}\b(for|to|in|as)\b",
        r"\b(are|is) not (permitted|allowed|authori[sz]ed) to use\b.{0,200}\b(for|to|in)\b",
        r"\bnot (be )?used? (for|in|to)\b.{0,60}\b(military|surveillance|medical|weapons?|"
        r"warfare|law enforcement|biometric|harm\w*|illegal|unlawful|discriminat\w*)",
        r"\buse\b.{0,80}\b(is|are) (strictly )?(prohibited|forbidden|not permitted)\b",
    ),
    "user_threshold": (
        r"\b(monthly|daily|weekly) active users?\b",
        r"\b\d[\d,.]*\s*(thousand|million|billion|[mkb])?\s*\(?(maus?|daus?)\b",
        r"\b(maus?|daus?)\b.{0,80}\b" + _MORE + r"\b.{0,40}\d",
        r"\b(revenues?|turnover|sales|income|receipts)\b.{0,200}\b" + _MORE + r"\b.{0,60}"
        + _MONEY,
        r"\b" + _MORE + r"\b.{0,60}" + _MONEY + r".{0,120}\b(revenues?|turnover|sales|income)\b",
        r"\b" + _LESS + r"\s+.{0,20}" + _MONEY + r".{0,60}\b(revenues?|turnover|sales|income)\b",
        r"\b(revenues?|turnover|sales|income)\b.{0,80}\b" + _LESS + r"\s+.{0,20}" + _MONEY,
    ),
    "output_ban": (
        r"^(?=.*\b(outputs?|results?|generations?|generated (content|text|data))\b)"
        r"(?=.*\b(train\w*|improv\w*|develop\w*|distil\w*|fine[- ]?tun\w*|creat\w*|build\w*)\b)"
        r"(?=.*(\b(other|another|competing|different|third[- ]party|rival)\b.{0,60}"
        r"\b(models?|llms?|ai|systems?|products?)\b|\bcompet\w*))"
        r"(?=.*" + _PROHIBIT + r")",
    ),
    "naming": (
        r"\b(built|made|created|improved|powered|developed) (with|using|by|on)\s*[\"'\u201c\u2018]",
        r"\b(display|include|state|mark)\w*\b.{0,60}\b(built|made|powered|improved) "
        r"(with|using|by|on)\b",
        r"\bat the beginning of (any|such|the|its|their)\b.{0,40}\bnames?\b",
        r"\bnames?\b.{0,80}\b(must|shall|should|is required to|are required to)\b.{0,40}"
        r"\b(begin|start|include|contain|be prefixed|carry)\w*",
        r"\b(prefix|suffix)\w*\b.{0,80}\b(names?|derivatives?)\b",
        r"\bnames?\b.{0,40}\b(with|using) the (prefix|suffix)\b",
        r"\b(include|contain|carry)\w*\b.{0,60}\bin (its|their|the|such|any|your)\b.{0,30}"
        r"\bnames?\b",
    ),
    "remote_restriction": (
        r"\bremote(ly)?\b.{0,80}\b(restrict|disabl|revok|suspend|terminat|limit|deactivat|"
        r"shut)\w*",
        r"\b(restrict|disabl|revok|suspend|limit|deactivat)\w*\b.{0,80}\bremote(ly)?\b",
        r"\bkill[- ]switch\b",
    ),
    "termination_deletion": (
        r"\b(delete|destroy|erase|purge|remove)\b.{0,80}\b(cease|stop|discontinue)\b.{0,40}"
        r"\bus(e|ing|age)\b",
        r"\b(cease|stop|discontinue)\b.{0,40}\bus(e|ing|age)\b.{0,120}\b(delete|destroy|"
        r"erase|purge|remove)\b",
        r"\bterminat\w*\b.{0,200}\b(delete|destroy|erase|purge|remove)\b",
        r"\b(delete|destroy|erase|purge|remove)\b.{0,200}\b(upon|on|after|following|"
        r"in the event of)\b.{0,20}\bterminat\w*",
    ),
    "non_commercial": (
        r"\bnon[- ]?commercial\b",
        r"\bnot\b.{0,60}\bfor (any )?commercial (use|uses|purposes?|advantage|exploitation)\b",
        r"\bno commercial (use|uses|purposes?|exploitation)\b",
        r"\bcommercial (use|uses|usage|purposes?|exploitation|applications?|deployment)\b.{0,60}"
        r"\b(is|are|will be|shall be)? ?(not (permitted|allowed|authori[sz]ed|granted)|"
        r"prohibited|forbidden|excluded|requires?|subject to)",
        r"\b(may|shall|must|can)(not| not)\b.{0,80}\bcommercial(ly)?\b",
        r"\bcannot\b.{0,80}\bcommercial(ly)?\b",
    ),
    "research_only": (
        r"\b(solely|only|exclusively|strictly)\b.{0,40}\b(research|academic)\b",
        r"\b(research|academic|educational|evaluation|scientific)\b.{0,60}\b(purposes?|use|uses)"
        r" only\b",
        r"\bresearch purposes only\b",
        r"\bresearch (use|licen[cs]e)\b.{0,80}\bonly\b",
        r"\b(restricted|limited) to\b.{0,40}\b(research|academic|evaluation)\b",
    ),
}
"""Clause kind -> patterns (case-insensitive) that mark a sentence as that kind."""

_COMM = r"(?<!non-)(?<!non )(?<!non)\bcommercial(ly)?\b"
""""commercial" that is not part of "non-commercial"."""
_NEG = r"\b(not|never|cannot|can't|won't)\b(?! (only|just|limited|restricted)\b)"
"""A negation that is not "not only/limited to" (those widen a grant)."""

PERMISSIONS: dict[str, str] = {
    "non_commercial": r"\b(commercial|commercially)\s*(,\s*)?(and|or|and/or|,)\s*"
                      r"non[- ]?commercial|"
                      r"non[- ]?commercial\s*(,\s*)?(and|or|and/or|,)\s*commercial|"
                      r"including (for )?commercial|any purpose,? (including )?commercial|"
                      r"\bfree (of charge )?(for|to)\b.{0,80}" + _COMM + "|"
                      r"\b(may|can|are free to|is free to|permitted to|allowed to|"
                      r"authori[sz]ed to|able to)\s+(be\s+)?(freely\s+)?"
                      r"(use|used|deploy\w*|distribut\w*|exploit\w*)\b.{0,80}" + _COMM + "|"
                      r"\b(permits?|allows?|authori[sz]es?|grants?|supports?|enables?)\b.{0,40}"
                      + _COMM + "|" + _COMM + r" (use|uses|usage|purposes?)\b.{0,20}\b(is|are)"
                      r" (also |fully |expressly )?(permitted|allowed|supported|welcome|granted)|"
                      r"\bno (restrictions?|limits?|limitations?) on\b.{0,40}" + _COMM + "|"
                      r"\bnot (limited|restricted|confined) to non[- ]?commercial",
    "research_only": r"\bnot (only|just|limited to|restricted to)\b.{0,20}\bresearch|"
                     r"\bresearch\s*(,\s*)?(and|or|and/or|,)\s*(non[- ]?commercial\s*,?\s*"
                     r"(and|or)?\s*)?" + _COMM + "|" + _COMM + r"\s*(,\s*)?(and|or|and/or|,)\s*"
                     r"research",
    "field_of_use": r"\buse\b.{0,30}\b(names?|trademarks?|trade names|logos?|marks)\b|"
                    r"\bexcept in compliance with\b|"
                    r"^(?!.*(\bnot\b|\bnever\b|cannot|prohibit|forbid)).*"
                    r"\b(no|without( any)?) (additional |further )?(use )?restrictions?\b"
                    r"(?!.{0,30}\b(other than|except|beyond|save)\b)",
    "user_threshold": r"\bliabilit\w*|\bdamages\b|"
                      r"\bno (limit|cap|threshold|restriction)s? (on|for)\b.{0,40}\b(users?|"
                      r"revenues?|turnover)\b",
    "output_ban": r"\b(may|can|are free to|is free to|permitted to|allowed to)\s+(freely\s+)?"
                  r"use\b.{0,60}\boutputs?\b|\bno (restrictions?|limits?) on\b.{0,40}"
                  r"\boutputs?\b",
    "remote_restriction": r"\b(will|shall|may|can)\s*(not|never)\b.{0,40}\bremote(ly)?\b",
}
"""Clause kind -> a pattern that shows the sentence grants rather than restricts."""

DENIALS: dict[str, str] = {
    "non_commercial": _NEG + r".{0,60}" + _COMM + r"|\bno commercial\b|"
                      + _COMM + r" (use|uses|usage|purposes?|exploitation|applications?|"
                      r"deployment)\b.{0,60}\b(not (permitted|allowed|authori[sz]ed|granted)|"
                      r"prohibited|forbidden|excluded)",
    "output_ban": _NEG + r"|\bprohibit\w*|\bforbid\w*",
}
"""Clause kind -> a pattern of an explicit restriction that a grant in the same sentence
does not cancel ("free for research, but not for commercial use")."""

WEAK: dict[str, tuple[int, ...]] = {"field_of_use": (1, 2)}
"""Clause kind -> indices of patterns that only name a policy ("acceptable use policy",
"prohibited uses"): such sentences are quoted only when no sentence states a restriction."""

_THRESHOLD_CONDITION = re.compile(
    _COMM + r" (use|uses|usage|purposes?|exploitation|applications?|deployment)\b.{0,60}"
    r"\b(requires?|subject to)\b", re.IGNORECASE)
"""Commercial use that needs a licence or is subject to terms: with a threshold in the same
sentence, a threshold clause (``user_threshold``), not a non-commercial one."""

SUBSUMES: dict[str, tuple[str, ...]] = {
    "output_ban": ("field_of_use",),
    "non_commercial": ("field_of_use",),
    "research_only": ("field_of_use",),
}
"""A kind found in a sentence hides these kinds there (one clause, one class)."""

_COMPILED = {k: tuple(re.compile(p, re.IGNORECASE) for p in v) for k, v in KINDS.items()}
_GRANTS = {k: re.compile(p, re.IGNORECASE) for k, p in PERMISSIONS.items()}
_DENIES = {k: re.compile(p, re.IGNORECASE) for k, p in DENIALS.items()}
_MARKUP = re.compile(r"[*_`~]+|\\(?=\S)|<[^>\n]{0,40}>|^#+\s*|^>\s*")
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
    """Add one chunk; an ATX heading line inside it (``## Prohibited Uses``) stands alone."""
    first = text.count("\n", 0, start) + 1
    buf: list[str] = []
    buf_line = first
    for k, line in enumerate(text[start:end].split("\n")):
        if line.lstrip().startswith("#"):
            _emit(out, buf, buf_line)
            _emit(out, [line], first + k)
            buf, buf_line = [], first + k + 1
        else:
            if not buf and not line.strip():
                buf_line = first + k + 1
                continue
            buf.append(line)
        if len(out) >= MAX_SENTENCES:
            return
    _emit(out, buf, buf_line)


def _emit(out: list[tuple[int, str]], lines: list[str], line: int) -> None:
    stripped = " ".join("\n".join(lines)[:MAX_SENTENCE].split())
    if stripped and len(out) < MAX_SENTENCES:
        out.append((line, stripped))


def find_clauses(text: str, path: str, first_line: int = 1) -> list[Clause]:
    """Every clause kind found in ``text`` with up to :data:`MAX_PER_KIND` quotes each.

    ``first_line`` is the file line ``text`` starts at (for text cut out of a card).
    Headings and title lines are never quoted; sentences that state a restriction come
    before sentences that only name a policy (:data:`WEAK`), in reading order within each.
    """
    strong: list[Clause] = []
    weak: list[Clause] = []
    for line, sentence in sentences(text):
        if is_heading(sentence):
            continue
        for kind, only_weak in sorted(_kinds(sentence).items()):
            clause = Clause(kind, path, line + first_line - 1, quote(sentence))
            (weak if only_weak else strong).append(clause)
    found: list[Clause] = []
    per_kind: dict[str, int] = {}
    for clause in strong + weak:
        if per_kind.get(clause.kind, 0) < MAX_PER_KIND:
            per_kind[clause.kind] = per_kind.get(clause.kind, 0) + 1
            found.append(clause)
    return sorted(found)


_TITLE_WORD = re.compile(r"[A-Za-z][\w'.-]*")


def is_heading(sentence: str) -> bool:
    """A Markdown heading or a title line: a short line of capitalised words, no full stop.

    List items and lines with sentence punctuation are sentences ("- No commercial use").
    """
    text = sentence.strip()
    if text.startswith("#"):
        return True
    if re.match(r"([-*+\u2022]|\(?[a-z0-9]{1,3}[.)])\s", text) or re.search(r"[.;:!?,)]$", text):
        return False
    words = _TITLE_WORD.findall(_MARKUP.sub(" ", text))
    if not words or len(text.split()) > 10:
        return False
    return all(w[0].isupper() or len(w) <= 3 for w in words)


def kinds_of(sentence: str) -> set[str]:
    """The clause kinds one sentence shows (Markdown emphasis and markup ignored)."""
    return set(_kinds(sentence))


def _kinds(sentence: str) -> dict[str, bool]:
    """Clause kinds of a sentence, each with whether only a weak pattern showed it."""
    plain = " ".join(_MARKUP.sub(" ", sentence).split())
    kinds: dict[str, bool] = {}
    for kind, pats in _COMPILED.items():
        hits = [i for i, p in enumerate(pats) if p.search(plain)]
        if hits:
            kinds[kind] = all(i in WEAK.get(kind, ()) for i in hits)
    for kind in list(kinds):
        if kind in _GRANTS and _GRANTS[kind].search(plain) and not (
                kind in _DENIES and _DENIES[kind].search(plain)):
            del kinds[kind]
    if "non_commercial" in kinds and "user_threshold" in kinds \
            and not _DENIES["non_commercial"].search(plain) \
            and not re.search(r"\bnon[- ]?commercial\b", plain, re.IGNORECASE) \
            and _THRESHOLD_CONDITION.search(plain):
        del kinds["non_commercial"]
    for kind in sorted(kinds):
        for hidden in SUBSUMES.get(kind, ()):
            kinds.pop(hidden, None)
    return kinds


def quote(sentence: str) -> str:
    """A sentence shortened to :data:`MAX_QUOTE` characters (marked with an ellipsis)."""
    return sentence if len(sentence) <= MAX_QUOTE else sentence[: MAX_QUOTE - 1] + "\u2026"
