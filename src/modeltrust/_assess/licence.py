"""Under what terms: the model's licence from its card, LICENSE files and GGUF metadata.

The card's ``license`` (a Hugging Face id, an SPDX expression, or ``other`` with
``license_name``/``license_link``) is mapped to an SPDX id or a ``LicenseRef-`` id. LICENSE,
COPYING, NOTICE and USE_POLICY files are identified by content (catalogue fingerprints),
and every licence text is searched for restrictive clause classes with quoted sentences.
Disagreements between the card and the files are findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modeltrust._assess import rules
from modeltrust._assess.card import Card
from modeltrust._assess.catalogue import (
    Licence,
    catalogue,
    fingerprint,
    open_types_of,
    spdx_expression,
    split_ids,
)
from modeltrust._assess.clauses import Clause, find_clauses
from modeltrust._assess.snapshot import Snapshot
from modeltrust._assess.yamlsafe import as_list, as_str
from modeltrust.findings import Finding, Location, Rule
from modeltrust.rules import finding

LICENCE_FILE = re.compile(
    r"(^|/)(licen[cs]e|copying|notice|use[_-]?policy|acceptable[_-]use[_-]policy|"
    r"terms[_-]of[_-]use)([._-][^/]*)?$", re.IGNORECASE)
_POLICY = re.compile(r"policy|terms[_-]of[_-]use", re.IGNORECASE)
_NOTICE = re.compile(r"(^|/)notice", re.IGNORECASE)
_UNSET = {"", "unknown", "none", "null", "n/a", "no-license"}
CLAUSE_RULES: dict[str, Rule] = {
    "non_commercial": rules.LIC_NON_COMMERCIAL,
    "research_only": rules.LIC_RESEARCH_ONLY,
    "field_of_use": rules.LIC_FIELD_OF_USE,
    "user_threshold": rules.LIC_THRESHOLD,
    "output_ban": rules.LIC_OUTPUT_BAN,
    "naming": rules.LIC_NAMING,
    "remote_restriction": rules.LIC_REMOTE,
    "termination_deletion": rules.LIC_REMOTE,
}


@dataclass(frozen=True)
class LicenceFile:
    """A licence-like file and what its text was identified as (None: not identified)."""

    path: str
    role: str
    spdx: str | None
    name: str | None

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"path": self.path, "role": self.role, "spdx": self.spdx, "name": self.name}


@dataclass(frozen=True)
class LicenceResult:
    """The model's licence: id, where it was declared, its terms, files and clauses."""

    spdx: str | None
    name: str | None
    source: str
    declared: str | None
    status: str
    family: str | None
    terms: str | None
    osi_approved: bool
    open_types: tuple[str, ...]
    files: tuple[LicenceFile, ...]
    clauses: tuple[Clause, ...]
    naming: str = ""

    @property
    def restrictive_clauses(self) -> tuple[Clause, ...]:
        """Clauses that restrict the freedoms to use, study, modify and share."""
        return tuple(c for c in self.clauses if c.kind != "naming")

    def to_dict(self) -> dict[str, object]:
        """JSON form (the ``licence`` object of the openness report)."""
        return {
            "spdx": self.spdx, "name": self.name, "source": self.source,
            "declared": self.declared, "status": self.status, "family": self.family,
            "terms": self.terms, "osi_approved": self.osi_approved,
            "open_types": list(self.open_types),
            "files": [f.to_dict() for f in self.files],
            "clauses": [c.to_dict() for c in self.clauses],
        }


@dataclass(frozen=True)
class Resolved:
    """A licence id resolved from a declaration, with its catalogue entry when known."""

    spdx: str
    licence: Licence | None
    known: bool


def resolve(value: str, name: str = "", link: str = "") -> Resolved | None:
    """Map a card ``license`` value (plus ``license_name``/``license_link``) to an id."""
    value = value.strip()
    if value.lower() in _UNSET:
        return None
    cat = catalogue()
    if value.lower() == "other":
        lic = cat.by_hf_id(name) if name else None
        lic = lic or (cat.by_link(link) if link else None)
        lic = lic or (cat.by_hf_id(link.rstrip("/").rsplit("/", 1)[-1]) if link else None)
        if lic is not None:
            return Resolved(lic.id, lic, True)
        if name or link:
            return Resolved("LicenseRef-" + _idstring(name or "other"), None, False)
        return None
    lic = cat.by_hf_id(value)
    if lic is not None:
        return Resolved(lic.id, lic, True)
    alias = cat.hf_aliases.get(value.lower())
    spdx = alias or spdx_expression(value)
    if spdx is not None:
        return Resolved(spdx, cat.by_id(spdx), True)
    return Resolved("LicenseRef-" + _idstring(value), None, False)


