"""Model Openness Framework 1.0: 17 components, classes III, II and I.

Class III is the open model, II open tooling, I open science; each includes the ones below.

A component counts when it is present (in the snapshot, in the card, or through the model
library the card names) under a licence that is open *and* appropriate to its content type
(code: OSI-approved; data: open data licences; documents: open content licences, or an
open source licence where MOF allows code licences for documentation). A component's
licence is the nearest identified LICENSE file in its folder, else the model's licence.
Components only linked from the card have no licence visible offline, so they do not
count; the report says so, with the link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modeltrust._assess.artefacts import Artefacts
from modeltrust._assess.card import Card
from modeltrust._assess.catalogue import catalogue, open_types_of
from modeltrust._assess.data import DataResult
from modeltrust._assess.filelicence import FileLicences
from modeltrust._assess.licence import LicenceResult

# name, class, required, content types, artefact key
COMPONENTS: tuple[tuple[str, int, bool, tuple[str, ...], str], ...] = (
    ("Model architecture", 3, True, ("code",), "architecture_code"),
    ("Model parameters (Final)", 3, True, ("data", "code"), "weights"),
    ("Technical report", 3, True, ("document", "code"), "technical_report"),
    ("Evaluation results", 3, True, ("document", "code"), "evaluation_results"),
    ("Model card", 3, True, ("document", "code"), "model_card"),
    ("Data card", 3, True, ("document", "code"), "data_card"),
    ("Sample model outputs", 3, False, ("data", "code", "document"), "samples"),
    ("Training code", 2, True, ("code",), "training_code"),
    ("Inference code", 2, True, ("code",), "inference_code"),
    ("Evaluation code", 2, True, ("code",), "evaluation_code"),
    ("Evaluation data", 2, True, ("data",), "evaluation_data"),
    ("Supporting libraries and tools", 2, False, ("code",), "libraries"),
    ("Research paper", 1, True, ("document",), "research_paper"),
    ("Datasets", 1, True, ("data", "code", "document"), "datasets"),
    ("Model parameters (Intermediate)", 1, True, ("data",), "intermediate"),
    ("Data preprocessing code", 1, True, ("code",), "preprocessing_code"),
    ("Model metadata", 1, False, ("data",), "metadata"),
)
CLASS_NAMES = {3: "III", 2: "II", 1: "I"}
MIN_SECTION_WORDS = 20
_TABLE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$", re.MULTILINE)
_NUMBER_ROW = re.compile(r"^\s*\|.*\d.*\|", re.MULTILINE)
"""A Markdown table (its delimiter row) with a row holding a number: a results table."""


@dataclass(frozen=True)
class Component:
    """One MOF component: where it was found, its licence and whether it counts."""

    name: str
    mof_class: str
    required: bool
    content_types: tuple[str, ...]
    presence: str
    evidence: str
    licence: str | None
    licence_source: str | None
    open: bool
    type_appropriate: bool

    @property
    def satisfied(self) -> bool:
        """Present, under an open licence appropriate to the content type."""
        return self.presence in ("snapshot", "card", "library") and self.open \
            and self.type_appropriate

    def reason(self) -> str:
        """Why the component does not count (empty when it does)."""
        if self.presence == "absent":
            return "not found"
        if self.presence == "linked":
            return f"only linked ({self.evidence}); licence not visible offline"
        if self.licence is None:
            return "licence unknown"
        if not self.open:
            return f"licence {self.licence} is not an open licence"
        if not self.type_appropriate:
            kinds = "/".join(self.content_types)
            return f"licence {self.licence} is not an open licence for {kinds}"
        return ""

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"name": self.name, "class": self.mof_class, "required": self.required,
                "content_types": list(self.content_types), "presence": self.presence,
                "evidence": self.evidence, "licence": self.licence,
                "licence_source": self.licence_source, "open": self.open,
                "type_appropriate": self.type_appropriate, "satisfied": self.satisfied}


@dataclass(frozen=True)
class MofResult:
    """Components, the class reached and what the next class still needs."""

    components: tuple[Component, ...]
    mof_class: str | None
    next_class: str | None
    missing: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, object]:
        """JSON form (the ``mof`` object of the openness report)."""
        return {"version": "1.0", "class": self.mof_class, "next_class": self.next_class,
                "missing_for_next": [{"component": c, "reason": r} for c, r in self.missing],
                "components": [c.to_dict() for c in self.components]}


def assess_mof(art: Artefacts, card: Card, lic: LicenceResult, data: DataResult,
               local_licences: FileLicences) -> MofResult:
    """Evaluate each component and derive the class (III, then II, then I)."""
    comps = tuple(_component(spec, art, card, lic, data, local_licences) for spec in COMPONENTS)
    reached: str | None = None
    missing: tuple[tuple[str, str], ...] = ()
    next_class: str | None = "III"
    for level in (3, 2, 1):
        need = [c for c in comps if c.required and int(_level(c)) >= level and not c.satisfied]
        if need:
            missing = tuple((c.name, c.reason()) for c in need)
            next_class = CLASS_NAMES[level]
            break
        reached, next_class, missing = CLASS_NAMES[level], None, ()
    return MofResult(comps, reached, next_class, missing)


def _level(c: Component) -> int:
    return {"III": 3, "II": 2, "I": 1}[c.mof_class]


def _component(spec: tuple[str, int, bool, tuple[str, ...], str], art: Artefacts,
               card: Card, lic: LicenceResult, data: DataResult,
               local: FileLicences) -> Component:
    name, level, required, types, key = spec
    presence, evidence, licence, source = _locate(key, art, card, lic, data, local)
    opens = open_types_of(licence) if licence else ()
    return Component(name, CLASS_NAMES[level], required, types, presence, evidence, licence,
                     source, bool(opens), bool(set(opens) & set(types)))


def _locate(key: str, art: Artefacts, card: Card, lic: LicenceResult, data: DataResult,
            local: FileLicences) -> tuple[str, str, str | None, str | None]:
    model = local.model
    paths = _files(key, art)
    if paths:
        spdx, src = local.of(paths[0])
        return "snapshot", paths[0], spdx, src
    if key == "data_card" and card.rel is not None:
        found = _data_card(card, data, model)
        if found is not None:
            return found
    in_card = _in_card(key, card, data)
    if in_card:
        return "card", in_card, model[0], model[1]
    if key in ("datasets", "evaluation_data"):
        return _datasets(key, data)
    if key in ("architecture_code", "inference_code", "libraries") and art.library:
        spdx = catalogue().libraries[art.library]
        return "library", f"library_name: {art.library}", spdx, f"{art.library} licence"
    links = art.links.get(key, ())
    if links:
        return "linked", links[0], None, None
    return "absent", "", None, None


def _files(key: str, art: Artefacts) -> tuple[str, ...]:
    if key == "weights":
        return art.weights
    if key == "intermediate":
        return art.intermediate
    return art.files.get(key, ())


def _in_card(key: str, card: Card, data: DataResult) -> str:
    if card.rel is None:
        return ""
    if key == "model_card":
        return card.rel
    if key == "evaluation_results":
        if isinstance(card.meta.get("model-index"), list):
            return f"{card.rel}: model-index"
        for sec in (s for s in card.sections if s.kind == "evaluation" and s.by == "heading"):
            text = card.text_of(sec)
            if sec.words >= MIN_SECTION_WORDS or (_TABLE.search(text)
                                                  and _NUMBER_ROW.search(text)):
                return f"{card.rel}: section '{sec.heading}' (line {sec.line})"
    if key == "samples" and card.meta.get("widget"):
        return f"{card.rel}: widget"
    return ""


def _data_card(card: Card, data: DataResult, model: tuple[str | None, str | None]
               ) -> tuple[str, str, str | None, str | None] | None:
    """The data card and its licence.

    A dataset's own card (under that card's licence, never the model's), else the model
    card's training-data section (under the model card's licence).

    The first candidate whose licence is open for documents wins; else the first found,
    so that the report says why it does not count.
    """
    cands: list[tuple[str, str, str | None, str | None]] = []
    for d in sorted(data.datasets, key=lambda d: (d.role != "train", d.card or "", d.id)):
        if d.card:
            cands.append(("snapshot", d.card, d.licence,
                          f"dataset card ({d.id})" if d.licence else None))
    sec = card.section("training_data")
    if sec is not None and data.description_words >= 3 * MIN_SECTION_WORDS:
        cands.append(("card", f"{card.rel}: section '{sec.heading}' (line {sec.line})",
                      model[0], model[1]))
    good = next((c for c in cands if c[2] and set(open_types_of(c[2])) & {"document", "code"}),
                None)
    return good or (cands[0] if cands else None)


def _datasets(key: str, data: DataResult) -> tuple[str, str, str | None, str | None]:
    role = "train" if key == "datasets" else "evaluation"
    chosen = [d for d in data.datasets if d.role == role]
    if not chosen:
        return "absent", "", None, None
    unknown = [d for d in chosen if d.licence is None]
    if unknown and unknown[0].card:
        return "snapshot", f"{unknown[0].card} (no known licence)", None, None
    if unknown:
        return "linked", f"dataset {unknown[0].id} (no local card)", None, None
    ids = sorted({d.licence for d in chosen if d.licence})
    worst = next((i for i in ids if "data" not in open_types_of(i)), ids[0])
    cards = sorted(d.card for d in chosen if d.card)
    return "snapshot", cards[0] if cards else chosen[0].id, worst, "dataset card"
