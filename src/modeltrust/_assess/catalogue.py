"""The licence catalogue (``data/licences.json``): ids, families, terms and fingerprints.

Kept as data so that adding a licence or a fingerprint is a data change with a test, not
code. Fingerprints are short phrases, never licence texts. SPDX ids are normalised with
``license-expression``; ids it does not know are ``LicenseRef-`` ids (``scancode`` ones from
its index where they exist, ``modeltrust`` ones otherwise).
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

_NORM = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Lower case, quotes and punctuation as single spaces: the space fingerprints live in.

    ``++`` is kept as the word ``plusplus`` (OpenRAIL++-M differs from OpenRAIL-M only there).
    """
    return " " + _NORM.sub(" ", text.lower().replace("++", " plusplus ")).strip() + " "


@dataclass(frozen=True)
class Licence:
    """One catalogued licence."""

    key: str
    name: str
    id: str
    family: str
    terms: str
    osi: bool
    open_types: tuple[str, ...]
    hf: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    version: str = ""
    naming: str = ""
    fingerprints: tuple[tuple[str, ...], ...] = ()
    exclude: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    """Regular expressions for ``license_link`` URLs that name this licence."""
    restrictions: tuple[str, ...] = ()
    """Use restrictions the terms state: ``non-commercial``, ``research-only`` or both."""
    generic: bool = False
    """The id names a family (Hugging Face's ``openrail``): any member's text agrees."""

    @property
    def restrictive(self) -> bool:
        """Terms that restrict use (not permissive, copyleft or open content)."""
        return self.terms in ("restricted", "non-commercial", "research-only", "policy")


@dataclass(frozen=True)
class Catalogue:
    """All catalogued licences plus the OSI / open-data / open-content id sets."""

    licences: tuple[Licence, ...]
    hf_aliases: dict[str, str]
    libraries: dict[str, str]
    """Model libraries (card ``library_name``) -> the SPDX id of their own code licence."""
    osi_approved: frozenset[str]
    open_data: frozenset[str]
    open_content: frozenset[str]

    def by_hf_id(self, text: str) -> Licence | None:
        """The licence a Hugging Face id or a ``license_name`` names.

        Case, punctuation and spacing are ignored (``Apache License, Version 2.0``).
        """
        wanted = text.strip().lower()
        for lic in self.licences:
            if wanted in lic.hf or wanted == lic.key or wanted in lic.names:
                return lic
        loose = normalise(wanted)
        if loose.strip():
            for lic in self.licences:
                if any(normalise(n) == loose for n in (lic.key, *lic.hf, *lic.names)):
                    return lic
        return None

    def by_link(self, url: str) -> Licence | None:
        """The licence a ``license_link`` URL names, when its address is distinctive."""
        for lic in self.licences:
            if any(re.search(p, url[:500], re.IGNORECASE) for p in lic.links):
                return lic
        return None

    def by_id(self, spdx: str) -> Licence | None:
        """The catalogued licence with this SPDX or LicenseRef id."""
        return next((lic for lic in self.licences if lic.id == spdx), None)


@functools.cache
def catalogue() -> Catalogue:
    """Load the catalogue once."""
    raw = json.loads(resources.files("modeltrust._assess").joinpath(
        "data/licences.json").read_text(encoding="utf-8"))
    return Catalogue(
        licences=tuple(_licence(e) for e in raw["licences"]),
        hf_aliases=dict(raw["hf_aliases"]),
        libraries=dict(raw["libraries"]),
        osi_approved=frozenset(raw["osi_approved"]),
        open_data=frozenset(raw["open_data"]),
        open_content=frozenset(raw["open_content"]),
    )


def _licence(e: dict[str, Any]) -> Licence:
    return Licence(
        key=e["key"], name=e["name"], id=e["id"], family=e["family"], terms=e["terms"],
        osi=bool(e["osi"]), open_types=tuple(e["open_types"]),
        hf=tuple(e.get("hf", ())), names=tuple(n.lower() for n in e.get("names", ())),
        version=e.get("version", ""), naming=e.get("naming", ""),
        fingerprints=tuple(tuple(normalise(p) for p in fp) for fp in e.get("fingerprints", ())),
        exclude=tuple(normalise(p) for p in e.get("exclude", ())),
        links=tuple(e.get("links", ())),
        restrictions=tuple(sorted(set(e.get("restrictions", ())) | (
            {e["terms"]} if e["terms"] in RESTRICTIONS else set()))),
        generic=bool(e.get("generic", False)),
    )


RESTRICTIONS = ("non-commercial", "research-only")
"""Terms that are also use restrictions (a licence may state several)."""


def split_ids(spdx: str | None) -> set[str]:
    """The licence ids of an SPDX expression (operators and parentheses dropped)."""
    if not spdx:
        return set()
    return {t for t in re.split(r"[\s()]+", spdx) if t and t not in ("AND", "OR", "WITH")}


def osi_approved(spdx: str | None) -> bool:
    """True when every licence of an expression is OSI-approved."""
    ids = split_ids(spdx)
    return bool(ids) and ids <= catalogue().osi_approved


def open_types_of(spdx: str | None) -> tuple[str, ...]:
    """MOF content types (code, data, document) for which ``spdx`` is an open licence.

    Every licence of an expression must qualify (conservative for ``OR`` too).
    """
    cat = catalogue()
    ids = split_ids(spdx)
    if not ids:
        return ()
    entries = {i: cat.by_id(i) for i in ids}
    out = []
    for kind, allowed in (("code", cat.osi_approved), ("data", cat.open_data),
                          ("document", cat.open_content)):
        if all(i in allowed or (e is not None and kind in e.open_types)
               for i, e in entries.items()):
            out.append(kind)
    return tuple(out)


@functools.cache
def _spdx() -> Any:
    module: Any = importlib.import_module("license_expression")
    return module.get_spdx_licensing()


def spdx_expression(text: str) -> str | None:
    """Normalise an SPDX-like expression (``apache-2.0`` -> ``Apache-2.0``), else None."""
    if not text or len(text) > 200:
        return None
    try:
        module: Any = importlib.import_module("license_expression")
    except ImportError:  # pragma: no cover - the openness extra is missing
        return None
    try:
        parsed = _spdx().parse(text, validate=True, strict=False)
    except (module.ExpressionError, ValueError, TypeError, AttributeError, RecursionError):
        return None
    if parsed is None:
        return None
    rendered: str = parsed.render()
    return rendered


def fingerprint(text: str) -> list[tuple[Licence, int]]:
    """Licences whose fingerprint matches ``text``, in the order their evidence appears.

    The licence a file *is* comes first (its title or opening words); licences it only
    mentions or quotes further down come after. Ties go to the longer evidence.
    """
    norm = normalise(text[:2_000_000])
    hits: list[tuple[Licence, int, int]] = []
    for lic in catalogue().licences:
        if any(x in norm for x in lic.exclude):
            continue
        best: tuple[int, int] | None = None
        for phrases in lic.fingerprints:
            found = [norm.find(p) for p in phrases]
            if all(i >= 0 for i in found):
                cand = (min(found), -sum(len(p) for p in phrases))
                best = cand if best is None else min(best, cand)
        if best is not None:
            hits.append((lic, best[0], -best[1]))
    return [(lic, size) for lic, _, size in sorted(hits, key=lambda h: (h[1], -h[2], h[0].key))]
