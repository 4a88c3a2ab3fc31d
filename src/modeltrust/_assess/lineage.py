"""Declared lineage: what the model says it derives from, and the licence duties that follow.

Sources: the card's ``base_model`` and ``base_model_relation``, PEFT's
``adapter_config.json`` (``base_model_name_or_path``), mergekit's ``mergekit_config.yml``
(the models merged) and GGUF ``general.base_model.*``.
Licence inheritance is checked where a base model's terms are known: from the base
model's own card when it sits in the same Hugging Face cache, otherwise from the
well-known naming of releases whose licences bind derivatives (Llama, Gemma, the Qwen
releases that are not Apache-2.0). One mechanism serves all of them: the base's catalogue
licence gives its family, whether it restricts use, and the naming duty it imposes.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from modeltrust._assess import rules
from modeltrust._assess.artefacts import is_weight
from modeltrust._assess.card import Card, headings, split_front_matter
from modeltrust._assess.catalogue import Licence, catalogue
from modeltrust._assess.licence import LicenceResult, resolve
from modeltrust._assess.naming import model_name
from modeltrust._assess.snapshot import Snapshot, decode_text
from modeltrust._assess.yamlsafe import as_list, as_str, load_json_mapping, load_yaml_mapping
from modeltrust.findings import Finding, Location
from modeltrust.rules import finding

RELATIONS = ("adapter", "finetune", "merge", "quantized")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
"""A hub repository id (``org/name``): the only ids turned into cache folder names."""
MAX_BASES = 32
MAX_ADAPTER_CONFIGS = 16
MAX_MERGE_CONFIGS = 4
MERGE_CONFIG_BYTES = 64 * 1024
README_BYTES = 256 * 1024

_SEP = r"(?:^|[/_\-. ])"
_LLAMA_VERSIONED = re.compile(
    _SEP + r"(?:meta[-_ ]?)?llama[-_ ]?([234](?:\.\d)?)(?![\d.]|[bm](?:$|[-_. ]))",
    re.IGNORECASE)
"""Llama 2, 3, 3.x and 4 by name (``Hermes-3-Llama-3.1-8B``); ``llama-7b`` is a size."""
_LLAMA_ANY = re.compile(_SEP + r"(?:meta[-_ ]?)?llama(?:$|[-_. \d])|^meta-llama/",
                        re.IGNORECASE)
_CODE_LLAMA = re.compile(r"code[-_ ]?llama", re.IGNORECASE)
_NOT_LLAMA = re.compile(r"open[-_ ]?llama|tiny[-_ ]?llama", re.IGNORECASE)
"""Independent models whose names contain "llama" (Apache-2.0 reproductions)."""
_LLAMA_KEYS = {"2": "llama2", "3": "llama3", "3.0": "llama3", "3.1": "llama3.1",
               "3.2": "llama3.2", "3.3": "llama3.3", "4": "llama4"}
_NAMED_RELEASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"gemma", re.IGNORECASE), "gemma"),
    (re.compile(r"(?:^|/)qwen-(?:\d|vl|audio)", re.IGNORECASE), "tongyi-qianwen"),
    (re.compile(r"(?:^|/)qwen1\.5-", re.IGNORECASE), "tongyi-qianwen"),
    (re.compile(r"(?:^|/)qwen2-(?:[a-z]+-)*72b", re.IGNORECASE), "tongyi-qianwen"),
    (re.compile(r"(?:^|/)qwen2\.5-(?:[a-z]+-)*72b", re.IGNORECASE), "qwen"),
    (re.compile(r"(?:^|/)qwen2\.5-(?:[a-z]+-)*3b", re.IGNORECASE), "qwen-research"),
)
"""Name pattern (on the repository name) -> catalogue key of the licence it is released under."""
_HUB = re.compile(r"^https?://(www\.)?(huggingface\.co|hf\.co|modelscope\.cn/models)/",
                  re.IGNORECASE)
_RELABEL_RULE = {"llama": rules.LIN_LLAMA_RELABEL, "gemma": rules.LIN_GEMMA_RELABEL}


SOURCES = ("card", "adapter_config", "mergekit_config", "gguf")
"""Where a base model is declared, most authoritative first."""


@dataclass(frozen=True)
class BaseModel:
    """One declared base model: its id, the relation and where it was declared.

    ``source``/``path`` name the most authoritative declaration; ``sources`` lists every
    source that declares the same base (compared as :func:`_key` does).
    """

    id: str
    relation: str | None
    source: str
    path: str
    licence: str | None = None
    sources: tuple[str, ...] = ()

    def sort_key(self) -> tuple[str, str, str, int, str, str]:
        """A total order (``relation`` and ``licence`` may be None)."""
        return (_key(self.id), self.id, self.relation or "", _rank(self.source), self.path,
                self.licence or "")

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"id": self.id, "relation": self.relation, "source": self.source,
                "sources": list(self.sources or (self.source,)), "path": self.path,
                "licence": self.licence}


@dataclass(frozen=True)
class LineageResult:
    """Declared base models, the relation and the name the model goes by."""

    base_models: tuple[BaseModel, ...]
    relation: str | None
    model_name: str | None
    relation_source: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON form (the ``lineage`` object of the openness report)."""
        return {"base_models": [b.to_dict() for b in self.base_models],
                "relation": self.relation, "relation_source": self.relation_source,
                "model_name": self.model_name}


