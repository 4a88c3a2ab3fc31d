"""Config files as the repository pass reads them: bounded, and only what names code.

The config scanner reports every reference as it parses each file; the repository pass,
which runs once all files were scanned, reads the few configs that name Python again to
check those files against the folder (:mod:`modeltrust._scanners.repository`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

MAX_CONFIG = 32 * 1024 * 1024
CONFIG_NAMES = frozenset({"config.json", "tokenizer_config.json", "processor_config.json",
                          "preprocessor_config.json", "image_processor_config.json",
                          "feature_extractor_config.json", "video_preprocessor_config.json",
                          "generation_config.json", "chat_template.json"})
"""Hugging Face configs whose ``auto_map`` names the Python ``trust_remote_code`` runs."""


def read_config(path: Path, size: int) -> dict[str, object] | str | None:
    """The config as a dict; a reason string when it could not be read; None if not a dict."""
    if size > MAX_CONFIG:
        return f"{size} bytes: larger than the {MAX_CONFIG}-byte bound"
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG + 1)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if len(raw) > MAX_CONFIG:
        return f"larger than the {MAX_CONFIG}-byte bound"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None  # not JSON: the config scanner reports it
    return data if isinstance(data, dict) else None


def auto_map_refs(config: dict[str, object] | None, limit: int) -> Iterator[tuple[str, str]]:
    """``(key, "module.Class")`` pairs from ``auto_map`` and ``custom_pipelines``, bounded."""
    if config is None:
        return
    pairs: list[tuple[str, object]] = []
    auto_map = config.get("auto_map")
    if isinstance(auto_map, dict):
        pairs += [(str(k), v) for k, v in auto_map.items()]
    pipelines = config.get("custom_pipelines")
    if isinstance(pipelines, dict):
        pairs += [(f"custom_pipelines.{k}", v.get("impl")) for k, v in pipelines.items()
                  if isinstance(v, dict)]
    count = 0
    for key, value in sorted(pairs, key=lambda p: p[0]):
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, str) and count < limit:
                count += 1
                yield key, v
