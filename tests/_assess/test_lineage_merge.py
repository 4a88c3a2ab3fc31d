"""One base model declared by several sources: merged, totally ordered, never a crash."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modeltrust
from helpers.openness import write_gguf, write_repo
from modeltrust._assess.card import Card
from modeltrust._assess.licence import assess_licence
from modeltrust._assess.lineage import RELATIONS, BaseModel, assess_lineage, merge_bases
from modeltrust._assess.snapshot import open_snapshot
from modeltrust.findings import Finding


def test_card_and_adapter_same_base_is_one_adapter_base(tmp_path: Path) -> None:
    """Regression (CRASH): card base_model without relation + adapter_config.json, same id."""
    root = write_repo(tmp_path / "m", {"license": "gemma", "library_name": "peft",
                                       "base_model": "google/gemma-2-9b"},
                      files={"adapter_config.json": json.dumps(
                          {"base_model_name_or_path": "google/gemma-2-9b"})})
    report = modeltrust.openness(root)
    [base] = report.lineage.base_models
    assert (base.id, base.relation, base.source, base.sources) == (
        "google/gemma-2-9b", "adapter", "card", ("card", "adapter_config"))
    assert report.lineage.relation == "adapter"
    assert not {f.rule_id for f in report.findings} & {"MT-LIN-003", "MT-LIN-005"}


def test_card_quantized_and_gguf_same_base(tmp_path: Path) -> None:
    """Regression (CRASH): card relation quantized + GGUF repo_url of the same id."""
    root = write_repo(tmp_path / "m", {"license": "llama3.1", "base_model_relation": "quantized",
                                       "base_model": "meta-llama/Llama-3.1-8B-Instruct"})
    write_gguf(root / "m.gguf", {"general.base_model.0.repo_url":
                                 "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"},
               {"general.base_model.count": 1})
    report = modeltrust.openness(root)
    [base] = report.lineage.base_models
    assert (base.relation, base.sources) == ("quantized", ("card", "gguf"))
    assert not {f.rule_id for f in report.findings} & {"MT-LIN-001", "MT-LIN-002", "MT-LIN-005"}


def test_merge_keeps_most_specific_relation_and_known_licence() -> None:
    bases = [BaseModel("Org/Base", None, "gguf", "m.gguf"),
             BaseModel("org/base", "adapter", "adapter_config", "adapter_config.json", "MIT"),
             BaseModel("org/base", None, "card", "README.md"),
             BaseModel("other/x", "finetune", "card", "README.md")]
    merged = merge_bases(bases)
    assert [(b.id, b.relation, b.source, b.licence, b.sources) for b in merged] == [
        ("org/base", "adapter", "card", "MIT", ("card", "adapter_config", "gguf")),
        ("other/x", "finetune", "card", None, ("card",))]
    assert merge_bases(bases[::-1]) == merged
    # A declared card relation is more specific than the adapter layout.
    both = [BaseModel("a/b", "finetune", "card", "README.md"),
            BaseModel("a/b", "adapter", "adapter_config", "adapter_config.json")]
    assert merge_bases(both)[0].relation == "finetune"
    # Spellings of one base within one source: the first declared is kept.
    card = [BaseModel(i, None, "card", "README.md") for i in ("Org/Base", "org/base", "ORG/BASE")]
    assert [b.id for b in merge_bases(card)] == ["Org/Base"]


_IDS = st.sampled_from([
    "google/gemma-2-9b", "Google/Gemma_2_9B", "https://huggingface.co/google/gemma-2-9b",
    "meta-llama/Llama-3.1-8B", "Meta Llama/Llama 3.1 8B", "a/b", "A/B", "", "  ", "x"])
_ID = _IDS | st.text(max_size=12)
_RELATION = st.none() | st.sampled_from([*RELATIONS, "distilled", "", "ADAPTER"]) \
    | st.text(max_size=8)
_ODD = st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False) \
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
_CARD_BASE = st.none() | _ID | st.lists(_ID | _ODD, max_size=4) | _ODD
_CARD_REL = _RELATION | st.lists(_RELATION, max_size=2) | _ODD
_ADAPTERS = st.lists(st.none() | _ID | _ODD, max_size=3)
_GGUF = st.lists(st.tuples(st.sampled_from(["repo_url", "name", "organization"]), _ID),
                 max_size=4)


def _gguf_meta(entries: list[tuple[str, str]], count: str) -> dict[str, dict[str, str]]:
    meta = {f"general.base_model.{i}.{key}": value for i, (key, value) in enumerate(entries)}
    meta["general.base_model.count"] = count
    return {"m.gguf": meta}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=_CARD_BASE, relation=_CARD_REL, adapters=_ADAPTERS, gguf=_GGUF,
       count=st.sampled_from(["0", "1", "3", "-1", "x", "99999999999"]),
       licence=st.sampled_from(["gemma", "llama3.1", "apache-2.0", "mit", None]))
def test_lineage_never_raises(base: Any, relation: Any, adapters: list[Any],
                              gguf: list[tuple[str, str]], count: str,
                              licence: str | None) -> None:
    """Any mix of card, adapter and GGUF bases and relations (None included) is assessed."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i, name in enumerate(adapters):
            folder = root / f"a{i}"
            folder.mkdir()
            (folder / "adapter_config.json").write_text(
                json.dumps({"base_model_name_or_path": name}))
        (root / "README.md").write_text("# M\n")
        snap = open_snapshot(str(root))
        meta = {"license": licence, "base_model": base, "base_model_relation": relation}
        card = Card(rel="README.md", meta=meta, meta_ok=True)
        findings: list[Finding] = []
        lic = assess_licence(snap, card, None, findings)
        result = assess_lineage(snap, card, _gguf_meta(gguf, count), lic, findings)
    keys = [b.sort_key() for b in result.base_models]
    assert keys == sorted(keys)
    assert len({k[0] for k in keys}) == len(keys)  # one entry per base
    assert result.relation in (*RELATIONS, None)
    json.dumps(result.to_dict())
