"""Locate the shared, read-only reference corpora and copy samples out before use."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPORA = Path(os.environ.get("MODELTRUST_CORPORA", ROOT.parent / "shared" / "corpora"))


def corpus_dir(name: str) -> Path:
    """The corpus folder, or skip (fail under CI, where the corpora must be present)."""
    path = CORPORA / name
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"corpus {path} is missing in CI")
        pytest.skip(f"corpus {path} not available")
    return path


def labels(name: str) -> dict[str, str]:
    path = CORPORA / name / "labels.json"
    if not path.is_file():
        return {}
    data: dict[str, str] = json.loads(path.read_text())
    return data


def copy_sample(corpus: str, rel: str, dest: Path) -> Path:
    """Copy one sample into ``dest`` (never work on the shared corpus in place)."""
    src = corpus_dir(corpus) / rel
    target = dest / Path(rel).name
    shutil.copyfile(src, target)
    return target