def assess_lineage(snap: Snapshot, card: Card, gguf: dict[str, dict[str, str]],
                   lic: LicenceResult, findings: list[Finding]) -> LineageResult:
    """Collect base models from every source, then check conflicts and licence duties."""
    card_path = snap.path_of(card.rel) if card.rel else snap.shown
    relation = as_str(card.meta.get("base_model_relation")).lower()[:50] or None
    if relation is not None and relation not in RELATIONS:
        findings.append(finding(rules.LIN_BAD_META, card_path,
                                f"base_model_relation: {relation!r} (expected one of "
                                f"{', '.join(RELATIONS)})", Location(detail="YAML front matter")))
        relation = None
    declared = as_list(card.meta.get("base_model"))[:MAX_BASES]
    bases = [BaseModel(_norm(b), relation, "card", card_path, _local_licence(snap, _norm(b)))
             for b in declared]
    bases += _adapter(snap, findings)
    bases += _mergekit(snap, findings)
    for path, meta in sorted(gguf.items()):
        bases += _gguf_bases(path, meta)
    relation, rsource = _relation(relation, bases, len({_key(_norm(b)) for b in declared}),
                                  _only_gguf_weights(snap))
    _conflicts(bases, findings)
    name = _model_name(snap, card, gguf)
    result = LineageResult(merge_bases(bases), relation, name, rsource)
    _inheritance(result, lic, card_path, findings)
    return result


def _rank(source: str) -> int:
    return SOURCES.index(source) if source in SOURCES else len(SOURCES)


def merge_bases(bases: list[BaseModel]) -> tuple[BaseModel, ...]:
    """One entry per base model, however many sources declare it, in a total order.

    The same base named by the card and by ``adapter_config.json`` (the usual PEFT layout)
    or by a GGUF ``general.base_model`` key is one base: its id, source and path come from
    the most authoritative source (card, adapter config, GGUF; the first declared within
    one source), its relation is the most specific one declared (the card's
    ``base_model_relation``, else ``adapter`` from an adapter config, else none) and its
    licence the first one known.
    """
    groups: dict[str, list[BaseModel]] = {}
    for b in bases:
        groups.setdefault(_key(b.id), []).append(b)
    out = []
    for group in groups.values():
        group.sort(key=lambda b: _rank(b.source))  # stable: declaration order within a source
        first = group[0]
        out.append(BaseModel(
            first.id, next((b.relation for b in group if b.relation), None), first.source,
            first.path, next((b.licence for b in group if b.licence), None),
            tuple(sorted({b.source for b in group}, key=_rank))))
    return tuple(sorted(out, key=BaseModel.sort_key))


