"""What the snapshot and its card contain, sorted into the artefacts openness asks about.

Files are classified by name (weights, code for training, inference, evaluation and data
preparation, papers and reports, intermediate checkpoints); the card contributes links
(papers, reports, code repositories) and mentions of files that are not in the snapshot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modeltrust._assess.card import Card
from modeltrust._assess.snapshot import Snapshot
from modeltrust._assess.yamlsafe import as_str

_WEIGHT = re.compile(r"\.(safetensors|bin|pt|pth|ckpt|gguf|ggml|onnx|h5|keras|msgpack|npz|"
                     r"tflite|pb|mlmodel|joblib|pkl|pdparams|nemo)$", re.IGNORECASE)
_NOT_WEIGHT = re.compile(r"(^|/)(training_args|optimizer|scheduler|rng_state[^/]*|"
                         r"trainer_state)\.", re.IGNORECASE)
_INTERMEDIATE = re.compile(r"(^|/)(checkpoint[-_]?\d+|checkpoints|intermediate[^/]*|"
                           r"step[-_]?\d+)/", re.IGNORECASE)
_PATTERNS: dict[str, str] = {
    "training_code": r"(^|/)(train|training|finetune|fine_tune|pretrain|sft|dpo)[^/]*\.(py|sh)$",
    "inference_code": r"(^|/)(inference|infer|predict|generate|run|demo|handler|pipeline|"
                      r"modeling_[^/]*)\.py$",
    "architecture_code": r"(^|/)(modeling_[^/]*|model|models|architecture)\.py$",
    "evaluation_code": r"(^|/)(eval|evaluate|evaluation|benchmark)[^/]*\.(py|sh)$",
    "preprocessing_code": r"(^|/)(preprocess|prepare|data_prep|clean|dedup|filter)[^/]*"
                          r"\.(py|sh)$",
    "technical_report": r"(^|/)[^/]*(tech(nical)?[-_ ]?report)[^/]*\.(pdf|md|html|tex)$",
    "research_paper": r"(^|/)([^/]*paper[^/]*\.(pdf|md|tex)|paper/[^/]+\.(pdf|md|tex))$",
    "metadata": r"(^|/)(trainer_state\.json|training_args\.bin|train(ing)?_config[^/]*\."
                r"(json|ya?ml)|optimizer\.pt)$",
    "libraries": r"(^|/)(requirements[^/]*\.txt|pyproject\.toml|setup\.py|environment\.ya?ml)$",
    "data_card": r"(^|/)(data[-_]?card|datasheet)[^/]*\.md$",
}
_LINK = re.compile(r"\[([^\]\n]{0,200})\]\((https?://[^)\s]{1,500})\)|(https?://[^\s)>\]\"']{1,500})")
_PAPER_HOST = re.compile(r"arxiv\.org|doi\.org|openreview\.net|aclanthology\.org|"
                         r"proceedings\.|papers\.nips", re.IGNORECASE)
_CODE_HOST = re.compile(r"github\.com|gitlab\.com|huggingface\.co/[^/]+/[^/]+/blob/",
                        re.IGNORECASE)
_MENTION = re.compile(r"`([\w./-]{1,100}\.py)`")


@dataclass(frozen=True)
class Artefacts:
    """Snapshot files and card links per artefact kind (relative paths and URLs, sorted)."""

    weights: tuple[str, ...]
    intermediate: tuple[str, ...]
    files: dict[str, tuple[str, ...]]
    links: dict[str, tuple[str, ...]]
    mentioned_code: tuple[str, ...]
    library: str | None

    @property
    def training_code(self) -> tuple[str, ...]:
        """Training scripts in the snapshot."""
        return self.files.get("training_code", ())

    @property
    def inference_code(self) -> tuple[str, ...]:
        """Inference code in the snapshot, or the model library the card names."""
        own = self.files.get("inference_code", ())
        return own or ((f"library {self.library}",) if self.library else ())


def collect_artefacts(snap: Snapshot, card: Card) -> Artefacts:
    """Classify snapshot files and card links."""
    from modeltrust._assess.catalogue import catalogue

    rels = sorted(snap.files)
    weights = tuple(r for r in rels if _WEIGHT.search(r) and not _NOT_WEIGHT.search(r)
                    and not _INTERMEDIATE.search(r))
    inter = tuple(r for r in rels if _WEIGHT.search(r) and _INTERMEDIATE.search(r))
    files = {k: tuple(r for r in rels if re.search(p, r, re.IGNORECASE))
             for k, p in _PATTERNS.items()}
    library = as_str(card.meta.get("library_name")).lower() if card.meta_ok else ""
    if not library and any(r.lower().endswith(".gguf") for r in rels):
        library = "llama.cpp"
    known = library if library in catalogue().libraries else None
    mentioned = tuple(sorted({m for m in _MENTION.findall(card.body[:500_000])
                              if m not in snap.files})[:20])
    return Artefacts(weights, inter, files, _links(card), mentioned, known)


def _links(card: Card) -> dict[str, tuple[str, ...]]:
    found: dict[str, set[str]] = {}
    for m in _LINK.finditer(card.body[:500_000]):
        text, url = (m.group(1) or "").lower(), m.group(2) or m.group(3) or ""
        context = text + " " + card.body[max(0, m.start() - 80):m.start()].lower()
        kind = _link_kind(url, context)
        if kind:
            found.setdefault(kind, set()).add(url)
    return {k: tuple(sorted(v)[:20]) for k, v in sorted(found.items())}


def _link_kind(url: str, context: str) -> str | None:
    if "technical report" in context or "tech report" in context:
        return "technical_report"
    if _PAPER_HOST.search(url) or "paper" in context:
        return "research_paper"
    if _CODE_HOST.search(url):
        for kind, word in (("training_code", "train"), ("evaluation_code", "eval"),
                           ("preprocessing_code", "preprocess"), ("inference_code", "infer")):
            if word in context or word in url.lower():
                return kind
    return None