def _idstring(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text.strip())[:80].strip("-") or "unnamed"


def assess_licence(snap: Snapshot, card: Card, gguf_licence: tuple[str, str] | None,
                   findings: list[Finding]) -> LicenceResult:
    """Resolve the declared licence, identify licence files, find clauses and conflicts."""
    files, clauses, extra = _licence_files(snap, findings)
    clauses += _card_clauses(snap, card)
    declared_raw = as_list(card.meta.get("license")) if card.meta_ok else []
    declared: str | None = " AND ".join(declared_raw) or None
    card_path = snap.path_of(card.rel) if card.rel else snap.shown
    resolved = _from_card(declared_raw, card)
    bad = [k for k in ("license", "license_name", "license_link") if k in card.malformed]
    if "license" in bad or (bad and (resolved is None or not resolved.known)):
        # Present but wrongly typed (MT-CARD-002 says which): unknown, not absent.
        resolved = MALFORMED
        declared = declared or _raw(card.malformed.get("license"))
    source = "card" if resolved else "none"
    if resolved is not None and not resolved.known and resolved is not MALFORMED:
        findings.append(finding(rules.LIC_UNKNOWN, card_path,
                                f"license: {declared!r} (license_name: "
                                f"{as_str(card.meta.get('license_name'))!r}, license_link: "
                                f"{as_str(card.meta.get('license_link'))[:200]!r})",
                                Location(detail="YAML front matter")))
    identified = [f for f in files if f.role == "licence" and f.spdx]
    if resolved is not None and resolved.known:
        resolved, source = _refine(resolved, source, identified)
        _mismatches(resolved, declared, files, extra, findings)
    if gguf_licence is not None:
        resolved, source = _gguf(resolved, source, gguf_licence, findings)
    if (resolved is None or not resolved.known) and identified:
        lic = catalogue().by_id(identified[0].spdx or "")
        resolved = Resolved(identified[0].spdx or "", lic, True)
        source = "license_file"
    if resolved is None:
        findings.append(finding(rules.LIC_NONE, card_path,
                                "no license in the card metadata and no identified "
                                "LICENSE file"))
    _clause_findings(clauses, findings)
    result = _result(resolved, source, declared, files, clauses)
    _terms_findings(result, card_path, files, findings)
    return result


MALFORMED = Resolved("", None, False)
"""A ``license`` (or the ``license_name``/``license_link`` it needs) of the wrong type."""


def _raw(value: object) -> str | None:
    return None if value is None else repr(value)[:200]


def agrees(one: str, other: str) -> bool:
    """True when two licence ids name the same terms: equal, or a generic family id.

    A generic catalogue entry (Hugging Face's ``openrail``) names a family of licences, so
    the text of any member of that family (CreativeML, BigScience, BigCode OpenRAIL-M)
    agrees with it.
    """
    if one == other:
        return True
    cat = catalogue()
    a, b = cat.by_id(one), cat.by_id(other)
    if a is None or b is None or a.family != b.family:
        return False
    return a.generic or b.generic


def _agrees_any(ids: set[str], other: str) -> bool:
    return any(agrees(i, other) for i in ids)


def _refine(resolved: Resolved, source: str, identified: list[LicenceFile]
            ) -> tuple[Resolved, str]:
    """A generic card id (``openrail``) with a member's text: the text's licence concludes."""
    if resolved.licence is None or not resolved.licence.generic:
        return resolved, source
    for f in identified:
        lic = catalogue().by_id(f.spdx or "")
        if lic is not None and not lic.generic and agrees(resolved.spdx, lic.id):
            return Resolved(lic.id, lic, True), "license_file"
    return resolved, source


