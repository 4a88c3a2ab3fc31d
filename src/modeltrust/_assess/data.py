"""Training data: datasets the card declares, their local dataset cards, licences, gating.

Datasets come from the card's ``datasets`` (a list, or ModelScope's ``train``/``evaluation``
mapping) and from ``model-index`` evaluation results. A dataset's own card is read when it
is available offline: inside the snapshot (``datasets/<name>/README.md``,
``data/<name>/README.md``) or in the same Hugging Face cache (``datasets--org--name``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modeltrust._assess import rules
from modeltrust._assess.card import Card, split_front_matter
from modeltrust._assess.catalogue import catalogue
from modeltrust._assess.licence import resolve
from modeltrust._assess.lineage import HUB_ID
from modeltrust._assess.snapshot import Snapshot, decode_text
from modeltrust._assess.yamlsafe import as_list, as_str, load_yaml_mapping
from modeltrust.findings import Finding
from modeltrust.rules import finding

MAX_DATASETS = 256
MAX_LISTED = 20


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

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"id": self.id, "role": self.role, "card": self.card, "licence": self.licence,
                "terms": self.terms, "gated": self.gated,
                "source_datasets": list(self.source_datasets)}


@dataclass(frozen=True)
class DataResult:
    """Declared datasets and whether the card describes its training data."""

    datasets: tuple[Dataset, ...]
    described: bool
    description_words: int

    @property
    def training(self) -> tuple[Dataset, ...]:
        """Datasets declared for training (not evaluation)."""
        return tuple(d for d in self.datasets if d.role == "train")

    def to_dict(self) -> dict[str, object]:
        """JSON form (the ``data`` object of the openness report)."""
        return {"datasets": [d.to_dict() for d in self.datasets],
                "training_data_described": self.described,
                "description_words": self.description_words}


def assess_data(snap: Snapshot, card: Card, findings: list[Finding]) -> DataResult:
    """Collect datasets, read their local cards and flag risky or missing upstream data."""
    declared = _declared(card.meta) if card.meta_ok else []
    datasets = sorted({_with_card(snap, name, role) for name, role in declared[:MAX_DATASETS]})
    sec = card.section("training_data")
    words = sec.words if sec is not None else 0
    result = DataResult(tuple(datasets), sec is not None and words > 0, words)
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
    for model in index if isinstance(index, list) else []:
        results = model.get("results") if isinstance(model, dict) else None
        for res in results if isinstance(results, list) else []:
            ds = res.get("dataset") if isinstance(res, dict) else None
            if isinstance(ds, dict):
                name = as_str(ds.get("type")) or as_str(ds.get("name"))
                if name:
                    out.append((name, "evaluation"))
    return out


def _with_card(snap: Snapshot, name: str, role: str) -> Dataset:
    rel, text = _find_card(snap, name)
    if text is None:
        return Dataset(name[:300], role)
    meta_text, _, _ = split_front_matter(text)
    meta, _ = load_yaml_mapping(meta_text) if meta_text else (None, "")
    meta = meta or {}
    values = as_list(meta.get("license"))
    res = resolve(values[0], as_str(meta.get("license_name")),
                  as_str(meta.get("license_link"))) if values else None
    spdx = res.spdx if res is not None and res.known else None
    lic = catalogue().by_id(spdx) if spdx else None
    terms = lic.terms if lic else ("non-commercial" if spdx and "-NC" in spdx else
                                   "open" if spdx else None)
    gated = bool(meta.get("gated") or meta.get("extra_gated_prompt")
                 or meta.get("extra_gated_fields"))
    return Dataset(name[:300], role, rel, spdx, terms, gated,
                   tuple(sorted(as_list(meta.get("source_datasets"))[:64])))


def _find_card(snap: Snapshot, name: str) -> tuple[str | None, str | None]:
    base = name.rsplit("/", 1)[-1]
    for folder in ("datasets", "data", "dataset"):
        for cand in (f"{folder}/{name}/README.md", f"{folder}/{base}/README.md"):
            if cand in snap.files and ".." not in cand:
                text = snap.read_text(cand, 256 * 1024)
                return snap.path_of(cand), text.text
    if snap.cache_root is not None and HUB_ID.match(name) and ".." not in name:
        repo = snap.cache_root.parent / ("datasets--" + name.replace("/", "--"))
        return _cache_card(repo)
    return None, None


def _cache_card(repo: Path) -> tuple[str | None, str | None]:
    try:
        revs = sorted(p for p in (repo / "snapshots").iterdir() if p.is_dir())
    except OSError:
        return None, None
    for rev in revs[:8]:
        try:
            with open(rev / "README.md", "rb") as fh:
                data = fh.read(256 * 1024)
        except OSError:
            continue
        text = decode_text("README.md", data, len(data)).text
        return f"{repo.name}/snapshots/{rev.name}/README.md", text
    return None, None


def _flags(snap: Snapshot, card: Card, result: DataResult, findings: list[Finding]) -> None:
    path = snap.path_of(card.rel) if card.rel else snap.shown
    if not result.training and not result.described:
        findings.append(finding(rules.OSS_NO_DATA, path,
                                "no datasets in the card metadata and no training data "
                                "section"))
    for ds in result.datasets:
        if ds.terms in ("non-commercial", "research-only"):
            findings.append(finding(rules.OSS_DATA_NC, ds.card or path,
                                    f"dataset {ds.id} ({ds.role}) is under {ds.licence}"))
        if ds.gated:
            findings.append(finding(rules.OSS_DATA_GATED, ds.card or path,
                                    f"dataset {ds.id} is gated"))
    unknown = sorted({d.id for d in result.training if d.licence is None})
    if unknown:
        shown = ", ".join(unknown[:MAX_LISTED])
        more = f" and {len(unknown) - MAX_LISTED} more" if len(unknown) > MAX_LISTED else ""
        findings.append(finding(rules.OSS_DATA_UNKNOWN, path,
                                f"{len(unknown)} training dataset(s) without a local card "
                                f"or known licence: {shown}{more}"))
