"""``modeltrust openness``: formats, output file, exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from helpers.openness import EXCERPTS, open_repo, write_repo
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
