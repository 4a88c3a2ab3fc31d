"""One answer per question: a file's licence (OSAID and MOF), a family id and its members'
texts, and the use restrictions a catalogued licence states (by card id or by text)."""

from __future__ import annotations

from pathlib import Path

import pytest

import modeltrust
from helpers.openness import CARD_LICENCE, EXCERPTS, EXPECTED_ID, WEIGHTS, write_gguf, write_repo
from modeltrust._assess.catalogue import RESTRICTIONS, catalogue


def _ids(report: object) -> set[str]:
    return {f.rule_id for f in report.findings}  # type: ignore[attr-defined]


def _osaid(report: object, rule: str) -> tuple[str, str]:
    r = next(r for r in report.osaid.rules if r.id == rule)  # type: ignore[attr-defined]
    return r.status, r.evidence


def _component(report: object, name: str) -> object:
    return next(c for c in report.mof.components if c.name == name)  # type: ignore[attr-defined]


# --- 2. OSAID-CODE and MOF resolve a code file's licence the same way -------------------

def test_code_under_a_non_osi_folder_licence_is_not_met(tmp_path: Path) -> None:
    """Regression (fx/osaid-code-nc): OSAID-CODE was met under the card's Apache-2.0."""
    root = write_repo(tmp_path / "m", {"license": "apache-2.0"}, files={
        "LICENSE": EXCERPTS["apache-2.0"], "model.safetensors": WEIGHTS,
        "src/train.py": "print('train')\n", "src/LICENSE": EXCERPTS["cc-by-nc-4.0"],
        "inference.py": "print('infer')\n"})
    report = modeltrust.openness(root)
    status, evidence = _osaid(report, "OSAID-CODE")
    assert status == "not_met" and "src/train.py" in evidence and "CC-BY-NC-4.0" in evidence
    comp = _component(report, "Training code")
    assert (comp.licence, comp.open) == ("CC-BY-NC-4.0", False)  # type: ignore[attr-defined]


@pytest.mark.parametrize("where", ["src/LICENSE", "LICENSE"])
def test_licence_of_a_parent_folder_applies(tmp_path: Path, where: str) -> None:
    """Nearest licence text up to the root (deeper folders inherit), before the card."""
    files: dict[str, str | bytes] = {
        "model.safetensors": WEIGHTS, "src/deep/er/train_model.py": "x = 1\n",
        "inference.py": "x = 1\n", where: EXCERPTS["llama3.1"]}
    report = modeltrust.openness(write_repo(tmp_path / "m", {"license": "mit"}, files=files))
    status, evidence = _osaid(report, "OSAID-CODE")
    assert status == "not_met" and "LicenseRef-scancode-llama-3.1-license-2024" in evidence
    comp = _component(report, "Training code")
    assert comp.licence == "LicenseRef-scancode-llama-3.1-license-2024"  # type: ignore[attr-defined]


def test_code_under_osi_folder_licences_is_met(tmp_path: Path) -> None:
    """A permissive folder licence under a card licence that is not OSI-approved."""
    root = write_repo(tmp_path / "m", {"license": "cc-by-4.0"}, files={
        "model.safetensors": WEIGHTS, "code/train.py": "x = 1\n", "code/inference.py": "x = 1\n",
        "code/LICENSE": EXCERPTS["mit"]})
    report = modeltrust.openness(root)
    status, evidence = _osaid(report, "OSAID-CODE")
    assert status == "met" and "MIT" in evidence
    assert _component(report, "Training code").satisfied  # type: ignore[attr-defined]


def test_code_without_any_known_licence_is_unknown(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", None, "# M\n", files={
        "train.py": "x = 1\n", "inference.py": "x = 1\n",
        "LICENSE": "Do what you like on Mondays.\n"})
    assert _osaid(modeltrust.openness(root), "OSAID-CODE")[0] == "unknown"


# --- 4. a generic family id and a member's text agree ----------------------------------

@pytest.mark.parametrize("member", ["creativeml-openrail-m", "bigscience-openrail-m",
                                    "bigcode-openrail-m"])
def test_generic_openrail_agrees_with_member_text(tmp_path: Path, member: str) -> None:
    """Regression (x-openrail-card-creativeml-text): MT-LIC-003 for agreeing terms."""
    root = write_repo(tmp_path / "m", {"license": "openrail"},
                      files={"LICENSE": EXCERPTS[member]})
    report = modeltrust.openness(root)
    assert "MT-LIC-003" not in _ids(report)
    assert (report.licence.spdx, report.licence.source, report.licence.declared) == (
        EXPECTED_ID[member], "license_file", "openrail")


def test_generic_openrail_still_conflicts_with_other_families(tmp_path: Path) -> None:
    for i, text in enumerate(("llama3.1", "apache-2.0", "cc-by-nc-4.0")):
        root = write_repo(tmp_path / str(i), {"license": "openrail"},
                          files={"LICENSE": EXCERPTS[text]})
        assert "MT-LIC-003" in _ids(modeltrust.openness(root)), text


def test_member_ids_still_conflict_with_each_other(tmp_path: Path) -> None:
    """Only the family id is generic: BigScience card vs CreativeML text still disagree."""
    root = write_repo(tmp_path / "m", {"license": "bigscience-openrail-m"},
                      files={"LICENSE": EXCERPTS["creativeml-openrail-m"]})
    assert "MT-LIC-003" in _ids(modeltrust.openness(root))


def test_generic_card_two_member_texts_disagree(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "openrail"}, files={
        "LICENSE": EXCERPTS["creativeml-openrail-m"],
        "LICENSE.bigcode": EXCERPTS["bigcode-openrail-m"]})
    report = modeltrust.openness(root)
    assert "MT-LIC-003" in _ids(report)


