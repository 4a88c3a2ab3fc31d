"""The fast paths of compare measure what the plain definitions say.

The per-tensor pass runs in cache-sized chunks that need not align with rows, tensor pairs
are read by a thread ahead of the workers measuring them, and hostile values (inf, NaN)
must not stop a comparison. Each is checked against a direct numpy computation.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from modeltrust._forensics import delta as D
from modeltrust._forensics.delta import TensorDelta
from modeltrust._forensics.engine import run_compare
from modeltrust._forensics.pairing import pair
from modeltrust._forensics.pipeline import measure
from modeltrust._forensics.tensors import open_model


def _save(path: Path, tensors: dict[str, np.ndarray]) -> Path:
    from safetensors.numpy import save_file

    save_file(tensors, str(path))
    return path


def _reference(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    d = b64 - a64
    ac, bc = a64 - a64.mean(), b64 - b64.mean()
    rows = np.any((b - a).reshape(a.shape[0], -1) != 0, axis=1) if a.ndim >= 2 else None
    return {"rel_norm": float(np.linalg.norm(d) / np.linalg.norm(a64)),
            "cosine": float(a64 @ b64 / np.sqrt((a64 @ a64) * (b64 @ b64))),
            "correlation": float(ac @ bc / np.sqrt((ac @ ac) * (bc @ bc))),
            "max_abs": float(np.max(np.abs(b - a))),
            "changed_fraction": float(np.count_nonzero(d) / d.size),
            "new_zeros": float(np.count_nonzero((b == 0) & (a != 0))),
            "changed_rows": float(np.count_nonzero(rows)) if rows is not None else 0.0}


@pytest.mark.parametrize("chunk", [7, 64, 1000, 1 << 16])
@pytest.mark.parametrize("shape", [(37, 29), (5, 300), (1000,), (3, 4, 5)])
def test_chunked_statistics_match_numpy(chunk: int, shape: tuple[int, ...],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(D, "CHUNK", chunk)
    rng = np.random.default_rng(chunk + len(shape))
    a = rng.standard_normal(shape).astype(np.float32)
    b = a.copy()
    flat = b.reshape(-1)
    hit = rng.choice(flat.size, size=flat.size // 9, replace=False)
    flat[hit] += rng.standard_normal(hit.size).astype(np.float32)
    flat[hit[:5]] = 0.0  # new exact zeros
    a.reshape(-1)[-1], flat[-1] = 0.0, -0.0  # b - a == -0.0: not a change
    out = TensorDelta("t", "t", shape, "F32", "F32", "changed")
    rows = shape[0] if len(shape) >= 2 else 0
    delta = D._statistics(out, a.reshape(-1), b.reshape(-1), rows)
    np.testing.assert_array_equal(delta, (b - a).reshape(-1))
    ref = _reference(a, b)
    for key in ("rel_norm", "cosine", "correlation"):
        assert getattr(out, key) == pytest.approx(ref[key], rel=1e-6, abs=1e-7), key
    for key in ("max_abs", "changed_fraction", "new_zeros", "changed_rows"):
        assert getattr(out, key) == ref[key], key


def test_dense_change_counts_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(D, "CHUNK", 10)
    a = np.arange(1, 61, dtype=np.float32)
    out = TensorDelta("t", "t", (12, 5), "F32", "F32", "changed")
    D._statistics(out, a, a + 1, 12)
    assert out.changed_rows == 12 and out.changed_fraction == 1.0 and out.max_abs == 1.0


def test_non_finite_weights_are_measured_not_fatal(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    sd = {f"model.layers.{i}.mlp.up_proj.weight": rng.standard_normal((64, 32)).astype(np.float32)
          for i in range(5)}
    bad = dict(sd)
    w = sd["model.layers.0.mlp.up_proj.weight"].copy()
    w[0, 0], w[1, 1], w[2, 2] = np.nan, np.inf, 3e38
    bad["model.layers.0.mlp.up_proj.weight"] = w
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = run_compare(_save(tmp_path / "a.safetensors", sd),
                             _save(tmp_path / "b.safetensors", bad))
    assert report.kinds == ["tampered_tensors"]
    t = next(t for t in report.tensors if t.status == "changed")
    assert t.spectrum is None and t.changed_rows == 3


def test_read_ahead_and_workers_do_not_change_results(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from modeltrust._forensics import pipeline

    rng = np.random.default_rng(1)
    sd = {f"t{i:02d}": rng.standard_normal((40 + i, 24)).astype(np.float32) for i in range(12)}
    edited = {k: v + (0.01 * rng.standard_normal(v.shape).astype(np.float32) if i % 3 else 0)
              for i, (k, v) in enumerate(sd.items())}
    pairs = pair(open_model(_save(tmp_path / "a.safetensors", sd)).tensors,
                 open_model(_save(tmp_path / "b.safetensors", edited)).tensors).pairs
    seen: list[tuple[int, str]] = []
    monkeypatch.setattr(pipeline, "READ_AHEAD", 1)  # one pair ahead at a time
    one = measure(pairs, svd=True, workers=1)
    many = measure(pairs, svd=True, workers=3,
                   progress=lambda done, total, name: seen.append((done, name)))
    assert [d.name for d in many] == sorted(sd) == [name for _, name in seen]
    assert [done for done, _ in seen] == list(range(1, 13))
    for x, y in zip(one, many, strict=True):
        assert (x.status, x.rel_norm, x.changed_rows) == (y.status, y.rel_norm, y.changed_rows)
        assert (x.spectrum is None) == (y.spectrum is None)
        if x.spectrum is not None and y.spectrum is not None:
            assert x.spectrum.singular_values == y.spectrum.singular_values
    assert [d.status for d in one].count("identical") == 4


def test_blas_is_held_to_one_thread() -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from modeltrust._forensics import blas

    def blas_threads() -> list[int]:
        return [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"]

    before = blas_threads()
    if not before:
        pytest.skip("no BLAS library loaded")
    with blas.blas_threads(1):
        assert set(blas_threads()) == {1}
    assert blas_threads() == before


def test_without_threadpoolctl_nothing_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    from modeltrust._forensics import blas

    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # its import now fails
    with blas.blas_threads(1):
        pass


def test_large_pairs_are_measured_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from modeltrust._forensics import pipeline

    active, peak = [0], [0]
    lock = threading.Lock()

    def fake_compare(a: object, b: object, svd: bool, raws: object) -> str:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        threading.Event().wait(0.02)
        with lock:
            active[0] -= 1
        return "measured"

    monkeypatch.setattr(pipeline, "compare", fake_compare)
    monkeypatch.setattr(pipeline, "_read", lambda pair: (b"", b""))
    monkeypatch.setattr(pipeline, "_nbytes", lambda pair: pipeline.PARALLEL_BYTES)
    pairs = [(object(), object())] * 6
    assert pipeline.measure(pairs, svd=False, workers=4) == ["measured"] * 6  # type: ignore[arg-type]
    assert peak[0] == 1
