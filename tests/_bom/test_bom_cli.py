"""``modeltrust bom`` and ``modeltrust audit --bom``: files written, formats chosen, validity."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import modeltrust
from helpers.bom_models import HUB_ID, derived_cache, signed_model, snapshot_of
from helpers.bom_validate import assert_valid_cyclonedx
from helpers.bom_validate_spdx import assert_valid_spdx
from helpers.openness import WEIGHTS
from helpers.pickles import MARKER
from modeltrust._cli.main import cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return derived_cache(tmp_path_factory.mktemp("bomcli"))


def test_cyclonedx_to_stdout(repo: Path) -> None:
    result = run("bom", str(repo))
    assert result.exit_code == 0, result.output
    assert_valid_cyclonedx(result.stdout)
    doc = json.loads(result.stdout)
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    assert not Path(MARKER).exists()


def test_format_follows_the_output_name(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.spdx.json"
    result = run("bom", str(repo), "-o", str(out))
    assert result.exit_code == 0
    assert "SPDX 3.0.1 BOM" in result.stderr
    assert re.search(r"1 scan findings, [1-9]\d* openness findings", result.stderr)
    assert_valid_spdx(out.read_text())
    cdx = tmp_path / "model.json"
    assert run("bom", str(repo), "-o", str(cdx), "--quiet").stderr == ""
    assert_valid_cyclonedx(cdx.read_text())


def test_explicit_format_wins(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.cdx.json"
    assert run("bom", str(repo), "--format", "spdx", "-o", str(out), "-q").exit_code == 0
    assert_valid_spdx(out.read_text())


def test_reproducible_with_source_date_epoch(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for fmt in ("cyclonedx", "spdx"):
        first = run("bom", str(repo), "--format", fmt).stdout
        assert first == run("bom", str(repo), "--format", fmt).stdout
        assert "2023-11-14T22:13:20Z" in first


def test_hub_id_option(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(WEIGHTS)
    result = run("bom", str(tmp_path), "--hub-id", "org/name", "--revision", "abc")
    assert result.exit_code == 0
    assert "pkg:huggingface/org/name@abc" in result.stdout
    bad = run("bom", str(tmp_path), "--hub-id", "nope")
    assert bad.exit_code == 2 and "ORG/NAME" in bad.stderr


def test_errors_exit_2(tmp_path: Path) -> None:
    result = run("bom", str(tmp_path / "gone"))
    assert result.exit_code == 2 and result.stderr.startswith("modeltrust: error: ")
    result = run("bom", str(tmp_path), "--format", "xml")
    assert result.exit_code == 2


def test_empty_folder_gives_a_valid_bom_that_says_so(tmp_path: Path) -> None:
    for fmt, check in (("cyclonedx", assert_valid_cyclonedx), ("spdx", assert_valid_spdx)):
        result = run("bom", str(tmp_path), "--format", fmt)
        assert result.exit_code == 0
        check(result.stdout)
        assert "OMS root digest: not computed" in result.stdout


def test_audit_writes_the_bom_from_its_own_results(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "audit.cdx.json"
    result = run("audit", str(repo), "--bom", str(out))
    assert result.exit_code == 1  # the pickle is critical
    assert_valid_cyclonedx(out.read_text())
    assert f"CycloneDX 1.6 BOM written to {out}" in result.stdout
    assert "OMS root digest: sha256:" in result.stdout
    doc = json.loads(out.read_text())
    assert any(v["id"] == "MT-PKL-002" for v in doc["vulnerabilities"])
    spdx = tmp_path / "audit.spdx.json"
    card = tmp_path / "card.json"
    run("audit", str(repo), "--bom", str(spdx), "-f", "json", "-o", str(card))
    assert_valid_spdx(spdx.read_text())
    inventory = json.loads(card.read_text())["sections"]["inventory"]
    assert inventory["status"] == "written" and inventory["format"] == "SPDX 3.0.1"
    assert inventory["root_digest"].startswith("sha256:")


def test_audit_bom_failure_is_reported_and_exits_2(repo: Path, tmp_path: Path) -> None:
    """The card is still printed; the exit code says the asked-for BOM was not written."""
    out = tmp_path / "missing-dir" / "bom.json"
    result = run("audit", str(repo), "--bom", str(out))
    assert result.exit_code == 2
    assert "BOM not written:" in result.stdout and "BOM not written:" in result.stderr


def test_python_api(repo: Path) -> None:
    text = modeltrust.bom(repo, format="spdx")
    assert_valid_spdx(text)
    ev = modeltrust.api.bom_evidence(snapshot_of(repo), hub_id=HUB_ID)
    assert ev.hub_id == HUB_ID
    with pytest.raises(modeltrust.UsageError, match="unknown BOM format"):
        modeltrust.bom(repo, format="xml")


def test_large_models_announce_the_hashing_pass(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from modeltrust._cli import bom as bom_cli

    (tmp_path / "model.safetensors").write_bytes(WEIGHTS)
    monkeypatch.setattr(bom_cli, "ANNOUNCE_BYTES", 1)
    out = tmp_path / "x.cdx.json"
    result = run("bom", str(tmp_path), "-o", str(out))
    assert "hashing 1 files (0.0 GB) for the BOM's digests" in result.stderr
    assert "hashing" not in run("bom", str(tmp_path), "-o", str(out), "-q").stderr


def test_audit_bom_hashes_a_signed_model_once_for_bom_and_signature(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modeltrust._integrity import verifying

    model = signed_model(tmp_path)
    calls: list[int] = []
    real = verifying.hash_tasks

    def counted(*args: object, **kw: object) -> dict[str, str]:
        calls.append(1)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(verifying, "hash_tasks", counted)
    result = run("audit", str(model), "--bom", str(tmp_path / "b.cdx.json"))
    assert result.exit_code == 0 and "signature " in result.stdout and ": intact" in result.stdout
    assert len(calls) == 1  # the scan's bounded status check; audit and BOM share one pass


def test_help_describes_the_bom_output_not_a_console_format() -> None:
    result = run("bom", "--help")
    assert result.exit_code == 0
    assert "Console format" not in result.output and "colour" not in result.output
    assert "Write the BOM to FILE" in result.output


@pytest.mark.parametrize("kind", ["empty", "text"])
def test_no_model_files_warns_on_stderr_and_exits_0(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "m"
    target.mkdir()
    if kind == "text":
        target = target / "notes.txt"
        target.write_text("hello\n")
    for fmt, check in (("cyclonedx", assert_valid_cyclonedx), ("spdx", assert_valid_spdx)):
        result = run("bom", str(target), "--format", fmt, "-q")
        assert result.exit_code == 0
        check(result.stdout)
        assert "model files: none found" in result.stdout
        [line] = result.stderr.splitlines()  # one line, even with --quiet
        assert line.startswith(f"modeltrust: no model files found in {target}")


def test_bom_and_audit_bom_carry_the_openness_findings(tmp_path: Path) -> None:
    """A LoRA relabelling a Llama 3 base: MT-LIN-001 in every BOM, not as a vulnerability."""
    from helpers.openness import write_repo

    model = write_repo(tmp_path / "lora", {"base_model": "unsloth/llama-3-8b-bnb-4bit",
                                           "license": "apache-2.0"}, "\n# Uploaded model\n", {
        "adapter_config.json": '{"base_model_name_or_path": "unsloth/llama-3-8b-bnb-4bit"}',
        "adapter_model.safetensors": WEIGHTS})
    cdx, spdx = tmp_path / "b.cdx.json", tmp_path / "b.spdx.json"
    acdx, aspdx = tmp_path / "a.cdx.json", tmp_path / "a.spdx.json"
    assert run("bom", str(model), "-o", str(cdx), "-q").exit_code == 0
    assert run("bom", str(model), "-o", str(spdx), "-q").exit_code == 0
    run("audit", str(model), "--bom", str(acdx))
    run("audit", str(model), "--bom", str(aspdx))
    for path in (cdx, acdx):
        assert_valid_cyclonedx(path.read_text())
        doc = json.loads(path.read_text())
        assert doc["metadata"]["component"]["name"] == "lora"  # not "Uploaded model"
        texts = [a["text"] for a in doc["annotations"]]
        assert any(t.startswith("openness: MT-LIN-001 high:") for t in texts), path
        assert not any(v["id"].startswith("MT-LIN") for v in doc.get("vulnerabilities", []))
        [anc] = doc["metadata"]["component"]["pedigree"]["ancestors"]
        relation = {p["name"]: p["value"] for p in anc["properties"]}
        assert relation["modeltrust:relation-source"] == "inferred from adapter_config.json"
    for path in (spdx, aspdx):
        assert_valid_spdx(path.read_text())
        text = path.read_text()
        assert '"statement": "openness: MT-LIN-001 high:' in text
        assert "relation: adapter (inferred from adapter_config.json)" in text
        assert "(declared in card)" not in text
