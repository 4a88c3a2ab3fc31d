"""Licence identification: card ids, LICENSE fingerprints, clauses, disagreements."""

from __future__ import annotations

from pathlib import Path

import pytest

import modeltrust
from helpers.openness import CARD_LICENCE, EXCERPTS, EXPECTED_ID, write_repo
from modeltrust._assess.catalogue import catalogue, spdx_expression
from modeltrust._assess.clauses import find_clauses
from modeltrust._assess.licence import identify, resolve

FAMILIES = sorted(EXPECTED_ID)

CLAUSES: dict[str, set[str]] = {
    "apache-2.0": set(),
    "mit": set(),
    "bsd-2-clause": set(),
    "bsd-3-clause": set(),
    "cc-by-4.0": set(),
    "cc-by-nc-4.0": {"non_commercial"},
    "bigscience-openrail-m": {"field_of_use", "remote_restriction"},
    "creativeml-openrail-m": {"field_of_use", "remote_restriction"},
    "bigcode-openrail-m": {"field_of_use"},
    "llama2": {"user_threshold", "output_ban", "termination_deletion"},
    "llama3": {"naming", "user_threshold"},
    "llama3.1": {"naming", "user_threshold", "field_of_use", "termination_deletion"},
    "gemma": {"field_of_use", "remote_restriction"},
    "tongyi-qianwen": {"user_threshold", "output_ban"},
    "qwen": {"user_threshold", "naming"},
    "qwen-research": {"non_commercial", "research_only"},
    "deepseek": {"field_of_use"},
    "stability-ai-community": {"user_threshold"},
    "openmdw-1.0": set(),
    "yi": {"field_of_use"},
    "llama3.2": {"naming"},
    "llama3.3": {"naming"},
    "llama4": {"naming"},
}


@pytest.mark.parametrize("key", FAMILIES)
def test_licence_text_is_identified_by_fingerprint(key: str) -> None:
    lic = identify(EXCERPTS[key])
    assert lic is not None
    assert lic.id == EXPECTED_ID[key]


@pytest.mark.parametrize("key", FAMILIES)
def test_card_id_maps_to_spdx_or_licenseref(key: str) -> None:
    meta = CARD_LICENCE[key]
    res = resolve(meta["license"], meta.get("license_name", ""), meta.get("license_link", ""))
    assert res is not None and res.known
    assert res.spdx == EXPECTED_ID[key]


@pytest.mark.parametrize("key", sorted(CLAUSES))
def test_clause_kinds_per_family(key: str) -> None:
    kinds = {c.kind for c in find_clauses(EXCERPTS[key], "LICENSE")}
    assert kinds == CLAUSES[key]


@pytest.mark.parametrize("key", FAMILIES)
def test_fixture_repo_per_family(tmp_path: Path, key: str) -> None:
    root = write_repo(tmp_path / key, dict(CARD_LICENCE[key]),
                      files={"LICENSE": EXCERPTS[key], "model.safetensors": b"x"})
    report = modeltrust.openness(root)
    assert report.licence.spdx == EXPECTED_ID[key]
    assert report.licence.status == "identified"
    assert [f.spdx for f in report.licence.files] == [EXPECTED_ID[key]]
    assert not [f for f in report.findings if f.rule_id == "MT-LIC-003"]
    assert {c.kind for c in report.licence.clauses} == CLAUSES[key]
    open_source = key in ("apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause")
    assert report.licence.osi_approved is open_source


def test_catalogue_ids_are_valid() -> None:
    for lic in catalogue().licences:
        if lic.id.startswith("LicenseRef-modeltrust-"):
            continue
        assert spdx_expression(lic.id) == lic.id, lic.id


def test_quote_is_the_sentence() -> None:
    clauses = find_clauses(EXCERPTS["llama2"], "LICENSE")
    ban = [c for c in clauses if c.kind == "output_ban"][0]
    assert ban.quote.startswith("You will not use the Llama Materials")
    assert ban.quote.endswith("(excluding Llama 2 or derivative works thereof).")
    assert ban.line == 9


