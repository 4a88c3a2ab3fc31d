"""Facts a BOM quotes from the model card and config: title, metrics, considerations, I/O.

The card has already been read (bounded) by the openness stage's reader; here its metadata
and section text are turned into short, quoted facts. Nothing is inferred that the card
does not say, except the input/output modalities implied by a Hugging Face ``pipeline_tag``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from modeltrust._assess.card import Card, headings, skipped_lines
from modeltrust._assess.snapshot import Snapshot
from modeltrust._assess.yamlsafe import as_list, as_str
from modeltrust._bom.evidence import Considerations, MetricFact

MAX_QUOTE = 1500
"""Characters quoted from one card section (a BOM carries excerpts, not the card)."""
MAX_METRICS = 200
MAX_CONFIG_BYTES = 1024 * 1024

_MODALITIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "text-generation": (("text",), ("text",)),
    "text2text-generation": (("text",), ("text",)),
    "summarization": (("text",), ("text",)),
    "translation": (("text",), ("text",)),
    "question-answering": (("text",), ("text",)),
    "fill-mask": (("text",), ("text",)),
    "text-classification": (("text",), ("label",)),
    "token-classification": (("text",), ("label",)),
    "zero-shot-classification": (("text",), ("label",)),
    "sentence-similarity": (("text",), ("embedding",)),
    "feature-extraction": (("text",), ("embedding",)),
    "text-ranking": (("text",), ("score",)),
    "image-classification": (("image",), ("label",)),
    "object-detection": (("image",), ("bounding-boxes",)),
    "image-segmentation": (("image",), ("mask",)),
    "image-to-text": (("image",), ("text",)),
    "image-text-to-text": (("image", "text"), ("text",)),
    "text-to-image": (("text",), ("image",)),
    "image-to-image": (("image",), ("image",)),
    "automatic-speech-recognition": (("audio",), ("text",)),
    "text-to-speech": (("text",), ("audio",)),
    "audio-classification": (("audio",), ("label",)),
    "text-to-video": (("text",), ("video",)),
    "zero-shot-image-classification": (("image", "text"), ("label",)),
}
"""Hugging Face pipeline tag -> (input modalities, output modalities)."""



_MD_NOISE = re.compile(r"```.*?```|<[^>\n]{1,200}>|!\[[^\]]*\]\([^)]*\)", re.DOTALL)
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_SPACE = re.compile(r"\s+")
_TABLE_RULE = re.compile(r"^\s*\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*$", re.MULTILINE)
_CELL = re.compile(r"\s*\|\s*")


def modalities(task: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Input and output modalities implied by a pipeline tag (empty when unknown)."""
    return _MODALITIES.get(task or "", ((), ()))


def plain(markdown: str, limit: int = MAX_QUOTE) -> str:
    """Markdown reduced to one line of prose: no code, images, HTML or link targets."""
    text = _MD_LINK.sub(r"\1", _MD_NOISE.sub(" ", _TABLE_RULE.sub("", markdown)))
    text = "\n".join(_row(ln) for ln in text.splitlines())
    text = _SPACE.sub(" ", text.replace("#", " ").replace("*", "")).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _row(line: str) -> str:
    """A Markdown table row as ``a; b; c.``; other lines unchanged."""
    if "|" not in line:
        return line
    return _CELL.sub("; ", line.strip().strip("|")).strip() + "."


def title_and_description(card: Card) -> tuple[str | None, str | None]:
    """The card's first H1 and the first paragraph of prose after it.

    The card's own CommonMark reading (:func:`headings`, :func:`skipped_lines`) says what
    is a heading and what is code, so the BOM and openness read the same structure.
    """
    heads = headings(card.body)
    at = {i for i, _level, _text in heads}
    first = next(((i, text) for i, level, text in heads if level == 1), None)
    title = (plain(first[1], 200) or None) if first else None
    skip = skipped_lines(card.body)
    lines = card.body.splitlines()[:400]
    para: list[str] = []
    for i in range(first[0] + 1 if first else 0, len(lines)):
        stripped = lines[i].strip()
        if i in at:
            if para or title is not None:
                break  # only the prose right under the title describes the model
            continue
        if i in skip or (i - 1 in at and set(stripped) <= {"=", "-"}):
            continue  # code, comments, a setext underline
        if stripped:
            para.append(stripped)
        elif para:
            break
    desc = plain(" ".join(para), 600) if para else None
    return title, desc or None


def section_quote(card: Card, kind: str) -> str | None:
    """``Heading: text`` of the card's section of ``kind``, or None when absent or empty."""
    sec = card.section(kind)
    if sec is None:
        return None
    body = plain(card.section_text(kind)) if sec.by == "heading" else plain(sec.heading)
    if not body:
        return None
    heading = plain(sec.heading, 120)
    return body if sec.by != "heading" else f"{heading}: {body}"


def considerations(card: Card) -> Considerations:
    """Use cases, limitations, risks and environmental impact, quoted from the card."""
    def one(kind: str) -> tuple[str, ...]:
        quote = section_quote(card, kind)
        return (quote,) if quote else ()

    return Considerations(use_cases=one("intended_use"),
                          technical_limitations=one("limitations"),
                          ethical=one("bias_risks"),
                          environmental=one("environmental_impact"))


def metrics(meta: dict[str, Any]) -> tuple[MetricFact, ...]:
    """Evaluation results from ``model-index`` (bounded; malformed entries are skipped)."""
    out: list[MetricFact] = []
    for entry in _items(meta.get("model-index"))[:50]:
        if not isinstance(entry, dict):
            continue
        for result in _items(entry.get("results"))[:200]:
            if not isinstance(result, dict):
                continue
            task = _field(result.get("task"), "type")
            data = result.get("dataset")
            dataset = _field(data, "name") or _field(data, "type")
            split = _field(data, "split")
            for metric in _items(result.get("metrics"))[:100]:
                if not isinstance(metric, dict) or len(out) >= MAX_METRICS:
                    continue
                mtype = as_str(metric.get("type"))[:100]
                value = metric.get("value")
                if not mtype or isinstance(value, dict | list) or value is None:
                    continue
                out.append(MetricFact(mtype, str(value)[:100],
                                      as_str(metric.get("name"))[:200] or None,
                                      task, dataset, split))
    return tuple(sorted(set(out)))


def _items(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _field(obj: object, key: str) -> str | None:
    if not isinstance(obj, dict):
        return None
    return as_str(obj.get(key))[:200] or None


def architecture(snap: Snapshot, gguf_arch: str | None) -> tuple[str | None, str | None]:
    """``(family, architecture)`` from config.json (``model_type``, ``architectures``) or GGUF."""
    family = arch = None
    if "config.json" in snap.files and snap.single is None:
        data, error = snap.read_bytes("config.json", MAX_CONFIG_BYTES)
        try:
            cfg = json.loads(data) if not error else None
        except ValueError:
            cfg = None
        if isinstance(cfg, dict):
            family = as_str(cfg.get("model_type"))[:100] or None
            names = [a for a in as_list(cfg.get("architectures")) if isinstance(a, str)]
            arch = names[0][:200] if names else None
    return family or gguf_arch, arch
