"""Openness audit (issue 5, points 3-8): samples nobody wrote the code against.

Lineage naming variants (Llama by version, Code Llama, look-alikes), Gemma and Qwen
releases, merges, GGUF base-model keys, hostile adapter configs and cache cards (FIFOs,
links out of the cache), dataset licences and upstream ``source_datasets``, OSAID and MOF
edge cases, accountability from hub cache layouts. Every report is validated against
``docs/openness-schema.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import modeltrust
from helpers.openness import (
    EXCERPTS,
    FULL_CARD_BODY,
    WEIGHTS,
    dataset_card,
    hub_repo,
    open_repo,
    openness_validator,
    write_gguf,
    write_repo,
)
from modeltrust._assess.report import OpennessReport, to_json

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _validate(report: OpennessReport) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(to_json(report))
    openness_validator().validate(doc)
    return doc


def _assess(root: Path) -> OpennessReport:
    report = modeltrust.openness(root)
    _validate(report)
    return report


def _ids(report: OpennessReport) -> set[str]:
    return {f.rule_id for f in report.findings}


def _evidence(report: OpennessReport, rule: str) -> str:
    return " | ".join(f.evidence for f in report.findings if f.rule_id == rule)


# --- licence inheritance: Llama, by version, by any naming --------------------------------

@pytest.mark.parametrize(("base", "naming"), [
    ("meta-llama/Llama-2-7b-hf", None),
    ("meta-llama/Meta-Llama-3-8B", "Llama 3"),
    ("meta-llama/Llama-3.1-8B-Instruct", "Llama"),
    ("meta-llama/Llama-3.2-1B", "Llama"),
    ("meta-llama/Llama-3.3-70B-Instruct", "Llama"),
    ("meta-llama/Llama-4-Scout-17B-16E", "Llama"),
    ("NousResearch/Hermes-3-Llama-3.1-8B", "Llama"),  # "Llama" after a hyphen
    ("unsloth/llama-3-8b-bnb-4bit", "Llama 3"),
    ("Meta Llama/Meta Llama 3.1 8B", "Llama"),  # GGUF-style org/name with spaces
    ("codellama/CodeLlama-7b-hf", None),  # Code Llama is under the Llama 2 licence
    ("huggyllama/llama-7b", None),  # LLaMA 1: a Llama licence, "7" is a size
    ("meta-llama/Llama-Guard-3-8B", None),  # version not in the name: relabel only
])
def test_llama_derivative_relabelled(tmp_path: Path, base: str, naming: str | None) -> None:
    meta = {"license": "apache-2.0", "base_model": base, "base_model_relation": "finetune",
            "model_name": "SuperChat-8B"}
    report = _assess(write_repo(tmp_path / "m", meta))
    assert "MT-LIN-001" in _ids(report), base
    assert base in _evidence(report, "MT-LIN-001")
    if naming is None:
        assert "MT-LIN-002" not in _ids(report)
    else:
        assert f"begin with {naming!r}" in _evidence(report, "MT-LIN-002")


@pytest.mark.parametrize("base", ["openlm-research/open_llama_7b", "TinyLlama/TinyLlama-1.1B",
                                  "mistralai/Mistral-7B-v0.1", "org/llamaindex-helper",
                                  "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen3-8B"])
def test_look_alikes_are_not_restricted_bases(tmp_path: Path, base: str) -> None:
    meta = {"license": "apache-2.0", "base_model": base, "model_name": "Chat"}
    report = _assess(write_repo(tmp_path / "m", meta))
    assert not {"MT-LIN-001", "MT-LIN-002", "MT-LIN-003", "MT-LIN-004"} & _ids(report)


@pytest.mark.parametrize(("name", "ok"), [
    ("Llama-3-Chat", True), ("llama3-chat", True), ("Llama 3.1 Chat", True),
    ("Llama-30B-Chat", False), ("Chat-Llama-3", False), ("Meta-Llama-3-Chat", False),
])
def test_llama3_naming_duty(tmp_path: Path, name: str, ok: bool) -> None:
    meta = {"license": "llama3", "base_model": "meta-llama/Meta-Llama-3-8B", "model_name": name}
    report = _assess(write_repo(tmp_path / "m", meta))
    assert ("MT-LIN-002" not in _ids(report)) is ok
    assert "MT-LIN-001" not in _ids(report)


@pytest.mark.parametrize("base", ["google/gemma-2-9b", "google/embeddinggemma-300m",
                                  "google/txgemma-2b-predict", "google/paligemma-3b-pt-224"])
def test_gemma_derivatives(tmp_path: Path, base: str) -> None:
    meta = {"license": "mit", "base_model": base}
    assert "MT-LIN-003" in _ids(_assess(write_repo(tmp_path / "m", meta)))
    meta["license"] = "gemma"
    assert "MT-LIN-003" not in _ids(_assess(write_repo(tmp_path / "n", meta)))


@pytest.mark.parametrize(("base", "flagged"), [
    ("Qwen/Qwen2.5-72B-Instruct", True),  # Qwen licence
    ("Qwen/Qwen2.5-3B", True),  # Qwen research licence
    ("Qwen/Qwen1.5-7B-Chat", True),  # Tongyi Qianwen licence
    ("Qwen/Qwen-7B", True),
    ("Qwen/Qwen2.5-7B-Instruct", False),  # Apache-2.0
    ("Qwen/Qwen2.5-32B", False),
])
def test_qwen_derivatives(tmp_path: Path, base: str, flagged: bool) -> None:
    meta = {"license": "mit", "base_model": base}
    report = _assess(write_repo(tmp_path / "m", meta))
    assert ("MT-LIN-004" in _ids(report)) is flagged, _evidence(report, "MT-LIN-004")
    if flagged:
        assert "known from its name" in _evidence(report, "MT-LIN-004")


def test_qwen_derivative_keeping_qwen_terms_is_fine(tmp_path: Path) -> None:
    meta: dict[str, Any] = {"license": "other", "license_name": "tongyi-qianwen",
                            "base_model": "Qwen/Qwen1.5-7B-Chat"}
    report = _assess(write_repo(tmp_path / "m", meta))
    assert not {"MT-LIN-004", "MT-LIN-001"} & _ids(report)


def test_base_card_in_cache_gives_licence_and_naming_duty(tmp_path: Path) -> None:
    """A base whose *name* says nothing, but whose local card says Llama 3.1."""
    hub = tmp_path / "hub"
    hub_repo(hub, "models", "org/my-finetune", {"license": "llama3.1"})
    child = hub_repo(hub, "models", "org2/child", {"license": "apache-2.0",
                                                     "base_model": "org/my-finetune"})
    report = _assess(child)
    assert report.lineage.base_models[0].licence == "LicenseRef-scancode-llama-3.1-license-2024"
    assert "MT-LIN-001" in _ids(report)
    assert "'child'" in _evidence(report, "MT-LIN-002")


def test_merge_with_several_bases(tmp_path: Path) -> None:
    meta = {"license": "apache-2.0", "model_name": "Llama-3.1-Merge",
            "base_model": ["meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1"]}
    root = write_repo(tmp_path / "m", meta)
    write_gguf(root / "merge.gguf", {
        "general.base_model.0.organization": "Meta Llama",
        "general.base_model.0.name": "Llama 3.1 8B",
        "general.base_model.1.repo_url": "https://huggingface.co/mistralai/Mistral-7B-v0.1",
    }, {"general.base_model.count": 2})
    report = _assess(root)
    assert report.lineage.relation == "merge"
    assert report.lineage.relation_source == "inferred"
    # One entry per base: the card's spelling, both sources listed.
    assert {(b.id, b.source, b.sources) for b in report.lineage.base_models} == {
        ("meta-llama/Llama-3.1-8B", "card", ("card", "gguf")),
        ("mistralai/Mistral-7B-v0.1", "card", ("card", "gguf"))}
    assert "MT-LIN-001" in _ids(report)
    assert "MT-LIN-002" not in _ids(report)
    assert "MT-LIN-005" not in _ids(report)  # same bases, spelled the GGUF way


def test_gguf_base_keys_beyond_or_without_count(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "apache-2.0"})
    write_gguf(root / "a.gguf", {"general.base_model.3.repo_url":
                                 "https://huggingface.co/meta-llama/Llama-3.2-1B"},
               {"general.base_model.count": 4_000_000_000})
    report = _assess(root)
    assert [b.id for b in report.lineage.base_models] == ["meta-llama/Llama-3.2-1B"]
    assert "MT-LIN-001" in _ids(report)


def test_gguf_conflicting_base(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "apache-2.0",
                                       "base_model": "mistralai/Mistral-7B-v0.1"})
    write_gguf(root / "a.gguf", {"general.base_model.0.organization": "Qwen",
                                 "general.base_model.0.name": "Qwen2.5 7B"},
               {"general.base_model.count": 1})
    assert "MT-LIN-005" in _ids(_assess(root))


@pytest.mark.parametrize("content", [
    b'{"base_model_name_or_path": ["a/b"]}', b'{"base_model_name_or_path": {"x": 1}}',
    b"[1, 2, 3]", b"\xff\xfe\x00garbage", b'{"a": ' * 5000 + b"1" + b"}" * 5000,
    b'{"base_model_name_or_path": "../../../../etc/passwd"}',
    b'{"base_model_name_or_path": "' + b"x" * 300_000 + b'"}',
])
def test_hostile_adapter_config(tmp_path: Path, content: bytes) -> None:
    root = write_repo(tmp_path / "m", {"license": "mit"})
    (root / "adapter_config.json").write_bytes(content)
    report = _assess(root)
    for b in report.lineage.base_models:
        assert b.licence is None and len(b.id) <= 300


def test_adapter_in_subfolder(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "adapters/chat/adapter_config.json": '{"base_model_name_or_path": "google/gemma-2-2b"}'}
    report = _assess(write_repo(tmp_path / "m", {"license": "apache-2.0"}, files=files))
    assert [(b.id, b.source) for b in report.lineage.base_models] == [
        ("google/gemma-2-2b", "adapter_config")]
    assert report.lineage.relation == "adapter"
    assert "MT-LIN-003" in _ids(report)


def test_invalid_relation_is_null_in_json(tmp_path: Path) -> None:
    meta = {"license": "mit", "base_model": "a/b", "base_model_relation": "Distilled\x1b[2J"}
    report = _assess(write_repo(tmp_path / "m", meta))
    assert report.lineage.relation is None
    assert "MT-LIN-006" in _ids(report)


# --- hostile cache cards ------------------------------------------------------------------

def test_fifo_and_escaping_cards_in_cache_are_not_read(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    fifo_ds = hub / "datasets--org--fifo" / "snapshots" / ("a" * 40)
    fifo_ds.mkdir(parents=True)
    os.mkfifo(fifo_ds / "README.md")
    fifo_base = hub / "models--org--fifo" / "snapshots" / ("a" * 40)
    fifo_base.mkdir(parents=True)
    os.mkfifo(fifo_base / "README.md")
    outside = tmp_path / "outside.md"
    outside.write_text(dataset_card("cc-by-nc-4.0"))
    out_ds = hub / "datasets--org--out" / "snapshots" / ("b" * 40)
    out_ds.mkdir(parents=True)
    (out_ds / "README.md").symlink_to(outside)
    child = hub_repo(hub, "models", "org/child", {
        "license": "mit", "base_model": "org/fifo", "datasets": ["org/fifo", "org/out"]})
    report = _assess(child)  # would block forever if a FIFO were opened
    assert all(d.card is None and d.licence is None for d in report.data.datasets)
    assert report.lineage.base_models[0].licence is None


def test_huge_and_binary_dataset_cards(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    big = hub_repo(hub, "datasets", "org/big", None, body="x" * 2_000_000)
    (big / "README.md").write_bytes(b"---\nlicense: mit\n---\n" + b"y" * 3_000_000)
    binary = hub_repo(hub, "datasets", "org/bin", None)
    (binary / "README.md").write_bytes(b"\x00\x01\xff" * 1000)
    bomb = hub_repo(hub, "datasets", "org/bomb", None)
    (bomb / "README.md").write_text("---\na: &a [x, x, x, x, x, x, x, x, x]\n"
                                    + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                                              for p, c in zip("abcdefgh", "bcdefghi",
                                                              strict=True))
                                    + "license: mit\n---\n")
    child = hub_repo(hub, "models", "org/child", {
        "license": "mit", "datasets": ["org/big", "org/bin", "org/bomb"]})
    report = _assess(child)
    ds = {d.id: d for d in report.data.datasets}
    assert ds["org/big"].licence == "MIT"
    assert ds["org/bin"].licence is None and ds["org/bomb"].licence is None


# --- training data ------------------------------------------------------------------------

def test_dataset_with_several_licences_takes_the_strictest(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "datasets/mix/README.md": dataset_card(["cc-by-4.0", "cc-by-nc-4.0"])}  # type: ignore[arg-type]
    report = _assess(write_repo(tmp_path / "m", {"license": "mit", "datasets": ["org/mix"]},
                                files=files))
    ds = report.data.datasets[0]
    assert ds.terms == "non-commercial"
    assert ds.licence == "CC-BY-4.0 AND CC-BY-NC-4.0"
    assert "MT-OSS-003" in _ids(report)


@pytest.mark.parametrize(("gated", "expected"), [
    ("false", False), ("no", False), (False, False), ("manual", True), ("auto", True),
    (True, True)])
def test_dataset_gating_values(tmp_path: Path, gated: object, expected: bool) -> None:
    files: dict[str, str | bytes] = {"datasets/g/README.md": dataset_card("cc-by-4.0",
                                                                          gated=gated)}
    report = _assess(write_repo(tmp_path / "m", {"license": "mit", "datasets": ["org/g"],
                                                 "gated": gated}, files=files))
    assert report.data.datasets[0].gated is expected
    assert report.accountability.gated is expected
    assert ("MT-OSS-005" in _ids(report)) is expected


def test_source_datasets_lineage_in_cache(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    hub_repo(hub, "datasets", "org/clean", {"license": "cc-by-4.0",
                                            "source_datasets": ["extended|org/raw", "original"]})
    hub_repo(hub, "datasets", "org/raw", {"license": "cc-by-nc-4.0",
                                          "source_datasets": ["org/clean", "squad"]})  # a cycle
    hub_repo(hub, "datasets", "squad", {"license": "cc-by-sa-4.0"})  # legacy canonical id
    child = hub_repo(hub, "models", "org/child", {"license": "apache-2.0",
                                                   "datasets": ["org/clean"]})
    report = _assess(child)
    ds = {d.id: d for d in report.data.datasets}
    assert ds["org/clean"].source_datasets == ("org/raw",)
    assert (ds["org/raw"].role, ds["org/raw"].via, ds["org/raw"].terms) == (
        "source", "org/clean", "non-commercial")
    assert (ds["squad"].role, ds["squad"].licence) == ("source", "CC-BY-SA-4.0")
    assert len(report.data.datasets) == 3
    assert "org/raw (source, listed by org/clean)" in _evidence(report, "MT-OSS-003")
    assert [d.id for d in report.data.training] == ["org/clean"]


def test_traversal_dataset_names_are_not_looked_up(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    (hub / "datasets--x").mkdir(parents=True)
    child = hub_repo(hub, "models", "org/child", {
        "license": "mit", "datasets": ["../../etc", "a/../../b", "/abs/path", "x\x00y"]})
    report = _assess(child)
    assert all(d.card is None for d in report.data.datasets)


# --- OSAID edge cases ---------------------------------------------------------------------

def test_osaid_public_data_needs_where_to_get_it(tmp_path: Path) -> None:
    root = open_repo(tmp_path / "m")
    readme = root / "README.md"
    readme.write_text(readme.read_text().replace(
        "- example/train-set", "- our internal web crawl (2023)"))
    report = _assess(root)
    rule = [r for r in report.osaid.rules if r.id == "OSAID-DATA-PUBLIC"][0]
    assert rule.status == "unknown" and "internal web crawl" in rule.evidence
    assert report.osaid.verdict == "not_met"


def test_osaid_code_not_met_only_for_code_in_the_snapshot(tmp_path: Path) -> None:
    meta = {"license": "llama3.1", "library_name": "transformers"}
    root = write_repo(tmp_path / "m", meta, files={"model.safetensors": WEIGHTS})
    code = [r for r in _assess(root).osaid.rules if r.id == "OSAID-CODE"][0]
    assert code.status == "unknown", code.evidence  # transformers is not under Llama terms
    (root / "train.py").write_text("print('train')\n")
    code = [r for r in _assess(root).osaid.rules if r.id == "OSAID-CODE"][0]
    assert code.status == "not_met" and "train.py" in code.evidence


def test_unknown_never_counts_as_met(tmp_path: Path) -> None:
    root = open_repo(tmp_path / "m")
    (root / "train.py").unlink()
    report = _assess(root)
    statuses = {r.id: r.status for r in report.osaid.rules}
    assert statuses["OSAID-CODE"] == "unknown"
    assert set(statuses.values()) == {"met", "unknown"}
    assert report.osaid.verdict == "not_met"


# --- MOF edge cases -----------------------------------------------------------------------

def test_dataset_papers_are_not_the_models_research_paper(tmp_path: Path) -> None:
    body = FULL_CARD_BODY.replace(
        "can be downloaded from the hub.",
        "can be downloaded from the hub ([paper](https://arxiv.org/abs/1111.11111)).")
    root = write_repo(tmp_path / "m", {"license": "apache-2.0"}, body,
                      {"model.safetensors": WEIGHTS})
    paper = [c for c in _assess(root).mof.components if c.name == "Research paper"][0]
    assert paper.presence == "absent"
    body += "\nOur paper: [MiniThing](https://arxiv.org/abs/2222.22222)\n"
    root = write_repo(tmp_path / "n", {"license": "apache-2.0"}, body,
                      {"model.safetensors": WEIGHTS})
    paper = [c for c in _assess(root).mof.components if c.name == "Research paper"][0]
    assert (paper.presence, paper.evidence) == ("linked", "https://arxiv.org/abs/2222.22222")
    assert not paper.satisfied


def test_missing_for_next_lists_only_the_next_class(tmp_path: Path) -> None:
    root = open_repo(tmp_path / "m")
    for rel in ("evaluate.py", "paper/paper.md", "preprocess.py"):
        (root / rel).unlink()
    report = _assess(root)
    assert (report.mof.mof_class, report.mof.next_class) == ("III", "II")
    assert [c for c, _ in report.mof.missing] == ["Evaluation code"]


def test_dataset_card_without_known_licence(tmp_path: Path) -> None:
    root = open_repo(tmp_path / "m")
    (root / "datasets/train-set/README.md").write_text("---\nlicense: my-own\n---\n# D\n")
    report = _assess(root)
    ds = [c for c in report.mof.components if c.name == "Datasets"][0]
    assert ds.presence == "snapshot" and ds.licence is None
    assert dict(report.mof.missing)["Datasets"] == "licence unknown"
    assert report.mof.mof_class == "II"


def test_mof_data_licence_for_code_component(tmp_path: Path) -> None:
    """CC-BY-4.0 is open for data and documents, not for code (type-appropriate licences)."""
    root = open_repo(tmp_path / "m")
    (root / "LICENSE").write_text(EXCERPTS["cc-by-4.0"])
    readme = root / "README.md"
    readme.write_text(readme.read_text().replace("license: apache-2.0", "license: cc-by-4.0"))
    report = _assess(root)
    comps = {c.name: c for c in report.mof.components}
    assert comps["Training code"].open and not comps["Training code"].type_appropriate
    assert comps["Model card"].satisfied and comps["Model parameters (Final)"].satisfied
    assert report.mof.mof_class is None  # modeling_example.py is code under CC-BY-4.0
    assert report.mof.missing == (("Model architecture",
                                   "licence CC-BY-4.0 is not an open licence for code"),)
    status = {r.id: r.status for r in report.osaid.rules}
    assert status["OSAID-PARAMETERS"] == "unknown" and status["OSAID-CODE"] == "not_met"


# --- accountability -----------------------------------------------------------------------

def test_snapshot_folder_inside_hub_cache(tmp_path: Path) -> None:
    rev = "0123456789abcdef0123456789abcdef01234567"
    snap = hub_repo(tmp_path / "hub", "models", "acme/widget-7b",
                    {"license": "mit", "release_date": "2024-05-01"}, rev=rev)
    report = _assess(snap)
    acc = report.accountability
    assert (acc.revision, acc.revision_source) == (rev, "hub cache snapshot")
    assert (acc.publisher, acc.publisher_source) == ("acme", "hub cache folder name")
    assert acc.date == "2024-05-01"
    assert report.lineage.model_name == "widget-7b"


def test_local_dir_download_metadata(tmp_path: Path) -> None:
    rev = "f" * 40
    files: dict[str, str | bytes] = {
        ".cache/huggingface/download/README.md.metadata": f"{rev}\netag\n1714000000.0\n",
        "SECURITY.md": "Report to security@acme.example\n"}
    report = _assess(write_repo(tmp_path / "m", {"license": "mit", "author": "ACME"},
                                files=files))
    acc = report.accountability
    assert acc.revision == rev and acc.revision_source is not None
    assert acc.publisher == "ACME" and acc.security_policy is not None
    assert "MT-CARD-005" not in _ids(report)


def test_hostile_accountability_values(tmp_path: Path) -> None:
    meta: dict[str, Any] = {"license": "mit", "contact": ["x" * 3000] * 50,
                            "gated": {"nested": True}, "extra_gated_fields": {"a" * 500: "text"},
                            "date": ["not", "a", "date"], "author": "\x1b]0;pwn\x07"}
    report = _assess(write_repo(tmp_path / "m", meta))
    acc = report.accountability
    assert len(acc.contacts) <= 20 and all(len(c) <= 200 for c in acc.contacts)
    assert acc.gated is True and acc.gating_fields == ("a" * 100,)
    assert acc.date is None
    from modeltrust._assess.report import render_text

    assert "\x1b" not in render_text(report)