def _mismatches(resolved: Resolved, declared: str | None, files: list[LicenceFile],
                extra: dict[str, list[Licence]], findings: list[Finding]) -> None:
    """Card vs licence files: a file that is, or also grants under, other terms."""
    card_ids = split_ids(resolved.spdx)
    for f in files:
        if f.role != "licence" or not f.spdx:
            continue
        if not _agrees_any(card_ids, f.spdx):
            findings.append(finding(rules.LIC_MISMATCH, f.path,
                                    f"card says {resolved.spdx} ({declared}); "
                                    f"the text is {f.spdx} ({f.name})"))
            continue
        for lic in extra.get(f.path, []):
            if not _agrees_any(card_ids, lic.id) and lic.restrictive:
                findings.append(finding(rules.LIC_MISMATCH, f.path,
                                        f"card says {resolved.spdx} ({declared}); the text "
                                        f"also holds {lic.id} ({lic.name})"))
                break


RESTRICTION_RULES: dict[str, Rule] = {"non-commercial": rules.LIC_NON_COMMERCIAL,
                                      "research-only": rules.LIC_RESEARCH_ONLY}
_RESTRICTION_WORDS = {"non-commercial": "forbids commercial use",
                      "research-only": "allows research use only"}


def _terms_findings(res: LicenceResult, path: str, files: list[LicenceFile],
                    findings: list[Finding]) -> None:
    """Non-commercial and research-only terms the catalogue states, when no text showed them.

    Every licence counts, however it was identified: each id of the concluded licence
    (card, GGUF or LICENSE file) and each identified licence text. A licence can state
    both (Qwen Research: non-commercial research use only).
    """
    cat = catalogue()
    sources = [(i, path, f"licence from {res.source}") for i in sorted(split_ids(res.spdx))
               if res.status == "identified"]
    sources += [(f.spdx, f.path, "licence text") for f in files
                if f.role == "licence" and f.spdx]
    for ident, where, how in sources:
        lic = cat.by_id(ident)
        for kind in restrictions_of(ident, lic):
            rule = RESTRICTION_RULES[kind]
            if any(f.rule_id == rule.id for f in findings):
                continue
            name = lic.name if lic is not None else ident
            findings.append(finding(rule, where, f"{ident} ({name}) {_RESTRICTION_WORDS[kind]}",
                                    Location(detail=how)))


def restrictions_of(ident: str, lic: Licence | None) -> tuple[str, ...]:
    """The use restrictions (non-commercial, research-only) the catalogue states for an id."""
    if lic is not None:
        return lic.restrictions
    return ("non-commercial",) if "-NC" in ident.upper() else ()


def _from_card(values: list[str], card: Card) -> Resolved | None:
    name = as_str(card.meta.get("license_name"))
    link = as_str(card.meta.get("license_link"))
    parts = [r for r in (resolve(v, name, link) for v in values) if r is not None]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    ids = " AND ".join(p.spdx for p in parts)
    return Resolved(ids, None, all(p.known for p in parts))


def _gguf(resolved: Resolved | None, source: str, gguf: tuple[str, str],
          findings: list[Finding]) -> tuple[Resolved | None, str]:
    path, value = gguf
    other = resolve(value)
    if other is None:
        return resolved, source
    if resolved is None:
        return other, "gguf"
    if resolved.known and other.known and not all(
            _agrees_any(split_ids(resolved.spdx), i) for i in split_ids(other.spdx)):
        findings.append(finding(rules.LIC_MISMATCH, path,
                                f"card says {resolved.spdx}; GGUF general.license is "
                                f"{value!r} ({other.spdx})",
                                Location(detail="general.license")))
    return resolved, source


def _result(resolved: Resolved | None, source: str, declared: str | None,
            files: list[LicenceFile], clauses: list[Clause]) -> LicenceResult:
    lic = resolved.licence if resolved else None
    spdx = (resolved.spdx or None) if resolved else None
    known = resolved is not None and resolved.known
    open_types = open_types_of(spdx) if known else ()
    osi = known and bool(split_ids(spdx)) and split_ids(spdx) <= catalogue().osi_approved
    terms: str | None = lic.terms if lic is not None else (
        _terms(split_ids(spdx)) if known else None)
    status = "none" if resolved is None else "identified" if resolved.known else "unknown"
    return LicenceResult(
        spdx=spdx, name=lic.name if lic else spdx, source=source, declared=declared,
        status=status, family=lic.family if lic else None, terms=terms,
        osi_approved=osi, open_types=open_types, files=tuple(sorted(files, key=_fkey)),
        clauses=tuple(sorted(set(clauses))), naming=lic.naming if lic else "")