def _relation(declared: str | None, bases: list[BaseModel], card_bases: int,
              only_gguf: bool) -> tuple[str | None, str | None]:
    """The declared relation, else what the Hub itself would infer from the files.

    An adapter config makes an adapter; a mergekit config or several card bases a merge;
    a folder whose only weights are GGUF files, with one base on the card, a quantization
    of that base.
    """
    if declared is not None:
        return declared, "card"
    if any(b.source == "adapter_config" for b in bases):
        return "adapter", "inferred"
    if card_bases > 1 or any(b.source == "mergekit_config" for b in bases):
        return "merge", "inferred"
    if card_bases == 1 and only_gguf:
        return "quantized", "inferred"
    return None, None


def _only_gguf_weights(snap: Snapshot) -> bool:
    """The snapshot's weights are all GGUF files (and there is at least one)."""
    weights = [r for r in snap.files if is_weight(r)]
    return bool(weights) and all(r.lower().endswith(".gguf") for r in weights)


def _norm(text: str) -> str:
    return _HUB.sub("", text.strip()).strip("/")[:300]


def _key(ident: str) -> str:
    """Comparison key: GGUF writes ``Meta Llama/Llama 3.2 1B`` for ``meta-llama/Llama-3.2-1B``."""
    return re.sub(r"[\s_]+", "-", ident.strip().lower())


def _adapter(snap: Snapshot, findings: list[Finding]) -> list[BaseModel]:
    out: list[BaseModel] = []
    for rel in snap.glob(r"(^|/)adapter_config\.json$")[:MAX_ADAPTER_CONFIGS]:
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


def _mergekit(snap: Snapshot, findings: list[Finding]) -> list[BaseModel]:
    """The models a mergekit config merges.

    ``models[].model``, ``slices[].sources[].model``, MoE ``experts[].source_model`` and
    ``base_model`` (``model+lora`` names both).
    """
    out: list[BaseModel] = []
    rels = snap.glob(r"(^|/)mergekit_(config|moe_config)\.ya?ml$")[:MAX_MERGE_CONFIGS]
    for rel in rels:
        data, error = snap.read_bytes(rel, MERGE_CONFIG_BYTES + 1)
        if not error and len(data) > MERGE_CONFIG_BYTES:
            error = f"larger than {MERGE_CONFIG_BYTES} bytes"
        meta, reason = (None, error) if error else \
            load_yaml_mapping(data.decode("utf-8", "replace"))
        if meta is None:
            findings.append(finding(rules.LIN_BAD_META, snap.path_of(rel), reason))
            continue
        names: list[object] = [meta.get("base_model")]
        for item in _items(meta.get("models")):
            names.append(item.get("model"))
        for sl in _items(meta.get("slices")):
            names += [src.get("model") for src in _items(sl.get("sources"))]
        names += [e.get("source_model") for e in _items(meta.get("experts"))]
        for name in names:
            for part in as_str(name).split("+")[:2] if isinstance(name, str) else ():
                if part.strip() and len(out) < MAX_BASES:
                    out.append(BaseModel(_norm(part), "merge", "mergekit_config",
                                         snap.path_of(rel), _local_licence(snap, _norm(part))))
    return out


def _items(value: object) -> list[dict[str, object]]:
    """The mappings of a YAML list (bounded); anything else is no items."""
    return [v for v in value[:256] if isinstance(v, dict)] if isinstance(value, list) else []


def _gguf_bases(path: str, meta: dict[str, str]) -> list[BaseModel]:
    """``general.base_model.N.*`` for N below the count *and* any N that has keys."""
    try:
        count = max(0, min(int(meta.get("general.base_model.count", "0")), MAX_BASES))
    except ValueError:
        count = 0
    present = {int(m.group(1)) for k in meta
               if (m := re.match(r"general\.base_model\.(\d{1,6})\.", k))}
    out: list[BaseModel] = []
    for i in sorted(set(range(count)) | present)[:MAX_BASES]:
        p = f"general.base_model.{i}."
        url = meta.get(p + "repo_url", "")
        org, name = meta.get(p + "organization", ""), meta.get(p + "name", "")
        ident = _norm(url) if url else "/".join(x for x in (org, name) if x)
        if ident:
            out.append(BaseModel(ident[:300], None, "gguf", path))
    return out


