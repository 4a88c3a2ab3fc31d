"""Regressions from cards shaped like real hub releases (cards written for these tests).

Each test re-creates one mechanism an outside review found wrong: grant sentences read as
restrictions, subsections ignored, the wrong link taken as the model's paper, a dataset
card given the model's licence, a GGUF re-packaging held to the derivative naming duty,
gating keys, re-packagers' creator credits, headings quoted as clauses, mergekit configs
and fine-tuning scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import modeltrust
from helpers.openness import WEIGHTS, hub_repo, openness_validator, write_gguf, write_repo
from modeltrust._assess.clauses import find_clauses, is_heading, kinds_of
from modeltrust._assess.report import OpennessReport, to_json

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _assess(root: Path) -> OpennessReport:
    report = modeltrust.openness(root)
    openness_validator().validate(json.loads(to_json(report)))
    return report


def _component(report: OpennessReport, name: str) -> Any:
    return next(c for c in report.mof.components if c.name == name)


def _rule(report: OpennessReport, rule_id: str) -> Any:
    return next(r for r in report.osaid.rules if r.id == rule_id)


# --- 1. grants are not restrictions ----------------------------------------------------

@pytest.mark.parametrize("sentence", [
    "Free for research, non-commercial, and commercial use for small teams.",
    "You may use the weights for commercial purposes.",
    "The licence permits commercial use and redistribution.",
    "Commercial use is permitted.",
    "There are no restrictions on commercial use.",
    "Its use is not limited to non-commercial use.",
    "The model can be deployed in commercial products.",
    "There are no use restrictions.",
    "You are free to use the outputs to train other models.",
    "Available for research and commercial purposes only.",
    "There is no limit on monthly active users.",
])
def test_grant_sentences_are_not_restrictions(sentence: str) -> None:
    assert kinds_of(sentence) == set(), sentence


@pytest.mark.parametrize(("sentence", "kind"), [
    ("This model is for non-commercial use only.", "non_commercial"),
    ("Free for non-commercial use.", "non_commercial"),
    ("You may not use the model for commercial purposes.", "non_commercial"),
    ("Free for research, but not for commercial use.", "non_commercial"),
    ("Commercial use is not permitted.", "non_commercial"),
    ("You may not use outputs to train competing models.", "output_ban"),
    ("You agree not to use the model for weapons development.", "field_of_use"),
    ("There are no use restrictions, but you may not use it for surveillance.",
     "field_of_use"),
])
def test_restrictions_beside_grants_still_count(sentence: str, kind: str) -> None:
    assert kind in kinds_of(sentence), sentence


def test_revenue_grant_is_a_threshold_not_non_commercial() -> None:
    grant = ("Free for research, non-commercial, and commercial use for organisations with "
             "less than $1M in annual revenue.")
    assert kinds_of(grant) == {"user_threshold"}
    above = ("Commercial use by organisations with more than $1M in annual revenue requires "
             "an enterprise licence.")
    assert kinds_of(above) == {"user_threshold"}


def test_card_licence_section_grant_gives_no_non_commercial_finding(tmp_path: Path) -> None:
    body = ("# Image model\n\n## License\n\n- **Community licence:** Free for research, "
            "non-commercial, and commercial use for organisations or individuals with less "
            "than $1M in annual revenue. Details are in the licence agreement.\n")
    root = write_repo(tmp_path / "m", {"license": "other", "license_name": "my-community"},
                      body, {"model.safetensors": WEIGHTS})
    report = _assess(root)
    assert "non_commercial" not in {c.kind for c in report.licence.clauses}
    assert "MT-LIC-010" not in {f.rule_id for f in report.findings}
    assert "user_threshold" in {c.kind for c in report.licence.clauses}


# --- 6d. headings are not clauses; sentences come first ---------------------------------

def test_policy_headings_do_not_use_up_the_quotes() -> None:
    policy = ("# Widget 2 Acceptable Use Policy\n\n"
              "We care about safe use. By using Widget 2 you accept this Acceptable Use "
              "Policy.\n\n## Prohibited Uses\nWe want Widget 2 used responsibly. You agree "
              "you will not use, or let others use, Widget 2 to:\n\n"
              "1. Break the law.\n2. Harm others.\n\nProhibited Uses Of The Model\n")
    quotes = [c.quote for c in find_clauses(policy, "USE_POLICY.md")
              if c.kind == "field_of_use"]
    assert any(q.startswith("You agree you will not use") for q in quotes)
    assert not any(q.lstrip("# ") == "Prohibited Uses" or q.startswith("#") for q in quotes)
    assert is_heading("Prohibited Uses Of The Model")
    assert not is_heading("- No commercial use")
    assert not is_heading("Commercial use is not permitted.")


def test_heading_only_text_has_no_recursion_limit() -> None:
    text = "\n".join("# Prohibited Uses" for _ in range(5000)) + "\nYou agree not to use it."
    found = find_clauses(text, "x")  # one chunk; every heading line stands alone
    assert [(c.kind, c.line) for c in found] == [("field_of_use", 5001)]


# --- 2. sections include their subsections ----------------------------------------------

GEMMA_LIKE = """# Widget model card