def _fkey(f: LicenceFile) -> str:
    return f.path


def _terms(ids: set[str]) -> str | None:
    """The strictest terms of an expression's licences (catalogue terms first)."""
    cat = catalogue()
    entries = [cat.by_id(i) for i in ids]
    for strict in ("research-only", "non-commercial", "restricted"):
        if any(e is not None and e.terms == strict for e in entries):
            return strict
    if any("-NC" in i for i in ids):
        return "non-commercial"
    if ids <= cat.osi_approved:
        return "copyleft" if any("GPL" in i or "MPL" in i or "EPL" in i for i in ids) \
            else "permissive"
    if ids <= cat.open_data | cat.open_content:
        return "open-content"
    return None


def _licence_files(snap: Snapshot, findings: list[Finding]
                   ) -> tuple[list[LicenceFile], list[Clause], dict[str, list[Licence]]]:
    files: list[LicenceFile] = []
    clauses: list[Clause] = []
    extra: dict[str, list[Licence]] = {}
    for rel in sorted(r for r in snap.files if "/" not in r and LICENCE_FILE.search(r)):
        shown = snap.path_of(rel)
        text = snap.read_text(rel)
        if text.error or text.binary or text.truncated:
            why = text.error or ("binary content" if text.binary else
                                 f"{text.size} bytes, only the first part analysed")
            findings.append(finding(rules.LIC_UNREADABLE, shown, why))
            if text.error:
                continue
        role = "policy" if _POLICY.search(rel) else "notice" if _NOTICE.search(rel) \
            else "licence"
        lic = identify(text.text, allow_policy=role == "policy")
        if lic is None and role == "licence":
            findings.append(finding(rules.LIC_TEXT_UNKNOWN, shown,
                                    "no catalogue fingerprint matches the text"))
        if lic is not None and lic.terms == "policy":
            role = "policy"
        files.append(LicenceFile(shown, role, lic.id if lic else None,
                                 lic.name if lic else None))
        extra[shown] = [h for h, _ in fingerprint(text.text)
                        if lic is not None and h.id != lic.id and h.terms != "policy"]
        clauses.extend(find_clauses(text.text, shown))
    return files, clauses, extra


def identify(text: str, *, allow_policy: bool = False) -> Licence | None:
    """The licence a text is (its first catalogue match); policies only when nothing else fits.

    With ``allow_policy`` (a file named like a use policy) a policy match comes first.
    """
    hits = fingerprint(text)
    main = [lic for lic, _ in hits if lic.terms != "policy"]
    if main and not allow_policy:
        return main[0]
    policies = [lic for lic, _ in hits if lic.terms == "policy"]
    if allow_policy and policies:
        return policies[0]
    return main[0] if main else (policies[0] if policies else None)


def _card_clauses(snap: Snapshot, card: Card) -> list[Clause]:
    if card.rel is None:
        return []
    shown = snap.path_of(card.rel)
    out: list[Clause] = []
    gated = as_str(card.meta.get("extra_gated_prompt")) if card.meta_ok else ""
    if gated:
        out.extend(find_clauses(gated[:200_000], shown))
    section = card.section_text("licence")
    sec = card.section("licence")
    if section and sec is not None:
        out.extend(find_clauses(section, shown, sec.line + 1))
    return out


def _clause_findings(clauses: list[Clause], findings: list[Finding]) -> None:
    seen: set[str] = set()
    # De-duplicated in reading order, then a stable sort: of two sentences on one line the
    # first one read wins (iterating a set would let string hashing pick between runs).
    for c in sorted(dict.fromkeys(clauses), key=lambda c: (c.kind, c.path, c.line)):
        rule = CLAUSE_RULES[c.kind]
        key = f"{rule.id}:{c.kind}"
        if key in seen:
            continue
        seen.add(key)
        findings.append(finding(rule, c.path, f"{c.kind}: {c.quote}",
                                Location(line=c.line, detail=c.kind)))