def _conflicts(bases: list[BaseModel], findings: list[Finding]) -> None:
    by_source: dict[str, set[str]] = {}
    for b in bases:
        if b.source != "gguf" or "/" in b.id:
            by_source.setdefault(b.source, set()).add(_key(b.id))
    if len(by_source) < 2:
        return
    sets = list(by_source.values())
    if any(not (sets[0] & s) for s in sets[1:]):
        detail = "; ".join(f"{src}: {', '.join(sorted(ids))}"
                           for src, ids in sorted(by_source.items()))
        findings.append(finding(rules.LIN_CONFLICT, bases[0].path, detail[:2000]))


def _model_name(snap: Snapshot, card: Card, gguf: dict[str, dict[str, str]]) -> str | None:
    """The model's name by the rule in :mod:`.naming` (shared with the BOM)."""
    index = card.meta.get("model-index")
    indexed = (as_str(index[0].get("name")) if isinstance(index, list) and index
               and isinstance(index[0], dict) else "")
    gguf_names = [meta.get("general.name", "") for meta in gguf.values()]
    repo = snap.cache_root.name.split("--")[-1] if snap.cache_root is not None else None
    folder = snap.root.resolve().name if snap.single is None else None
    title = next((text for _line, level, text in headings(card.body) if level == 1), None)
    return model_name(as_str(card.meta.get("model_name")), indexed, *gguf_names, repo, folder,
                      title=title)


def base_licence(base: BaseModel) -> tuple[Licence | None, str]:
    """The base's licence and how it is known: its local card, else its well-known name."""
    cat = catalogue()
    if base.licence:
        return cat.by_id(base.licence), "its card in the local hub cache"
    how = "its name (a well-known release)"
    if _NOT_LLAMA.search(base.id):
        return None, ""
    m = _LLAMA_VERSIONED.search(base.id)
    if m:
        return cat.by_hf_id(_LLAMA_KEYS.get(m.group(1), "")), how
    if _CODE_LLAMA.search(base.id):
        return cat.by_hf_id("llama2"), how
    if _LLAMA_ANY.search(base.id):
        return _GENERIC_LLAMA, how
    repo = base.id.rsplit("/", 1)[-1]
    for pattern, key in _NAMED_RELEASES:
        if pattern.search(base.id) or pattern.search(repo):
            return cat.by_hf_id(key), how
    return None, ""


_GENERIC_LLAMA = Licence(key="llama", name="a Llama licence", id="LicenseRef-llama",
                         family="llama", terms="restricted", osi=False, open_types=())
"""A Llama base whose version the name does not tell (LLaMA 1, Llama Guard...)."""


def _inheritance(res: LineageResult, lic: LicenceResult, path: str,
                 findings: list[Finding]) -> None:
    if lic.status != "identified":
        return
    for base in res.base_models:
        parent, how = base_licence(base)
        parent_id = parent.id if parent is not None else base.licence
        if parent_id and ((parent is not None and parent.restrictive) or "-NC" in parent_id):
            _relabel(base, lic, parent, parent_id, how, path, findings)
        if parent is not None and parent.naming and res.relation != "quantized":
            _naming(parent, res.model_name, base, path, findings)


def _relabel(base: BaseModel, lic: LicenceResult, parent: Licence | None, parent_id: str,
             how: str, path: str, findings: list[Finding]) -> None:
    """Flag a derivative whose declared licence drops the terms of a restrictive base.

    Llama and Gemma terms must be passed on with any derivative, so any other licence is
    a relabelling; for other restrictive bases, a more permissive licence is.
    """
    family = parent.family if parent is not None else None
    if family is not None and lic.family == family:
        return
    rule = _RELABEL_RULE.get(family or "")
    if rule is None:
        permissive = lic.osi_approved or lic.terms in ("permissive", "open-content")
        if parent_id == lic.spdx or not permissive:
            return
        rule = rules.LIN_BASE_RELABEL
    named = parent.name if parent is not None else parent_id
    findings.append(finding(rule, path,
                            f"base model {base.id} ({base.source}) is under {named} "
                            f"({parent_id}, known from {how}); this model declares "
                            f"{lic.spdx}"))


