"""Both formats carry the same evidence: every licence, hash, dataset and ancestor appears in each.

The check is deliberately format-blind (all string values of the document), so it holds
whatever structure each renderer chooses; the structure itself is what the schema tests check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.bom_evidence import rich, sparse
from helpers.bom_models import derived_cache, signed_model
from helpers.bom_validate import assert_valid_cyclonedx
from helpers.bom_validate_spdx import assert_valid_spdx
from modeltrust._bom.evidence import Evidence
from modeltrust._bom.gather import gather
from modeltrust._bom.interface import BomFormat, render


def strings(obj: object) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)
    elif obj is not None:
        yield str(obj)


def expected(ev: Evidence) -> list[str]:
    """What a reader must be able to find in either BOM."""
    want = [f.sha256 for f in ev.files] + [f.path for f in ev.files]
    want += [lic.spdx or lic.name or "" for lic in ev.licences]
    want += [d.id for d in ev.datasets] + [a.id for a in ev.ancestors]
    want += [f.rule_id for f in ev.findings] + list(ev.unknowns)
    if ev.root_digest:
        want.append(ev.root_digest.removeprefix("sha256:"))
    return [w for w in want if w]


def _derived(tmp: Path) -> Evidence:
    return gather(str(derived_cache(tmp)))


@pytest.mark.parametrize("make", [rich, sparse, "derived"])
def test_every_fact_appears_in_both_formats(make: object, tmp_path: Path) -> None:
    ev = _derived(tmp_path) if make == "derived" else make()  # type: ignore[operator]
    for fmt, check in ((BomFormat.CYCLONEDX, assert_valid_cyclonedx),
                       (BomFormat.SPDX, assert_valid_spdx)):
        text = render(ev, fmt)
        check(text)
        blob = "\n".join(strings(json.loads(text)))
        missing = [w for w in expected(ev) if w not in blob]
        assert not missing, f"{fmt}: {missing}"


def test_contradictory_licences_both_appear_in_valid_boms(tmp_path: Path) -> None:
    from helpers.openness import EXCERPTS, WEIGHTS, write_repo

    model = write_repo(tmp_path / "m", {"license": "mit"}, "# M\n",
                       {"LICENSE": EXCERPTS["apache-2.0"], "model.safetensors": WEIGHTS})
    ev = gather(str(model))
    assert {(lic.spdx, lic.acknowledgement) for lic in ev.licences} == {
        ("MIT", "declared"), ("Apache-2.0", "concluded")}
    for fmt, check in ((BomFormat.CYCLONEDX, assert_valid_cyclonedx),
                       (BomFormat.SPDX, assert_valid_spdx)):
        text = render(ev, fmt)
        check(text)
        assert "MIT" in text and "Apache-2.0" in text


def test_signed_model_boms_are_valid(tmp_path: Path) -> None:
    from helpers.openness import WEIGHTS

    model = signed_model(tmp_path, curve="P-384")
    (model / "model.safetensors").write_bytes(WEIGHTS + b" ")  # changed after signing
    ev = gather(str(model))
    assert [s.state for s in ev.signatures] == ["mismatch"]
    for fmt, check in ((BomFormat.CYCLONEDX, assert_valid_cyclonedx),
                       (BomFormat.SPDX, assert_valid_spdx)):
        text = render(ev, fmt)
        check(text)
        assert "mismatch" in text and "model.sig" in text
