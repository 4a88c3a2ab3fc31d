"""Each real edit of real weights gets the right verdict, and no control gets a false one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from modeltrust._forensics.engine import run_compare
from modeltrust._forensics.inspect import run_inspect

pytestmark = pytest.mark.slow

MINILM_EXPECTED = {
    "base": ["identical"],
    "abliterated": ["abliteration"],
    "windowed": ["abliteration"],
    "lora": ["lora_merge"],
    "fine_tune": ["fine_tune"],
    "int8": ["quantized"],
    "pruned": ["pruned"],
    "tampered": ["tampered_tensors"],
    "unrelated": ["unrelated"],
}


@pytest.mark.parametrize("variant", sorted(MINILM_EXPECTED))
def test_minilm_verdicts(variant: str, minilm_path: Path,
                         minilm_variants: Callable[[str], Path]) -> None:
    report = run_compare(minilm_path, minilm_variants(variant))
    assert report.kinds == MINILM_EXPECTED[variant], [v.summary for v in report.verdicts]


def test_minilm_abliteration_evidence(minilm_path: Path,
                                      minilm_variants: Callable[[str], Path]) -> None:
    report = run_compare(minilm_path, minilm_variants("abliterated"))
    (verdict,) = report.verdicts
    ev = verdict.evidence
    assert ev["subspace_dimension"] == 1
    assert ev["shared_direction_energy"] > 0.999
    assert ev["layers"] == [0, 1, 2, 3, 4, 5]
    assert ev["matrices"] == 15  # 6 x (attention output + MLP down) + 3 embeddings
    assert verdict.confidence >= 0.9
    assert [f.rule_id for f in report.findings] == ["MT-FOR-001"]


def test_minilm_windowed_evidence(minilm_path: Path,
                                  minilm_variants: Callable[[str], Path]) -> None:
    (verdict,) = run_compare(minilm_path, minilm_variants("windowed")).verdicts
    assert verdict.evidence["layers"] == [1, 2, 3, 4]
    assert verdict.evidence["subspace_dimension"] == 3
    assert verdict.evidence["windowed"] is True


def test_minilm_lora_evidence(minilm_path: Path,
                              minilm_variants: Callable[[str], Path]) -> None:
    (verdict,) = run_compare(minilm_path, minilm_variants("lora")).verdicts
    assert verdict.evidence["rank"] == 8
    assert verdict.evidence["targets"] == ["query", "value"]
    assert verdict.evidence["matrices"] == 12


def test_minilm_tampered_names_the_tensor(minilm_path: Path,
                                          minilm_variants: Callable[[str], Path]) -> None:
    (verdict,) = run_compare(minilm_path, minilm_variants("tampered")).verdicts
    assert verdict.tensors == ["encoder.layer.3.intermediate.dense.weight"]


def test_minilm_pruning_evidence(minilm_path: Path,
                                 minilm_variants: Callable[[str], Path]) -> None:
    (verdict,) = run_compare(minilm_path, minilm_variants("pruned")).verdicts
    assert 0.45 < float(verdict.evidence["new_zeros_fraction"]) <= 0.51  # type: ignore[arg-type]


def test_minilm_unrelated_is_high_when_card_claims_the_base(
        minilm_path: Path, minilm_variants: Callable[[str], Path]) -> None:
    folder = minilm_variants("unrelated").parent
    (folder / "README.md").write_text("---\nbase_model: sentence-transformers/all-MiniLM-L6-v2"
                                      "\n---\n# a model\n", encoding="utf-8")
    try:
        report = run_compare(minilm_path, folder)
    finally:
        (folder / "README.md").unlink()
    assert report.lineage.claim == ("sentence-transformers/all-MiniLM-L6-v2",)
    assert report.lineage.claim_supported is False
    assert [(f.rule_id, f.severity.value) for f in report.findings] == [("MT-FOR-007", "high")]


def test_minilm_resaved_as_torch_zip_is_reserialized(
        minilm_path: Path, minilm_sd: dict[str, object], tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    state = {k: torch.from_numpy(v.copy()) for k, v in minilm_sd.items()}  # type: ignore[union-attr]
    torch.save(state, tmp_path / "pytorch_model.bin")
    report = run_compare(minilm_path, tmp_path / "pytorch_model.bin")
    assert report.kinds == ["reserialized"]
    assert report.pairing.only_base == [] and report.pairing.only_derived == []


def test_minilm_inspect(minilm_path: Path, minilm_variants: Callable[[str], Path]) -> None:
    clean = run_inspect(minilm_path)
    edited = run_inspect(minilm_variants("abliterated"))
    assert not clean.abliterated and clean.findings == ()
    assert clean.ratio is not None and clean.ratio > 1e-3
    assert edited.abliterated
    assert [f.rule_id for f in edited.findings] == ["MT-FOR-010"]
    for name in ("lora", "fine_tune", "int8", "windowed"):
        assert not run_inspect(minilm_variants(name)).abliterated, name


GGUF_EXPECTED = {
    "base": ["identical"],
    "abliterated": ["abliteration"],
    "windowed": ["abliteration"],
    "lora": ["lora_merge"],
    "q8_0": ["quantized"],
    "tampered": ["tampered_tensors"],
    "unrelated": ["unrelated"],
}


@pytest.mark.parametrize("variant", sorted(GGUF_EXPECTED))
def test_smollm_gguf_verdicts(variant: str, smollm_variants: Callable[[str], Path]) -> None:
    report = run_compare(smollm_variants("base"), smollm_variants(variant))
    assert report.kinds == GGUF_EXPECTED[variant], [v.summary for v in report.verdicts]


def test_smollm_gguf_inspect(smollm_path: Path, smollm_variants: Callable[[str], Path]) -> None:
    assert not run_inspect(smollm_path).abliterated
    assert run_inspect(smollm_variants("abliterated")).abliterated