def _naming(parent: Licence, name: str | None, base: BaseModel, path: str,
            findings: list[Finding]) -> None:
    """Llama 3 wants names to begin with "Llama 3", later versions with "Llama"."""
    if not name or _same_name(name, base.id):
        return
    want = parent.naming.lower()
    got = re.sub(r"[-_. ]+", " ", name.lower()).strip()
    got = re.sub(r"^llama(\d)", r"llama \1", got)
    if not got.startswith(want) or (want[-1].isdigit() and got[len(want):len(want) + 1]
                                    .isdigit()):
        findings.append(finding(rules.LIN_LLAMA_NAME, path,
                                f"model name {name!r} derives from {base.id} ({parent.name}); "
                                f"the licence requires it to begin with {parent.naming!r}"))


_FORMAT_SUFFIX = re.compile(
    r"( (gguf|ggml|awq|gptq|exl2|mlx|hqq|fp8|fp16|bf16|int[48]|bnb|\d(bit|bpw)|"
    r"q\d( ?[a-z0-9]{1,2}){0,3}|iq\d( ?[a-z0-9]{1,2}){0,3}|imatrix|quants?|quantized))+$")


def _name_key(name: str) -> str:
    """A name as compared to a base's.

    Lower case, separators as spaces, no ``Meta`` prefix, no trailing format or
    quantization words (``GGUF``, ``AWQ``, ``Q4_K_M``).
    """
    got = re.sub(r"[-_. ]+", " ", name.rsplit("/", 1)[-1].lower()).strip()
    got = re.sub(r"^meta ", "", got)
    return _FORMAT_SUFFIX.sub("", got).strip()


def _same_name(name: str, base_id: str) -> bool:
    """The model goes by its base's own name.

    A copy or a re-packaging keeps it, which is what the licence asks (the naming duty is
    for derivatives under a new name).
    """
    return bool(_name_key(name)) and _name_key(name) == _name_key(base_id)


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


def cache_readme(repo: Path) -> tuple[str | None, str | None]:
    """The README of a hub cache repository (``refs/main`` first): (shown path, text).

    Only regular files that resolve inside the cache are read (no FIFOs, no links out).
    """
    snaps = repo / "snapshots"
    try:
        revs = sorted(p for p in snaps.iterdir() if p.is_dir())[:64]
        bound = repo.parent.resolve()
    except (OSError, RuntimeError):
        return None, None
    rev = _ref_main(repo)
    if rev is not None and (snaps / rev).is_dir():
        revs = [snaps / rev] + [r for r in revs if r.name != rev]
    for folder in revs[:8]:
        data = _read_regular(folder / "README.md", bound)
        if data is None:
            continue
        text = decode_text("README.md", data[:README_BYTES], len(data), README_BYTES).text
        return f"{repo.name}/snapshots/{folder.name}/README.md", text
    return None, None


def _read_regular(path: Path, bound: Path) -> bytes | None:
    try:
        real = path.resolve(strict=True)
        if bound not in real.parents or not stat.S_ISREG(os.stat(real).st_mode):
            return None
        with open(real, "rb") as fh:
            return fh.read(README_BYTES + 1)
    except (OSError, RuntimeError):
        return None


def _ref_main(repo: Path) -> str | None:
    try:
        with open(repo / "refs" / "main", "rb") as fh:
            text = fh.read(128).decode("ascii", "replace").strip()
    except OSError:
        return None
    return text if re.fullmatch(r"[0-9a-f]{40}", text) else None


def _cache_readme(repo: Path) -> str | None:
    return cache_readme(repo)[1]
