"""``modeltrust openness``: formats, output file, exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from helpers.openness import EXCERPTS, open_repo, write_gguf, write_repo
from modeltrust._cli.main import cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_listed_in_help() -> None:
    assert "openness" in run("--help").output


def test_console_and_exit_0(tmp_path: Path) -> None:
    res = run("openness", str(open_repo(tmp_path / "m")))
    assert res.exit_code == 0, res.output
    assert "OSAID 1.0: met" in res.output
    assert "MOF 1.0 class: I" in res.output


def test_json_and_exit_1_on_high(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "apache-2.0"},
                      files={"LICENSE": EXCERPTS["llama3.1"]})
    res = run("openness", str(root), "--format", "json")
    assert res.exit_code == 1
    doc = json.loads(res.output)
    assert doc["kind"] == "openness" and doc["failed"] is True
    assert "MT-LIC-003" in {f["rule_id"] for f in doc["findings"]}
    assert doc["licence"]["spdx"] == "Apache-2.0"


def test_fail_on_threshold(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "cc-by-nc-4.0"})
    assert run("openness", str(root)).exit_code == 0
    assert run("openness", str(root), "--fail-on", "medium").exit_code == 1


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "open.json"
    res = run("openness", str(open_repo(tmp_path / "m")), "-f", "json", "-o", str(out))
    assert res.exit_code == 0
    assert json.loads(out.read_text())["mof"]["class"] == "I"


def test_missing_target_exit_2(tmp_path: Path) -> None:
    res = run("openness", str(tmp_path / "nope"))
    assert res.exit_code == 2
    assert "modeltrust: error:" in res.output


def test_bad_option_exit_2(tmp_path: Path) -> None:
    assert run("openness", str(tmp_path), "--format", "xml").exit_code == 2


def test_audit_has_openness_section(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "apache-2.0",
                                       "base_model": "meta-llama/Llama-3.1-8B"})
    res = run("audit", str(root))
    assert "Openness" in res.output
    assert "OSAID 1.0: not_met" in res.output
    assert "MOF 1.0 class: none" in res.output
    assert "base model: meta-llama/Llama-3.1-8B" in res.output
    assert res.exit_code == 1  # MT-LIN-001 (high) counts toward --fail-on in audit too


def test_json_contract_fields(tmp_path: Path) -> None:
    res = run("openness", str(open_repo(tmp_path / "m")), "--format", "json")
    doc = json.loads(res.output)
    assert doc["licence"]["spdx"] == "Apache-2.0"
    assert isinstance(doc["licence"]["clauses"], list)
    assert doc["osaid"]["verdict"] == "met"
    assert {r["status"] for r in doc["osaid"]["rules"]} == {"met"}
    assert all({"id", "status", "evidence"} <= set(r) for r in doc["osaid"]["rules"])
    assert doc["mof"]["class"] == "I" and len(doc["mof"]["components"]) == 17
    assert doc["data"]["datasets"][0]["id"] == "example/eval-set"
    assert doc["lineage"]["base_models"] == []


def _peft_adapter(root: Path) -> Path:
    """The usual PEFT layout: the card and adapter_config.json name the same base."""
    return write_repo(root, {"license": "gemma", "library_name": "peft",
                             "base_model": "google/gemma-2-9b"},
                      files={"adapter_config.json": json.dumps(
                          {"base_model_name_or_path": "google/gemma-2-9b", "peft_type": "LORA"})})


def _quantized_gguf(root: Path) -> Path:
    """A card saying quantized and a GGUF whose base_model.0.repo_url is the same id."""
    root = write_repo(root, {"license": "llama3.1", "base_model_relation": "quantized",
                             "base_model": "meta-llama/Llama-3.1-8B-Instruct"})
    write_gguf(root / "m.gguf", {
        "general.base_model.0.repo_url": "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct"},
        {"general.base_model.count": 1})
    return root


def test_same_base_from_two_sources_does_not_crash(tmp_path: Path) -> None:
    """Regression: sorting bases whose relations were None and a string raised TypeError."""
    for root, relation, sources in (
            (_peft_adapter(tmp_path / "a"), "adapter", ["card", "adapter_config"]),
            (_quantized_gguf(tmp_path / "q"), "quantized", ["card", "gguf"])):
        res = run("openness", str(root), "--format", "json")
        assert res.exit_code == 0, res.output
        [base] = json.loads(res.output)["lineage"]["base_models"]
        assert (base["relation"], base["source"], base["sources"]) == (relation, "card", sources)
        audit = run("audit", str(root))
        assert audit.exit_code in (0, 1), audit.output
        assert "base model: " in audit.output


def test_osaid_line_counts_unknown_apart(tmp_path: Path) -> None:
    """Regression: 'N rule(s) not met' counted unknown rules as not met."""
    root = write_repo(tmp_path / "m", {"license": "cc-by-4.0"}, "# M\n",
                      files={"model.safetensors": b"x"})
    want = ("OSAID 1.0: not_met (3 not met: OSAID-DATA-DESCRIPTION, OSAID-DATA-PUBLIC, "
            "OSAID-DATA-THIRD-PARTY; 3 unknown: OSAID-CODE, OSAID-PARAMETERS, OSAID-FREEDOMS)")
    for cmd in ("openness", "audit"):
        res = run(cmd, str(root))
        assert "rule(s) not met" not in res.output
        assert want in " ".join(res.output.split()), res.output