def test_generic_card_and_member_gguf_agree(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": "openrail"})
    write_gguf(root / "m.gguf", {"general.license": "creativeml-openrail-m"})
    assert "MT-LIC-003" not in _ids(modeltrust.openness(root))


# --- 8. use restrictions follow from catalogue terms, by id or by text -----------------

def test_catalogue_states_every_restriction_its_terms_imply() -> None:
    for lic in catalogue().licences:
        if lic.terms in RESTRICTIONS:
            assert lic.terms in lic.restrictions, lic.key
        assert set(lic.restrictions) <= set(RESTRICTIONS), lic.key
    research = catalogue().by_hf_id("qwen-research")
    assert research is not None
    assert research.restrictions == ("non-commercial", "research-only")
    nc = catalogue().by_id("CC-BY-NC-4.0")
    assert nc is not None and nc.restrictions == ("non-commercial",)


TITLES = {"qwen-research": "Qwen RESEARCH LICENSE AGREEMENT\n",
          "cc-by-nc-4.0": "Creative Commons Attribution-NonCommercial 4.0 International Public "
                          "License\n"}


@pytest.mark.parametrize("how", ["card", "text"])
@pytest.mark.parametrize(("key", "want"), [
    ("qwen-research", {"MT-LIC-010", "MT-LIC-011"}),
    ("cc-by-nc-4.0", {"MT-LIC-010"}),
])
def test_restrictions_by_card_id_or_by_text(tmp_path: Path, how: str, key: str,
                                            want: set[str]) -> None:
    """Regression (lic-card-qwen-research): research-only without non-commercial."""
    if how == "card":
        root = write_repo(tmp_path / "m", CARD_LICENCE[key])
    else:  # only the title: the catalogue's terms must speak where no clause sentence does
        root = write_repo(tmp_path / "m", None, "# M\n", files={"LICENSE": TITLES[key]})
    report = modeltrust.openness(root)
    assert report.licence.spdx == EXPECTED_ID[key]
    assert want <= _ids(report)
    if how == "text" and key == "qwen-research":
        assert not report.licence.clauses
        assert "forbids commercial use" in next(
            f.evidence for f in report.findings if f.rule_id == "MT-LIC-010")
    assert not ({"MT-LIC-010", "MT-LIC-011"} - want) & _ids(report)


@pytest.mark.parametrize("key", ["h-research", "intel-research"])
def test_research_only_without_stated_non_commercial(tmp_path: Path, key: str) -> None:
    """Research-only licences whose entry does not state non-commercial: only MT-LIC-011."""
    report = modeltrust.openness(write_repo(tmp_path / "m", {"license": key}))
    assert "MT-LIC-011" in _ids(report) and "MT-LIC-010" not in _ids(report)


def test_restrictions_of_an_expression_and_of_a_disagreeing_text(tmp_path: Path) -> None:
    report = modeltrust.openness(write_repo(tmp_path / "a", {"license": ["mit", "cc-by-nc-4.0"]}))
    assert report.licence.terms == "non-commercial" and "MT-LIC-010" in _ids(report)
    root = write_repo(tmp_path / "b", {"license": "mit"}, "# M\n",
                      files={"LICENSE": "Qwen RESEARCH LICENSE AGREEMENT\n"})
    report = modeltrust.openness(root)
    assert {"MT-LIC-003", "MT-LIC-010", "MT-LIC-011"} <= _ids(report)


def test_clause_evidence_does_not_depend_on_string_hashing(tmp_path: Path) -> None:
    """Regression: two clauses of one kind on one line tied; set order picked the quote."""
    import subprocess
    import sys

    line = ('If you distribute the Llama Materials, you shall display "Built with Llama". '
            'If you use the Llama Materials to improve an AI model, you shall also include '
            '"Llama" at the beginning of any such AI model name.')
    root = write_repo(tmp_path / "m", {"license": "llama3.1"}, "# M\n",
                      files={"LICENSE": "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\n\n" + line + "\n"})
    code = ("import sys, modeltrust; r = modeltrust.openness(sys.argv[1]); "
            "print([f.evidence for f in r.findings if f.rule_id == 'MT-LIC-015'])")
    outs = {subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True,
                           text=True, check=True, env={"PYTHONHASHSEED": str(seed)}).stdout
            for seed in range(6)}
    assert len(outs) == 1, outs


def test_unidentified_folder_licence_makes_its_code_unknown(tmp_path: Path) -> None:
    """A sub-folder with its own licence text says other terms apply: not the card's."""
    root = write_repo(tmp_path / "m", {"license": "apache-2.0"}, files={
        "LICENSE": EXCERPTS["apache-2.0"], "model.safetensors": WEIGHTS,
        "inference.py": "x = 1\n", "tools/train.py": "x = 1\n",
        "tools/LICENSE": "ACME TOOLS LICENCE\nUse on Tuesdays only.\n",
        "tools/NOTICE": "Portions by ACME.\n"})
    report = modeltrust.openness(root)
    status, evidence = _osaid(report, "OSAID-CODE")
    assert status == "unknown" and "tools/LICENSE is not identified" in evidence
    comp = _component(report, "Training code")
    assert comp.licence is None and not comp.satisfied  # type: ignore[attr-defined]
    # An identified text beside it wins over the unidentified one.
    (root / "tools" / "LICENSE.txt").write_text(EXCERPTS["mit"])
    assert _osaid(modeltrust.openness(root), "OSAID-CODE")[0] == "met"