## Model Data

What the model was trained on.

### Training Dataset

The models were trained on a large mixture of text from many sources, totalling several
trillion tokens. The mixture contains web documents in many languages, source code in
common programming languages and mathematical text that helps logical reasoning. Each
source was filtered for quality and for personal information before training started.

### Data Preprocessing

Harmful content and sensitive personal data were filtered out at several stages.

## Evaluation

### Benchmark Results

| Benchmark | Metric | Widget 9B |
| --- | --- | --- |
| MMLU | 5-shot | 71.3 |

## Limitations

Some limitations apply.
"""


def test_section_words_include_subsections(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "apache-2.0"}, GEMMA_LIKE,
                      {"model.safetensors": WEIGHTS})
    report = _assess(root)
    sec = report.parsed_card.section("training_data")
    assert sec is not None and sec.heading == "Model Data" and sec.words > 60
    assert _rule(report, "OSAID-DATA-DESCRIPTION").status == "met"
    evals = _component(report, "Evaluation results")
    assert evals.presence == "card" and "Evaluation" in evals.evidence


def test_benchmark_table_alone_counts_as_evaluation_results(tmp_path: Path) -> None:
    body = ("# Small model\n\n## Benchmarks\n\n| Task | Score |\n|---|---|\n"
            "| Reasoning | 70.9 |\n\n## License\n\nMIT.\n")
    root = write_repo(tmp_path / "m", {"license": "mit"}, body, {"model.safetensors": WEIGHTS})
    evals = _component(_assess(root), "Evaluation results")
    assert evals.presence == "card" and "Benchmarks" in evals.evidence
    words = body.replace("| Reasoning | 70.9 |", "| Reasoning | good |")
    root = write_repo(tmp_path / "n", {"license": "mit"}, words, {"model.safetensors": WEIGHTS})
    assert _component(_assess(root), "Evaluation results").presence == "absent"


def test_a_lone_title_heading_is_not_a_section_around_the_card(tmp_path: Path) -> None:
    body = "# Data model\n\nShort.\n\n## Uses\n\n" + "word " * 80 + "\n"
    root = write_repo(tmp_path / "m", {"license": "mit"}, body, {"model.safetensors": WEIGHTS})
    sec = _assess(root).parsed_card.section("training_data")
    assert sec is not None and sec.words == 1


# --- 3. the model's own paper and report --------------------------------------------------

def test_labelled_report_link_wins_over_neighbours(tmp_path: Path) -> None:
    body = ("# Mini\n\nResources:\n\n+ [Mini blog post](https://example.org/blog)\n"
            "+ [Mini Technical Report](https://example.org/mini-report)\n"
            "+ [Mini on a cloud studio](https://example.org/cloud)\n")
    root = write_repo(tmp_path / "m", {"license": "mit"}, body, {"model.safetensors": WEIGHTS})
    report = _component(_assess(root), "Technical report")
    assert (report.presence, report.evidence) == ("linked", "https://example.org/mini-report")


def test_labelled_paper_beats_table_citations(tmp_path: Path) -> None:
    body = ("# Open7B\n\n### Model Sources\n\n- **Repository:** https://github.com/x/open7b\n"
            "- **Paper:** [Link](https://arxiv.org/abs/2402.99999)\n\n## Results\n\n"
            "| | [Other 7B](https://arxiv.org/abs/2302.11111) | **Open7B** |\n|---|---|---|\n"
            "| arc | 44.5 | 48.5 |\n\n## Training Data\n\nSee the corpus paper "
            "(https://arxiv.org/abs/2402.00001).\n")
    root = write_repo(tmp_path / "m", {"license": "apache-2.0"}, body,
                      {"model.safetensors": WEIGHTS})
    report = _assess(root)
    paper = _component(report, "Research paper")
    assert (paper.presence, paper.evidence) == ("linked", "https://arxiv.org/abs/2402.99999")
    tech = _component(report, "Technical report")
    assert (tech.presence, tech.evidence) == ("linked", "https://arxiv.org/abs/2402.99999")


def test_table_only_papers_are_not_the_models(tmp_path: Path) -> None:
    body = ("# M\n\n| baseline | score |\n|---|---|\n"
            "| [Other](https://arxiv.org/abs/2302.11111) | 1.0 |\n")
    root = write_repo(tmp_path / "m", {"license": "mit"}, body, {"model.safetensors": WEIGHTS})
    assert _component(_assess(root), "Research paper").presence == "absent"


# --- 4. a dataset card keeps its own licence ----------------------------------------------

def test_data_card_from_the_cache_has_the_datasets_licence(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    hub_repo(hub, "datasets", "org/corpus", {"license": "odc-by"})
    hub_repo(hub, "models", "org/model", {"license": "apache-2.0", "datasets": ["org/corpus"]})
    data_card = _component(_assess(hub / "models--org--model"), "Data card")
    assert data_card.licence == "ODC-By-1.0"
    assert data_card.licence_source == "dataset card (org/corpus)"
    assert "datasets--org--corpus" in data_card.evidence


def test_data_card_with_unknown_licence_is_unknown_not_the_models(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    hub_repo(hub, "datasets", "org/code-stack", {"license": "other", "gated": True})
    hub_repo(hub, "models", "org/coder", {"license": "apache-2.0", "datasets": ["org/code-stack"]})
    report = _assess(hub / "models--org--coder")
    data_card = _component(report, "Data card")
    assert (data_card.licence, data_card.licence_source) == (None, None)
    assert not data_card.satisfied
    unknown = next(f for f in report.findings if f.rule_id == "MT-OSS-004")
    assert unknown.title == "Training or upstream dataset licence unknown"
    assert "with a local card that names no known licence: org/code-stack" in unknown.evidence


def test_data_card_falls_back_to_the_model_cards_data_section(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    hub_repo(hub, "datasets", "org/corpus", {"license": "odc-by"})
    body = "# M\n\n## Training data\n\n" + "Described in detail. " * 30 + "\n"
    hub_repo(hub, "models", "org/model", {"license": "apache-2.0", "datasets": ["org/corpus"]},
             body)
    data_card = _component(_assess(hub / "models--org--model"), "Data card")
    assert data_card.presence == "card" and data_card.licence == "Apache-2.0"


# --- 5. GGUF re-packaging keeps the base's name --------------------------------------------

def _gguf_repo(root: Path, name: str, meta: dict[str, Any]) -> Path:
    root.mkdir(parents=True)
    write_gguf(root / "model-Q4_K_M.gguf", {"general.name": name, "general.license": "llama3.1"})
    return write_repo(root, meta, "# GGUF quantizations\n")


def test_gguf_only_repo_is_inferred_quantized(tmp_path: Path) -> None:
    meta = {"license": "llama3.1", "base_model": "meta-llama/Meta-Llama-3.1-8B-Instruct"}
    root = _gguf_repo(tmp_path / "q", "Meta Llama 3.1 8B Instruct", meta)
    report = _assess(root)
    assert (report.lineage.relation, report.lineage.relation_source) == ("quantized", "inferred")
    assert "MT-LIN-002" not in {f.rule_id for f in report.findings}


def test_base_name_is_not_flagged_even_when_not_quantized(tmp_path: Path) -> None:
    meta = {"license": "llama3.1", "base_model": "meta-llama/Meta-Llama-3.1-8B-Instruct",
            "model_name": "Meta-Llama-3.1-8B-Instruct-GGUF"}
    root = write_repo(tmp_path / "m", meta, "# copy\n", {"model.safetensors": WEIGHTS})
    report = _assess(root)
    assert report.lineage.relation is None
    assert "MT-LIN-002" not in {f.rule_id for f in report.findings}
    meta["model_name"] = "SuperChat-8B"
    root = write_repo(tmp_path / "n", meta, "# derived\n", {"model.safetensors": WEIGHTS})
    assert "MT-LIN-002" in {f.rule_id for f in _assess(root).findings}


def test_gguf_beside_safetensors_is_not_inferred_quantized(tmp_path: Path) -> None:
    root = _gguf_repo(tmp_path / "q", "SuperChat",
                      {"license": "llama3.1", "base_model": "meta-llama/Meta-Llama-3.1-8B"})
    (root / "model.safetensors").write_bytes(WEIGHTS)
    report = _assess(root)
    assert report.lineage.relation is None
    assert "MT-LIN-002" in {f.rule_id for f in report.findings}


# --- 6b/6c. gating keys and creator credits -----------------------------------------------

@pytest.mark.parametrize(("meta", "gated"), [
    ({"extra_gated_description": "We process your data as our policy says."}, True),
    ({"extra_gated_heading": "Access this model"}, True),
    ({"extra_gated_button_content": "Submit"}, True),
    ({"extra_gated_prompt": ""}, False),
    ({"gated": False}, False),
])
def test_any_extra_gated_key_gates(tmp_path: Path, meta: dict[str, Any], gated: bool) -> None:
    root = write_repo(tmp_path / "m", {"license": "apache-2.0", **meta}, "# M\n",
                      {"model.safetensors": WEIGHTS})
    assert _assess(root).accountability.gated is gated


def test_dataset_gated_by_extra_gated_description(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    hub_repo(hub, "datasets", "org/corpus",
             {"license": "cc-by-4.0", "extra_gated_description": "Tell us who you are."})
    hub_repo(hub, "models", "org/model", {"license": "apache-2.0", "datasets": ["org/corpus"]})
    report = _assess(hub / "models--org--model")
    assert report.data.datasets[0].gated is True


def test_model_creator_is_not_the_publisher(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    hub_repo(hub, "models", "packager/Chat-7B-GGUF",
             {"license": "apache-2.0", "model_creator": "Original Lab", "base_model": "lab/chat"})
    acc = _assess(hub / "models--packager--Chat-7B-GGUF").accountability
    assert (acc.publisher, acc.publisher_source) == ("packager", "hub cache folder name")
    assert acc.original_creator == "Original Lab"
    root = write_repo(tmp_path / "m", {"license": "apache-2.0", "model_creator": "Lab",
                                       "author": "packager"}, "# M\n")
    acc = _assess(root).accountability
    assert (acc.publisher, acc.original_creator) == ("packager", "Lab")


# --- 6e. mergekit configurations are lineage ------------------------------------------------

MERGE = {
    "slices": [{"sources": [{"model": "org/alpha-7b", "layer_range": [0, 32]},
                            {"model": "org/beta-7b+org/beta-lora", "layer_range": [0, 32]}]}],
    "models": [{"model": "org/gamma-7b", "parameters": {"weight": 0.5}}, "not-a-mapping"],
    "base_model": "org/alpha-7b",
    "merge_method": "slerp",
}


def test_mergekit_config_names_the_merged_models(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "apache-2.0"}, "# merged\n",
                      {"mergekit_config.yml": yaml.safe_dump(MERGE),
                       "model.safetensors": WEIGHTS})
    lineage = _assess(root).lineage
    assert (lineage.relation, lineage.relation_source) == ("merge", "inferred")
    bases = {b.id: (b.relation, b.source) for b in lineage.base_models}
    assert bases == {m: ("merge", "mergekit_config") for m in
                     ("org/alpha-7b", "org/beta-7b", "org/beta-lora", "org/gamma-7b")}


def test_mergekit_config_of_gemma_models_binds_gemma_terms(tmp_path: Path) -> None:
    merge = {"models": [{"model": "google/gemma-7b"}, {"model": "google/gemma-7b-it"}],
             "base_model": "google/gemma-7b", "merge_method": "ties"}
    root = write_repo(tmp_path / "m", {"license": "apache-2.0"}, "# merged\n",
                      {"mergekit_config.yml": yaml.safe_dump(merge),
                       "model.safetensors": WEIGHTS})
    assert "MT-LIN-003" in {f.rule_id for f in _assess(root).findings}


@pytest.mark.parametrize("content", [
    "models: [unclosed", "- just\n- a list\n", "a: &x [*x]\n", "models: " + "[" * 200,
    "models:\n" + "  - model: org/x\n" * 20_000,
])
def test_bad_mergekit_configs_are_findings(tmp_path: Path, content: str) -> None:
    root = write_repo(tmp_path / "m", {"license": "apache-2.0"}, "# merged\n",
                      {"mergekit_config.yml": content, "model.safetensors": WEIGHTS})
    report = _assess(root)
    assert report.lineage.base_models == ()
    assert any(f.rule_id == "MT-LIN-006" and "mergekit_config.yml" in f.path
               for f in report.findings)


# --- 6f. fine-tuning scripts are training code --------------------------------------------

@pytest.mark.parametrize("name", ["sample_finetune.py", "scripts/run_sft.sh",
                                  "fine-tuning.py", "train_lora.py"])
def test_finetuning_scripts_are_training_code(tmp_path: Path, name: str) -> None:
    root = write_repo(tmp_path / "m", {"license": "mit", "library_name": "transformers"},
                      "# M\n", {name: "print('x')\n", "model.safetensors": WEIGHTS})
    assert _component(_assess(root), "Training code").presence == "snapshot"


def test_words_containing_train_are_not_training_code(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "mit"}, "# M\n",
                      {"constraint.py": "x = 1\n", "model.safetensors": WEIGHTS})
    assert _component(_assess(root), "Training code").presence == "absent"


def test_template_placeholders_and_other_subsections_are_not_a_description(
        tmp_path: Path) -> None:
    body = ("# Model Card for Model ID\n\n<!-- Provide a quick summary. -->\n\n"
            "## Training Details\n\n### Training Data\n\n[More Information Needed]\n\n"
            "### Framework versions\n\n- PEFT 0.11.1\n")
    root = write_repo(tmp_path / "m", {"license": "apache-2.0"}, body,
                      {"model.safetensors": WEIGHTS})
    report = _assess(root)
    assert not report.data.described
    assert "MT-OSS-002" in {f.rule_id for f in report.findings}
