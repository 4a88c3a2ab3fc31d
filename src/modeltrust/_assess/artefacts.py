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
    "training_code": r"(^|/)([^/]*[-_])?(train|training|trainer|finetune|finetuning|"
                     r"fine[-_]tun(e|ing)|pretrain|pretraining|sft|dpo|orpo|ppo|rlhf|grpo)"
                     r"([-_.][^/]*)?\.(py|sh)$",
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


def is_weight(rel: str) -> bool:
    """A parameter file by name (not optimizer or trainer state, not an intermediate checkpoint)."""
    return bool(_WEIGHT.search(rel)) and not _NOT_WEIGHT.search(rel) \
        and not _INTERMEDIATE.search(rel)


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
    weights = tuple(r for r in rels if is_weight(r))
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


_TABLE_ROW = re.compile(r"^\s*\|")
_REPORT_LABEL = re.compile(r"\btech(nical)?[- ]?report\b", re.IGNORECASE)
_PAPER_LABEL = re.compile(r"\bpaper\b|\bpreprint\b|\bpublication\b", re.IGNORECASE)
_NOT_OWN = ("training_data", "evaluation")
"""Sections whose links cite other works (datasets' and baselines' papers)."""


def _links(card: Card) -> dict[str, tuple[str, ...]]:
    """Card links per artefact kind, links labelled as such first.

    A link's context is its text and what precedes it on the same line (a list item's
    ``**Paper:**`` label), never the previous line. The model's own paper or report is
    never a link in a table row or in a training-data or evaluation section: those cite
    datasets and baselines. A paper-host link labelled as a paper is also the technical
    report (MOF accepts a paper that documents the model as its technical report).
    """
    skip = {i for kind in _NOT_OWN for a, b in card.section_ranges(kind) for i in range(a, b)}
    ranked: dict[str, dict[str, int]] = {}
    for i, line in enumerate(card.body[:500_000].splitlines()):
        own = i not in skip and not _TABLE_ROW.match(line)
        for m in _LINK.finditer(line[:5000]):
            text, url = m.group(1) or "", m.group(2) or m.group(3) or ""
            context = text + " " + line[:m.start()]
            for kind, rank in _link_kinds(url, text, context, own):
                kinds = ranked.setdefault(kind, {})
                kinds[url] = min(rank, kinds.get(url, rank))
    return {k: tuple(sorted(v, key=lambda u: (v[u], u))[:20]) for k, v in sorted(ranked.items())}


def _link_kinds(url: str, text: str, context: str, own: bool) -> list[tuple[str, int]]:
    """(kind, rank) for one link.

    Rank 0 when its own text names the kind, 1 when the line's label does, 2 when only the
    host suggests it.
    """
    out: list[tuple[str, int]] = []
    if own:
        paper_host = bool(_PAPER_HOST.search(url))
        if _REPORT_LABEL.search(context):
            out.append(("technical_report", 0 if _REPORT_LABEL.search(text) else 1))
        elif _PAPER_LABEL.search(context):
            rank = 0 if _PAPER_LABEL.search(text) else 1
            out.append(("research_paper", rank))
            if paper_host:
                out.append(("technical_report", rank))
        elif paper_host:
            out.append(("research_paper", 2))
    if _CODE_HOST.search(url):
        low = context.lower()
        for kind, word in (("training_code", "train"), ("evaluation_code", "eval"),
                           ("preprocessing_code", "preprocess"), ("inference_code", "infer")):
            if word in low or word in url.lower():
                out.append((kind, 0))
                break
    return out