def test_hf_ids_without_text(tmp_path: Path) -> None:
    assert resolve("apache-2.0").spdx == "Apache-2.0"  # type: ignore[union-attr]
    assert resolve("cc-by-nc-sa-4.0").spdx == "CC-BY-NC-SA-4.0"  # type: ignore[union-attr]
    assert resolve("gpl-3.0").spdx == "GPL-3.0-only"  # type: ignore[union-attr]
    assert resolve("odbl").spdx == "ODbL-1.0"  # type: ignore[union-attr]
    assert resolve("unknown") is None
    assert resolve("other") is None


def test_card_and_licence_file_disagree(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "apache-2.0"},
                      files={"LICENSE": EXCERPTS["llama3.1"]})
    report = modeltrust.openness(root)
    hits = [f for f in report.findings if f.rule_id == "MT-LIC-003"]
    assert len(hits) == 1
    assert "Apache-2.0" in hits[0].evidence and "llama-3.1" in hits[0].evidence
    assert hits[0].severity.value == "high"
    assert report.failed


def test_unknown_licence_id(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "my-own-licence"})
    report = modeltrust.openness(root)
    assert report.licence.status == "unknown"
    assert report.licence.spdx == "LicenseRef-my-own-licence"
    assert "MT-LIC-002" in {f.rule_id for f in report.findings}
    assert report.osaid.verdict == "not_met"


def test_other_without_name_falls_back_to_licence_file(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "other"},
                      files={"LICENSE": EXCERPTS["qwen"]})
    report = modeltrust.openness(root)
    assert report.licence.spdx == "LicenseRef-modeltrust-qwen"
    assert report.licence.source == "license_file"


def test_no_licence(tmp_path: Path) -> None:
    report = modeltrust.openness(write_repo(tmp_path / "m", {"tags": ["x"]}))
    assert report.licence.spdx is None and report.licence.status == "none"
    assert "MT-LIC-001" in {f.rule_id for f in report.findings}


def test_unrecognised_licence_text(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "mit"},
                      files={"LICENSE": "You may only use this for non-commercial purposes.\n"})
    report = modeltrust.openness(root)
    rules = {f.rule_id for f in report.findings}
    assert {"MT-LIC-004", "MT-LIC-010"} <= rules
    assert report.osaid.verdict == "not_met"


def test_use_policy_is_a_policy_not_a_licence(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", dict(CARD_LICENCE["llama3.1"]),
                      files={"LICENSE": EXCERPTS["llama3.1"],
                             "USE_POLICY.md": EXCERPTS["llama-aup"]})
    report = modeltrust.openness(root)
    roles = {f.path.rsplit("/", 1)[-1]: (f.role, f.spdx) for f in report.licence.files}
    assert roles["USE_POLICY.md"] == ("policy", "LicenseRef-modeltrust-llama-aup")
    assert not [f for f in report.findings if f.rule_id == "MT-LIC-003"]


def test_gated_prompt_clauses_are_quoted(tmp_path: Path) -> None:
    meta = {"license": "llama3.1", "extra_gated_prompt": EXCERPTS["llama3.1"]}
    report = modeltrust.openness(write_repo(tmp_path / "m", meta))
    assert "user_threshold" in {c.kind for c in report.licence.clauses}
    assert report.accountability.gated


def test_gguf_licence_disagreement(tmp_path: Path) -> None:
    gguf = pytest.importorskip("gguf")
    root = tmp_path / "m"
    write_repo(root, {"license": "mit"})
    writer = gguf.GGUFWriter(str(root / "model.gguf"), "llama")
    writer.add_string("general.license", "llama3.1")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    report = modeltrust.openness(root)
    hits = [f for f in report.findings if f.rule_id == "MT-LIC-003"]
    assert hits and "general.license" in hits[0].evidence
