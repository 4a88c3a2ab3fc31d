"""Per-tensor statuses, pairing and verdicts on small synthetic tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modeltrust._forensics.delta import spectrum
from modeltrust._forensics.engine import run_compare


def _save(path: Path, tensors: dict[str, np.ndarray]) -> Path:
    from safetensors.numpy import save_file

    save_file(tensors, str(path))
    return path


def _base(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {f"model.layers.{i}.mlp.up_proj.weight":
            rng.standard_normal((64, 32)).astype(np.float32) for i in range(6)}


def test_float16_downcast_is_quantized(tmp_path: Path) -> None:
    sd = _base(np.random.default_rng(0))
    base = _save(tmp_path / "a.safetensors", sd)
    half = _save(tmp_path / "b.safetensors", {k: v.astype(np.float16) for k, v in sd.items()})
    report = run_compare(base, half)
    assert report.kinds == ["quantized"]
    assert {t.grid for t in report.tensors} == {"F16 float grid"}
    assert len(report.pairing.dtype_changes) == 6


def test_upcast_of_exact_values_is_reserialized(tmp_path: Path) -> None:
    sd = {k: v.astype(np.float16) for k, v in _base(np.random.default_rng(0)).items()}
    base = _save(tmp_path / "a.safetensors", sd)
    wide = _save(tmp_path / "b.safetensors", {k: v.astype(np.float32) for k, v in sd.items()})
    assert run_compare(base, wide).kinds == ["reserialized"]


def test_renamed_and_reshaped_tensors(tmp_path: Path) -> None:
    sd = _base(np.random.default_rng(0))
    base = _save(tmp_path / "a.safetensors", sd)
    renamed = {k.removeprefix("model."): v for k, v in sd.items()}
    renamed["layers.0.mlp.up_proj.weight"] = np.zeros((65, 32), dtype=np.float32)
    renamed["extra.weight"] = np.zeros(3, dtype=np.float32)
    report = run_compare(base, _save(tmp_path / "b.safetensors", renamed))
    assert len(report.pairing.renamed) == 6
    assert report.pairing.shape_changes == [
        ("model.layers.0.mlp.up_proj.weight", (64, 32), (65, 32))]
    assert report.pairing.only_derived == ["extra.weight"]
    assert "MT-FOR-008" in {f.rule_id for f in report.findings}


def test_two_four_pruning(tmp_path: Path) -> None:
    sd = _base(np.random.default_rng(0))
    pruned = {}
    for k, v in sd.items():
        groups = v.reshape(-1, 4).copy()
        order = np.argsort(np.abs(groups), axis=1)[:, :2]
        np.put_along_axis(groups, order, 0.0, axis=1)
        pruned[k] = groups.reshape(v.shape)
    report = run_compare(_save(tmp_path / "a.safetensors", sd),
                         _save(tmp_path / "b.safetensors", pruned))
    assert report.kinds == ["pruned"]
    assert len(report.verdicts[0].evidence["two_four"]) == 6  # type: ignore[arg-type]


def test_spectrum_exact_rank_and_dense() -> None:
    rng = np.random.default_rng(4)
    low = (rng.standard_normal((200, 5)) @ rng.standard_normal((5, 120))).astype(np.float32)
    sp = spectrum(low, float(np.sum(low.astype(np.float64) ** 2)))
    assert sp.rank == 5 and sp.energy_top_r > 0.9999
    np.testing.assert_allclose(sp.singular_values[:5],
                               np.linalg.svd(low, compute_uv=False)[:5], rtol=1e-4)
    dense = rng.standard_normal((200, 120)).astype(np.float32)
    sd = spectrum(dense, float(np.sum(dense.astype(np.float64) ** 2)))
    assert sd.rank is None and sd.stable_rank > 10


def test_unreadable_tensor_is_a_finding(tmp_path: Path) -> None:
    sd = _base(np.random.default_rng(0))
    base = _save(tmp_path / "a.safetensors", sd)
    raw = bytearray(base.read_bytes())
    broken = tmp_path / "b.safetensors"
    broken.write_bytes(bytes(raw[:-100]))
    report = run_compare(base, broken)
    assert "MT-FOR-009" in {f.rule_id for f in report.findings}
