"""What a model is called: one rule for the openness report and the BOM.

A name the publisher declared wins (card ``model_name``, ``model-index`` name, GGUF
``general.name``), then the hub repository's name, then the folder's name, and the card's
first heading only when none of those is a real name. Card templates leave placeholders
behind ("Uploaded model", "Model Card for Model ID", a folder called ``model``): those are
never a name, so two tools reading the same snapshot do not disagree on what it is.
"""

from __future__ import annotations

import re
import unicodedata

_PLACEHOLDERS = frozenset({
    "model card for model id", "model card for model", "model card", "model-card",
    "uploaded model", "readme", "readme.md", "model", "model id", "model_id", "model name",
    "model_name", "your model name", "my model", "untitled", "title", "more information needed",
    "[more information needed]", "[optional]", "none", "null", "n/a", "todo", "tbd",
})
"""Headings and names that card templates (Hugging Face, PEFT, Unsloth, TRL...) write when
the author did not fill them in, compared case- and space-insensitively."""
_TEMPLATE_MARK = re.compile(r"\{\{|\}\}|\{%|%\}|<model[_ -]?(?:id|name)>", re.IGNORECASE)
_CARD_FOR = re.compile(r"^model\s*card\s*(?:for|of)\s*:?\s*", re.IGNORECASE)
MAX_NAME = 300
"""Characters of a model name (``lineage.model_name`` and the BOM)."""


def is_placeholder(name: str | None) -> bool:
    """True when ``name`` is empty, a template's unfilled heading or raw template syntax."""
    text = " ".join((name or "").split()).strip(" #*_`:.-").lower()
    return not text or text in _PLACEHOLDERS or bool(_TEMPLATE_MARK.search(text))


def model_name(*candidates: str | None, title: str | None = None) -> str | None:
    """The first candidate that is a real name, else the card's H1 when it is one.

    ``candidates`` come in the order of the naming rule (declared name, hub repository
    name, folder name); an H1 of the form ``Model Card for X`` names ``X``.
    """
    for name in candidates:
        if name and not is_placeholder(name) and (clean := clean_name(name)):
            return clean
    if title:
        title = _CARD_FOR.sub("", title.strip()) or title
        if not is_placeholder(title):
            return clean_name(title) or None
    return None


def clean_name(name: str) -> str:
    """One line, no control or bidi-override characters (a name must read as it is)."""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs") else ch for ch in name)
    return " ".join(kept.split())[:MAX_NAME]
