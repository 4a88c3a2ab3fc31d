"""Open Source AI Definition 1.0, rule by rule, each ``met``, ``not_met`` or ``unknown``.

OSAID 1.0 asks for the preferred form to make modifications: data information (a complete
description of all training data, a listing of the publicly available training data and
where to get it, a listing of the third-party training data and where to get it), the
complete code to train and run under OSI-approved licences, and the parameters under
OSI-approved terms, with the freedoms to use, study, modify and share for any purpose.
Only what the snapshot shows counts: ``unknown`` never counts as ``met``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modeltrust._assess import rules
from modeltrust._assess.artefacts import Artefacts
from modeltrust._assess.card import Card
from modeltrust._assess.catalogue import catalogue, osi_approved
from modeltrust._assess.data import DataResult
from modeltrust._assess.filelicence import FileLicences
from modeltrust._assess.licence import LicenceResult
from modeltrust.findings import Finding
from modeltrust.rules import finding

MET, NOT_MET, UNKNOWN = "met", "not_met", "unknown"
MIN_DESCRIPTION_WORDS = 30
_WHERE = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$|^https?://\S+$")
"""A dataset named by hub id (``org/name``, legacy ``name``) or URL says where to get it."""
_PRIVATE = re.compile(r"[^.\n]{0,160}\b(proprietary|internal|in-house|private|licensed from|"
                      r"undisclosed)\b[^.\n]{0,160}", re.IGNORECASE)

RULES: dict[str, str] = {
    "OSAID-DATA-DESCRIPTION": "Complete description of all data used for training",
    "OSAID-DATA-PUBLIC": "Listing of publicly available training data and where to obtain it",
    "OSAID-DATA-THIRD-PARTY": "Listing of third-party training data and where to obtain it",
    "OSAID-CODE": "Code to train and run the system under OSI-approved licences",
    "OSAID-PARAMETERS": "Parameters (weights) under OSI-approved terms",
    "OSAID-FREEDOMS": "Use, study, modify and share for any purpose (no restrictive clause)",
}


@dataclass(frozen=True)
class OsaidRule:
    """One checklist item: its id, title, status and the evidence for the status."""

    id: str
    title: str
    status: str
    evidence: str

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"id": self.id, "title": self.title, "status": self.status,
                "evidence": self.evidence}


@dataclass(frozen=True)
class OsaidResult:
    """The checklist and its verdict (``met`` only when every rule is met)."""

    rules: tuple[OsaidRule, ...]

    @property
    def verdict(self) -> str:
        """``met`` when every rule is met; ``not_met`` otherwise (unknown is not met)."""
        return MET if all(r.status == MET for r in self.rules) else NOT_MET

    def to_dict(self) -> dict[str, object]:
        """JSON form (the ``osaid`` object of the openness report)."""
        return {"version": "1.0", "verdict": self.verdict,
                "rules": [r.to_dict() for r in self.rules]}


def assess_osaid(art: Artefacts, card: Card, lic: LicenceResult, data: DataResult,
                 per_file: FileLicences, target: str, findings: list[Finding]) -> OsaidResult:
    """Evaluate every rule; add one info finding listing the rules that are not met."""
    statuses = {
        "OSAID-DATA-DESCRIPTION": _description(card, data),
        "OSAID-DATA-PUBLIC": _public(data),
        "OSAID-DATA-THIRD-PARTY": _third_party(card, data),
        "OSAID-CODE": _code(art, per_file),
        "OSAID-PARAMETERS": _parameters(art, lic),
        "OSAID-FREEDOMS": _freedoms(lic),
    }
    result = OsaidResult(tuple(OsaidRule(k, RULES[k], *statuses[k]) for k in RULES))
    failing = [f"{r.id}={r.status}" for r in result.rules if r.status != MET]
    if failing:
        findings.append(finding(rules.OSS_NOT_OPEN, target, "; ".join(failing)))
    return result


def _description(card: Card, data: DataResult) -> tuple[str, str]:
    sec = card.section("training_data")
    if sec is not None and data.description_words >= MIN_DESCRIPTION_WORDS:
        return MET, (f"training data section '{sec.heading}' (line {sec.line}, "
                     f"{data.description_words} words); completeness is not machine-checkable")
    if sec is not None:
        return UNKNOWN, f"training data section '{sec.heading}' has only {sec.words} words"
    if data.training:
        return UNKNOWN, f"{len(data.training)} dataset(s) named but not described"
    return NOT_MET, "no training data section and no declared datasets"


def _public(data: DataResult) -> tuple[str, str]:
    """Met when every training dataset is named so that it can be fetched (hub id or URL)."""
    if data.training:
        vague = [d.id for d in data.training if not _WHERE.match(d.id)]
        names = ", ".join(d.id for d in data.training[:10])
        if vague:
            return UNKNOWN, (f"{len(vague)} training dataset(s) named without where to get "
                             f"them: {', '.join(repr(v[:80]) for v in vague[:5])}")
        return MET, f"{len(data.training)} training dataset(s) declared by id: {names}"
    if data.described:
        return UNKNOWN, "training data is described but no dataset is listed by id"
    return NOT_MET, "no training dataset listed"


def _third_party(card: Card, data: DataResult) -> tuple[str, str]:
    if not data.training and not data.described:
        return NOT_MET, "no training data listed"
    text = card.section_text("training_data")
    m = _PRIVATE.search(text)
    if m:
        return UNKNOWN, f"the card mentions data that may not be listed: '{m.group(0).strip()}'"
    if data.training:
        return MET, (f"{len(data.training)} dataset(s) listed by id; the card mentions no "
                     "unlisted third-party data")
    return UNKNOWN, "training data is described but not listed by id"


def _code(art: Artefacts, per_file: FileLicences) -> tuple[str, str]:
    """Training and inference code under OSI-approved licences.

    Each code file in the snapshot is under the nearest licence text in its folders, else
    the model's licence (the same resolution MOF uses); a model library named by the card
    runs the model under that library's own licence.
    """
    train, run = art.training_code, art.inference_code
    own = train + art.files.get("inference_code", ())
    licensed = [(path, *per_file.of(path)) for path in own]
    for path, spdx, src in licensed:
        if spdx is not None and not osi_approved(spdx):
            return NOT_MET, f"code in the snapshot ({path}) is under {spdx} ({src}), " \
                            "not OSI-approved"
    missing = [n for n, v in (("training code", train), ("inference code", run)) if not v]
    hint = f"; the card mentions {art.mentioned_code[0]}" if art.mentioned_code else ""
    if missing:
        return UNKNOWN, f"{' and '.join(missing)} not found in the snapshot{hint}"
    unknown = next(((path, src) for path, spdx, src in licensed if spdx is None), None)
    if unknown is not None:
        why = f"{unknown[1]} is not identified" if unknown[1] else "no licence is known"
        return UNKNOWN, f"code found ({train[0]}, {run[0]}) but the licence of {unknown[0]} " \
                        f"is not known ({why})"
    by_path = {path: f"{spdx} ({src})" for path, spdx, src in licensed}
    if art.library and not art.files.get("inference_code"):
        by_path[run[0]] = f"{catalogue().libraries[art.library]} (the library's licence)"
    return MET, f"training code {train[0]} under {by_path[train[0]]} and inference code " \
                f"{run[0]} under {by_path[run[0]]}"


def _parameters(art: Artefacts, lic: LicenceResult) -> tuple[str, str]:
    if not art.weights:
        return UNKNOWN, "no parameter files in the snapshot"
    first = art.weights[0]
    if lic.status != "identified":
        return UNKNOWN, f"{first}: licence {lic.status}"
    if lic.osi_approved:
        return MET, f"{first} under {lic.spdx} ({lic.source}), an OSI-approved licence"
    if lic.terms in ("restricted", "non-commercial", "research-only"):
        return NOT_MET, f"{first} under {lic.spdx} ({lic.terms})"
    return UNKNOWN, (f"{first} under {lic.spdx}: an open licence that is not OSI-approved; "
                     "OSI has not said it counts as OSI-approved terms")


def _freedoms(lic: LicenceResult) -> tuple[str, str]:
    restrictive = lic.restrictive_clauses
    if restrictive:
        c = restrictive[0]
        return NOT_MET, f"{c.kind} in {c.path} line {c.line}: '{c.quote}'"
    if lic.status != "identified":
        return UNKNOWN, f"licence {lic.status}"
    if lic.terms in ("restricted", "non-commercial", "research-only"):
        return NOT_MET, f"{lic.spdx} is a {lic.terms} licence"
    if lic.osi_approved:
        return MET, f"{lic.spdx} is OSI-approved and no restrictive clause was found"
    return UNKNOWN, f"{lic.spdx} is not OSI-approved; no restrictive clause was found"
