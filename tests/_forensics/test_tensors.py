"""Tensor readers: every dtype, sharded safetensors, PyTorch zip metadata, GGUF quant types."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeltrust._forensics.engine import run_compare
from modeltrust._forensics.tensors import ForensicsError, open_model, read_card_claim, to_float32

MARKER = "touch /tmp/modeltrust-test-marker-DO-NOT-CREATE"


def _save(path: Path, tensors: dict[str, np.ndarray]) -> Path:
    from safetensors.numpy import save_file

    save_file(tensors, str(path))
    return path


def test_bf16_and_fp8_conversions() -> None:
    torch = pytest.importorskip("torch")
    values = torch.tensor([0.0, 1.0, -2.5, 0.15625, 448.0, -0.001953125, 3.0e-3])
    for tdtype, name in ((torch.bfloat16, "BF16"), (torch.float8_e4m3fn, "F8_E4M3"),
                         (torch.float8_e5m2, "F8_E5M2"), (torch.float16, "F16")):
        stored = values.to(tdtype)
        raw = stored.view(torch.uint8).numpy() if stored.element_size() == 1 else \
            stored.view(torch.int16).numpy().view(np.uint8)
        got = to_float32(raw.reshape(-1), name, (7,))
        np.testing.assert_array_equal(got, stored.float().numpy())


def test_e4m3_nan_and_subnormals() -> None:
    raw = np.array([0x7F, 0xFF, 0x01, 0x81, 0x08], dtype=np.uint8)
    got = to_float32(raw, "F8_E4M3", (5,))
    assert np.isnan(got[0]) and np.isnan(got[1])
    assert got[2] == 2.0**-9 and got[3] == -(2.0**-9) and got[4] == 2.0**-6


def test_wrong_byte_count_is_an_error() -> None:
    with pytest.raises(ForensicsError):
        to_float32(np.zeros(5, dtype=np.uint8), "F32", (2,))


def test_safetensors_every_dtype_roundtrip(tmp_path: Path) -> None:
    tensors = {f"t.{d}": np.arange(12, dtype=d).reshape(3, 4)
               for d in ("float64", "float32", "float16", "int64", "int32", "int16", "int8",
                         "uint8")}
    model = open_model(_save(tmp_path / "m.safetensors", tensors))
    assert model.format == "safetensors" and not model.problems
    for ref in model.tensors:
        np.testing.assert_array_equal(ref.load(), np.arange(12, dtype=np.float32).reshape(3, 4))


def test_sharded_safetensors_follow_the_index(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = {"layer.0.w": rng.standard_normal((4, 4)).astype(np.float32)}
    b = {"layer.1.w": rng.standard_normal((4, 4)).astype(np.float32)}
    _save(tmp_path / "model-00001-of-00002.safetensors", a)
    _save(tmp_path / "model-00002-of-00002.safetensors", b)
    _save(tmp_path / "stray.safetensors", {"x": np.zeros(2, dtype=np.float32)})
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
        "layer.0.w": "model-00001-of-00002.safetensors",
        "layer.1.w": "model-00002-of-00002.safetensors"}}))
    model = open_model(tmp_path)
    assert sorted(t.name for t in model.tensors) == ["layer.0.w", "layer.1.w"]
    single = _save(tmp_path.parent / "single.safetensors", {**a, **b})
    assert run_compare(single, tmp_path).kinds == ["reserialized"]


def test_torch_zip_metadata_strides_and_offsets(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    state = {"t": base.t(), "view": base[1:, 2:], "half": base.half(), "bf": base.bfloat16(),
             "p": torch.nn.Parameter(base.clone())}
    torch.save(state, tmp_path / "w.bin")
    model = open_model(tmp_path / "w.bin")
    got = {t.name: (t.dtype, t.load()) for t in model.tensors}
    assert set(got) == set(state)
    for name, value in state.items():
        assert got[name][1].shape == tuple(value.shape)
        np.testing.assert_array_equal(got[name][1], value.detach().float().numpy())
    assert got["half"][0] == "F16" and got["bf"][0] == "BF16"


def test_torch_zip_that_does_not_scan_clean_is_refused(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self) -> tuple[object, ...]:
            import os

            return (os.system, (MARKER,))

    path = tmp_path / "evil.bin"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("evil/data.pkl", pickle.dumps({"w": Payload()}, protocol=2))
        zf.writestr("evil/version", "3\n")
    with pytest.raises(ForensicsError, match="did not scan clean"):
        open_model(path)
    assert not Path("/tmp/modeltrust-test-marker-DO-NOT-CREATE").exists()


@pytest.mark.parametrize("qname", ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q4_K", "Q6_K"])
def test_gguf_quant_types_dequantise(qname: str, tmp_path: Path) -> None:
    from gguf import GGMLQuantizationType, GGUFWriter
    from gguf.quants import dequantize, quantize

    qtype = GGMLQuantizationType[qname]
    values = np.random.default_rng(1).standard_normal((8, 256)).astype(np.float32)
    try:
        packed = quantize(values, qtype)
    except NotImplementedError:
        pytest.skip(f"gguf cannot quantise {qname}")
    writer = GGUFWriter(str(tmp_path / "m.gguf"), "llama")
    writer.add_tensor("blk.0.ffn_down.weight", packed, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    (ref,) = open_model(tmp_path / "m.gguf").tensors
    assert ref.dtype == qname and ref.shape == (8, 256)
    np.testing.assert_array_equal(ref.load(), dequantize(packed, qtype))


def test_card_claim_is_read_safely(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("---\nbase_model:\n- org/b\n- org/a\n---\ntext\n")
    assert read_card_claim(tmp_path) == ("org/a", "org/b")
    (tmp_path / "README.md").write_text("---\nbase_model: !!python/object:os.system x\n---\n")
    assert read_card_claim(tmp_path) == ()
    (tmp_path / "README.md").write_text("no front matter")
    assert read_card_claim(tmp_path) == ()


@pytest.fixture(scope="module")
def small_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    torch = pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("small")
    w = np.random.default_rng(2).standard_normal((4, 8)).astype(np.float32)
    _save(root / "a.safetensors", {"layer.0.w": w, "b": w[0].copy()})
    torch.save({"layer.0.w": torch.from_numpy(w)}, root / "a.bin")
    return {"safetensors": (root / "a.safetensors").read_bytes(),
            "bin": (root / "a.bin").read_bytes()}


@settings(max_examples=200, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_files_never_raise_unexpectedly(data: st.DataObject, tmp_path: Path,
                                                small_files: dict[str, bytes]) -> None:
    kind = data.draw(st.sampled_from(sorted(small_files)))
    raw = bytearray(small_files[kind])
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    path = tmp_path / f"m.{kind}"
    path.write_bytes(bytes(raw[:cut]))
    try:
        model = open_model(path)
        for ref in model.tensors:
            ref.load()
    except ForensicsError:
        pass  # refused (did not scan clean) or inconsistent sizes: a clean error
