"""Training data: datasets the card declares, their local dataset cards, licences, gating.

Datasets come from the card's ``datasets`` (a list, or ModelScope's ``train``/``evaluation``
mapping) and from ``model-index`` evaluation results. A dataset's own card is read when it
is available offline: inside the snapshot (``datasets/<name>/README.md``,
``data/<name>/README.md``) or in the same Hugging Face cache (``datasets--org--name``).
A dataset card's ``source_datasets`` are followed the same way (role ``source``, bounded
depth and count), so that non-commercial or unknown terms further upstream are seen too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from modeltrust._assess import rules
from modeltrust._assess.accountability import gated_meta
from modeltrust._assess.card import Card, split_front_matter
from modeltrust._assess.catalogue import catalogue
from modeltrust._assess.licence import resolve
from modeltrust._assess.lineage import cache_readme
from modeltrust._assess.snapshot import Snapshot
from modeltrust._assess.yamlsafe import as_list, as_str, load_yaml_mapping
from modeltrust.findings import Finding
from modeltrust.rules import finding

MAX_DATASETS = 256
MAX_SOURCES = 64
MAX_SOURCE_DEPTH = 3
MAX_LISTED = 20
CARD_BYTES = 256 * 1024
DATASET_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")
"""A hub dataset id (``org/name`` or a legacy canonical ``name``): safe as a folder name."""
_NOT_UPSTREAM = {"original", "extended", "other", "unknown", "none", "n/a"}
_RESTRICTED_TERMS = ("non-commercial", "research-only")
_TERMS_ORDER = ("open-content", "permissive", "copyleft", "restricted", "non-commercial",
                "research-only")


@dataclass(frozen=True, order=True)
class Dataset:
    """One declared dataset and what its card (when available) says about its terms."""

    id: str
    role: str
    card: str | None = None
    licence: str | None = None
    terms: str | None = None
    gated: bool | None = None
    source_datasets: tuple[str, ...] = ()
    via: str | None = None
    """For ``source`` datasets: the dataset whose card lists this one."""

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"id": self.id, "role": self.role, "card": self.card, "licence": self.licence,
                "terms": self.terms, "gated": self.gated,
                "source_datasets": list(self.source_datasets), "via": self.via}


@dataclass(frozen=True)
class DataResult:
    """Declared datasets and whether the card describes its training data."""

    datasets: tuple[Dataset, ...]
    described: bool
    description_words: int

    @property
    def training(self) -> tuple[Dataset, ...]:
        """Datasets declared for training (not evaluation, not upstream sources)."""
        return tuple(d for d in self.datasets if d.role == "train")

    def to_dict(self) -> dict[str, object]:
        """JSON form (the ``data`` object of the openness report)."""
        return {"datasets": [d.to_dict() for d in self.datasets],
                "training_data_described": self.described,
                "description_words": self.description_words}


def assess_data(snap: Snapshot, card: Card, findings: list[Finding]) -> DataResult:
    """Collect datasets, read their local cards and flag risky or missing upstream data."""
    declared = _declared(card.meta) if card.meta_ok else []
    datasets = {_with_card(snap, name, role) for name, role in declared[:MAX_DATASETS]}
    datasets |= _sources(snap, datasets)
    sec = card.section("training_data")
    words = sec.words if sec is not None else 0
    result = DataResult(tuple(sorted(datasets)), sec is not None and words > 0, words)
    _flags(snap, card, result, findings)
    return result


def _declared(meta: dict[str, Any]) -> list[tuple[str, str]]:
    raw = meta.get("datasets")
    out: list[tuple[str, str]] = []
    if isinstance(raw, dict):  # ModelScope: {train: [...], evaluation: [...]}
        for role, value in sorted(raw.items()):
            r = "evaluation" if role.lower().startswith(("eval", "test", "valid")) else "train"
            out.extend((d, r) for d in as_list(value))
    else:
        out.extend((d, "train") for d in as_list(raw))
    index = meta.get("model-index")
    for model in index[:64] if isinstance(index, list) else []:
        results = model.get("results") if isinstance(model, dict) else None
        for res in results[:256] if isinstance(results, list) else []:
            ds = res.get("dataset") if isinstance(res, dict) else None
            if isinstance(ds, dict):
                name = as_str(ds.get("type")) or as_str(ds.get("name"))
                if name:
                    out.append((name, "evaluation"))
    return out


def _sources(snap: Snapshot, datasets: set[Dataset]) -> set[Dataset]:
    """Follow ``source_datasets`` of local dataset cards, breadth first, within bounds."""
    seen = {d.id.lower() for d in datasets}
    frontier = sorted(d for d in datasets if d.role == "train")
    out: set[Dataset] = set()
    for _ in range(MAX_SOURCE_DEPTH):
        nxt: list[Dataset] = []
        for parent in frontier:
            for name in parent.source_datasets:
                if name.lower() in seen or len(out) >= MAX_SOURCES:
                    continue
                seen.add(name.lower())
                ds = _with_card(snap, name, "source", via=parent.id)
                out.add(ds)
                nxt.append(ds)
        frontier = nxt
    return out


def _with_card(snap: Snapshot, name: str, role: str, via: str | None = None) -> Dataset:
    name = name.strip()[:300]
    rel, text = _find_card(snap, name)
    if text is None:
        return Dataset(name, role, via=via)
    meta_text, _, _ = split_front_matter(text)
    meta, _ = load_yaml_mapping(meta_text) if meta_text else (None, "")
    meta = meta or {}
    spdx, terms = _licence(meta)
    return Dataset(name, role, rel, spdx, terms, gated_meta(meta), _upstream(meta), via)


def _licence(meta: dict[str, Any]) -> tuple[str | None, str | None]:
    """Every licence the card lists (subsets may differ): joined, with the strictest terms."""
    ids: list[str] = []
    terms: list[str] = []
    for value in as_list(meta.get("license"))[:16]:
        res = resolve(value, as_str(meta.get("license_name")), as_str(meta.get("license_link")))
        if res is None:
            continue
        if not res.known:
            return None, None  # one unknown licence makes the dataset's terms unknown
        lic = catalogue().by_id(res.spdx)
        ids.append(res.spdx)
        terms.append(lic.terms if lic else ("non-commercial" if "-NC" in res.spdx
                                            else "open"))
    if not ids:
        return None, None
    uniq = sorted(set(ids))
    spdx = uniq[0] if len(uniq) == 1 else " AND ".join(f"({i})" if " " in i else i
                                                       for i in uniq)
    return spdx, max(terms, key=_rank)


def _rank(terms: str) -> int:
    return _TERMS_ORDER.index(terms) if terms in _TERMS_ORDER else 3


def _upstream(meta: dict[str, Any]) -> tuple[str, ...]:
    """``source_datasets`` ids: ``extended|org/name`` -> ``org/name``; ``original`` dropped."""
    out: set[str] = set()
    for value in as_list(meta.get("source_datasets"))[:256]:
        ident = value.split("|", 1)[-1].strip()[:300]
        if ident and ident.lower() not in _NOT_UPSTREAM:
            out.add(ident)
    return tuple(sorted(out)[:64])


def _find_card(snap: Snapshot, name: str) -> tuple[str | None, str | None]:
    if not DATASET_ID.match(name):
        return None, None
    base = name.rsplit("/", 1)[-1]
    for folder in ("datasets", "data", "dataset"):
        for cand in (f"{folder}/{name}/README.md", f"{folder}/{base}/README.md"):
            if cand in snap.files:
                text = snap.read_text(cand, CARD_BYTES)
                return snap.path_of(cand), text.text
    if snap.cache_root is not None:
        repo = snap.cache_root.parent / ("datasets--" + name.replace("/", "--"))
        return cache_readme(repo)
    return None, None


def _flags(snap: Snapshot, card: Card, result: DataResult, findings: list[Finding]) -> None:
    path = snap.path_of(card.rel) if card.rel else snap.shown
    if not result.training and not result.described:
        findings.append(finding(rules.OSS_NO_DATA, path,
                                "no datasets in the card metadata and no training data "
                                "section"))
    for ds in result.datasets:
        where = f"{ds.role}, listed by {ds.via}" if ds.via else ds.role
        if ds.terms in _RESTRICTED_TERMS:
            findings.append(finding(rules.OSS_DATA_NC, ds.card or path,
                                    f"dataset {ds.id} ({where}) is under {ds.licence} "
                                    f"({ds.terms})"))
        if ds.gated:
            findings.append(finding(rules.OSS_DATA_GATED, ds.card or path,
                                    f"dataset {ds.id} ({where}) is gated"))
    unknown = sorted({d.id for d in result.datasets
                      if d.role in ("train", "source") and d.licence is None})
    if unknown:
        shown = ", ".join(unknown[:MAX_LISTED])
        more = f" and {len(unknown) - MAX_LISTED} more" if len(unknown) > MAX_LISTED else ""
        carded = sorted({d.id for d in result.datasets
                         if d.role in ("train", "source") and d.licence is None and d.card})
        note = (f"; with a local card that names no known licence: "
                f"{', '.join(carded[:MAX_LISTED])}") if carded else ""
        findings.append(finding(rules.OSS_DATA_UNKNOWN, path,
                                f"{len(unknown)} training or upstream dataset(s) without a "
                                f"local card or known licence: {shown}{more}{note}"))
