"""Declared lineage: what the model says it derives from, and the licence duties that follow.

Sources: the card's ``base_model`` and ``base_model_relation``, PEFT's
``adapter_config.json`` (``base_model_name_or_path``) and GGUF ``general.base_model.*``.
Licence inheritance is checked where the base model's terms are known: from the base
model's own card when it sits in the same Hugging Face cache, otherwise from well-known
naming of Llama and Gemma releases (whose licences bind derivatives).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from modeltrust._assess import rules
from modeltrust._assess.card import Card, split_front_matter
from modeltrust._assess.catalogue import catalogue
from modeltrust._assess.licence import LicenceResult, resolve
from modeltrust._assess.snapshot import Snapshot, decode_text
from modeltrust._assess.yamlsafe import as_list, as_str, load_json_mapping, load_yaml_mapping
from modeltrust.findings import Finding, Location
from modeltrust.rules import finding

RELATIONS = ("adapter", "finetune", "merge", "quantized")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
"""A hub repository id (``org/name``): the only ids turned into cache folder names."""
_LLAMA = re.compile(r"(^|/)(meta-)?llama[-_ ]?(\d(?:\.\d)?)", re.IGNORECASE)
_GEMMA = re.compile(r"(^|/|-)(code|pali|recurrent|med|shield)?gemma", re.IGNORECASE)
_HUB = re.compile(r"^https?://(www\.)?(huggingface\.co|hf\.co|modelscope\.cn/models)/",
                  re.IGNORECASE)


@dataclass(frozen=True, order=True)
class BaseModel:
    """One declared base model: its id, the relation and where it was declared."""

    id: str
    relation: str | None
    source: str
    path: str
    licence: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"id": self.id, "relation": self.relation, "source": self.source,
                "path": self.path, "licence": self.licence}


@dataclass(frozen=True)
class LineageResult:
    """Declared base models, the relation and the name the model goes by."""

    base_models: tuple[BaseModel, ...]
    relation: str | None
    model_name: str | None

    def to_dict(self) -> dict[str, object]:
        """JSON form (the ``lineage`` object of the openness report)."""
        return {"base_models": [b.to_dict() for b in self.base_models],
                "relation": self.relation, "model_name": self.model_name}


def assess_lineage(snap: Snapshot, card: Card, gguf: dict[str, dict[str, str]],
                   lic: LicenceResult, findings: list[Finding]) -> LineageResult:
    """Collect base models from every source, then check conflicts and licence duties."""
    card_path = snap.path_of(card.rel) if card.rel else snap.shown
    relation = as_str(card.meta.get("base_model_relation")).lower() or None
    if relation is not None and relation not in RELATIONS:
        findings.append(finding(rules.LIN_BAD_META, card_path,
                                f"base_model_relation: {relation!r} (expected one of "
                                f"{', '.join(RELATIONS)})", Location(detail="YAML front matter")))
    bases = [BaseModel(_norm(b), relation, "card", card_path, _local_licence(snap, _norm(b)))
             for b in as_list(card.meta.get("base_model"))[:32]]
    bases += _adapter(snap, findings)
    for path, meta in sorted(gguf.items()):
        bases += _gguf_bases(path, meta)
    if relation is None and any(b.source == "adapter_config" for b in bases):
        relation = "adapter"
    _conflicts(bases, findings)
    name = _model_name(snap, card, gguf)
    result = LineageResult(tuple(sorted(set(bases))), relation, name)
    _inheritance(result, lic, card_path, findings)
    return result


def _norm(text: str) -> str:
    return _HUB.sub("", text.strip()).strip("/")[:300]


def _adapter(snap: Snapshot, findings: list[Finding]) -> list[BaseModel]:
    out: list[BaseModel] = []
    for rel in snap.find("adapter_config.json"):
        data, error = snap.read_bytes(rel, 256 * 1024)
        meta, reason = load_json_mapping(data) if not error else (None, error)
        if meta is None:
            findings.append(finding(rules.LIN_BAD_META, snap.path_of(rel), reason))
            continue
        base = as_str(meta.get("base_model_name_or_path"))
        if base:
            out.append(BaseModel(_norm(base), "adapter", "adapter_config", snap.path_of(rel),
                                 _local_licence(snap, _norm(base))))
    return out


def _gguf_bases(path: str, meta: dict[str, str]) -> list[BaseModel]:
    out: list[BaseModel] = []
    try:
        count = min(int(meta.get("general.base_model.count", "0")), 32)
    except ValueError:
        count = 0
    for i in range(count):
        p = f"general.base_model.{i}."
        url = meta.get(p + "repo_url", "")
        org, name = meta.get(p + "organization", ""), meta.get(p + "name", "")
        ident = _norm(url) if url else "/".join(x for x in (org, name) if x)
        if ident:
            out.append(BaseModel(ident, None, "gguf", path))
    return out


def _conflicts(bases: list[BaseModel], findings: list[Finding]) -> None:
    by_source: dict[str, set[str]] = {}
    for b in bases:
        if b.source != "gguf" or "/" in b.id:
            by_source.setdefault(b.source, set()).add(b.id.lower())
    if len(by_source) < 2:
        return
    sets = list(by_source.values())
    if any(not (sets[0] & s) for s in sets[1:]):
        detail = "; ".join(f"{src}: {', '.join(sorted(ids))}"
                           for src, ids in sorted(by_source.items()))
        findings.append(finding(rules.LIN_CONFLICT, bases[0].path, detail))


def _model_name(snap: Snapshot, card: Card, gguf: dict[str, dict[str, str]]) -> str | None:
    name = as_str(card.meta.get("model_name"))
    index = card.meta.get("model-index")
    if not name and isinstance(index, list) and index and isinstance(index[0], dict):
        name = as_str(index[0].get("name"))
    for meta in gguf.values():
        name = name or meta.get("general.name", "")
    if not name and snap.cache_root is not None:
        name = snap.cache_root.name.split("--")[-1]
    if not name and snap.single is None:
        name = snap.root.resolve().name
    return name or None


def _inheritance(res: LineageResult, lic: LicenceResult, path: str,
                 findings: list[Finding]) -> None:
    if lic.status != "identified":
        return
    for base in res.base_models:
        llama = _LLAMA.search(base.id)
        if llama and lic.family != "llama":
            findings.append(finding(rules.LIN_LLAMA_RELABEL, path,
                                    f"base model {base.id} ({base.source}) is under a Llama "
                                    f"licence; this model declares {lic.spdx}"))
        if llama and res.relation != "quantized":
            _naming(llama.group(3), res.model_name, base, path, findings)
        if _GEMMA.search(base.id.split("/")[-1]) and lic.family != "gemma":
            findings.append(finding(rules.LIN_GEMMA_RELABEL, path,
                                    f"base model {base.id} ({base.source}) is under the Gemma "
                                    f"Terms of Use; this model declares {lic.spdx}"))
        if base.licence and not llama:
            _restrictive_base(base, lic, path, findings)


def _naming(version: str, name: str | None, base: BaseModel, path: str,
            findings: list[Finding]) -> None:
    if version.startswith("2") or not name:
        return
    want = "llama 3" if version == "3" else "llama"
    if not re.sub(r"[-_]+", " ", name.lower()).replace("llama3", "llama 3").startswith(want):
        findings.append(finding(rules.LIN_LLAMA_NAME, path,
                                f"model name {name!r} derives from {base.id} (Llama "
                                f"{version}); the licence requires it to begin with "
                                f"{'Llama 3' if version == '3' else 'Llama'}"))


def _restrictive_base(base: BaseModel, lic: LicenceResult, path: str,
                      findings: list[Finding]) -> None:
    parent = catalogue().by_id(base.licence or "")
    nc = base.licence is not None and "-NC" in base.licence
    restrictive = nc or (parent is not None and parent.restrictive)
    if restrictive and base.licence != lic.spdx and (lic.osi_approved or lic.terms in (
            "permissive", "open-content")):
        findings.append(finding(rules.LIN_BASE_RELABEL, path,
                                f"base model {base.id} is under {base.licence}; this model "
                                f"declares {lic.spdx}"))


def _local_licence(snap: Snapshot, base_id: str) -> str | None:
    """The licence on the base model's card when it is in the same hub cache."""
    if snap.cache_root is None or not HUB_ID.match(base_id):
        return None
    repo = snap.cache_root.parent / ("models--" + base_id.replace("/", "--"))
    card = _cache_readme(repo)
    if card is None:
        return None
    meta_text, _, _ = split_front_matter(card)
    meta, _ = load_yaml_mapping(meta_text) if meta_text else (None, "")
    if not meta:
        return None
    values = as_list(meta.get("license"))
    res = resolve(values[0], as_str(meta.get("license_name")),
                  as_str(meta.get("license_link"))) if values else None
    return res.spdx if res is not None and res.known else None


def _cache_readme(repo: Path) -> str | None:
    snaps = repo / "snapshots"
    try:
        revs = sorted(p for p in snaps.iterdir() if p.is_dir())
    except OSError:
        return None
    for rev in revs[:8]:
        readme = rev / "README.md"
        try:
            with open(readme, "rb") as fh:
                data = fh.read(256 * 1024)
        except OSError:
            continue
        return decode_text("README.md", data, len(data)).text
    return None
