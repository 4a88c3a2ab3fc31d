"""Loader advisories by pinned version (CVE-2025-32434, CVE-2026-24747 for torch)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet

from modeltrust import scan
from modeltrust._scanners.pins import MAX_FILE, advisories, pins_affected, scan_pins
from modeltrust.findings import Finding, Severity


def dep_findings(folder: Path) -> list[Finding]:
    return [f for f in scan(folder).findings if f.rule_id == "MT-DEP-001"]


def cves(found: list[Finding]) -> list[tuple[str, int | None, str]]:
    out = []
    for f in found:
        cve = "CVE-2025-32434" if "CVE-2025-32434" in f.evidence else "CVE-2026-24747"
        out.append((f.path.rsplit("/", 1)[-1], f.location.line, cve))
    return sorted(out)


@pytest.mark.parametrize(("spec", "before_2_6", "before_2_10"), [
    ("==2.4.0", True, True),
    ("==2.4.0+cu121", True, True),
    ("==2.6.0", False, True),
    ("==2.10.0", False, False),
    ("==2.10.0rc1", False, True),
    ("<2.6", True, True),
    ("<2.6.0", True, True),
    ("<=2.6.0", False, True),
    ("<=2.5.1", True, True),
    ("<2.7", False, True),
    ("~=2.5.0", True, True),
    ("~=2.5", False, False),
    ("==2.5.*", True, True),
    ("==2.*", False, False),
    (">=2.0", False, False),
    (">=1.13,<2.6", True, True),
    ("!=2.6.0", False, False),
    ("===2.3.1", True, True),
])
def test_pin_covers_only_affected_releases(spec: str, before_2_6: bool,
                                           before_2_10: bool) -> None:
    assert pins_affected(SpecifierSet(spec), SpecifierSet("<2.6.0")) is before_2_6
    assert pins_affected(SpecifierSet(spec), SpecifierSet("<2.10.0")) is before_2_10


def test_inclusive_affected_bound() -> None:
    assert pins_affected(SpecifierSet("<2.5.2"), SpecifierSet("<=2.5.1"))
    assert not pins_affected(SpecifierSet("<2.5.3"), SpecifierSet("<=2.5.1"))
    assert pins_affected(SpecifierSet("==2.5.1"), SpecifierSet("<=2.5.1"))


def test_advisory_data_is_well_formed() -> None:
    ids = [a.id for a in advisories()]
    assert ids == sorted(set(ids)) and {"CVE-2025-32434", "CVE-2026-24747"} <= set(ids)
    for adv in advisories():
        assert adv.package == "torch" and adv.fixed and adv.summary
        assert adv.fixed not in adv.affected  # the fixed release is outside the range


def test_requirements_pins_reported_with_line_and_fix(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# torch==1.0 in a comment is not a pin\n"
        "numpy>=1.20\n"
        "torch==2.4.0 \\\n    --hash=sha256:00\n"
        "Torch_Vision==0.19.0\n"
        "-r other.txt\n"
        "--index-url https://download.pytorch.org/whl/cpu\n"
        "torch >= 2.0  # a lower bound lets the resolver pick a fixed release\n"
        "not a requirement ((\n")
    found = dep_findings(tmp_path)
    assert cves(found) == [("requirements.txt", 3, "CVE-2025-32434"),
                           ("requirements.txt", 3, "CVE-2026-24747")]
    f = found[0]
    assert f.severity is Severity.MEDIUM
    assert "'torch==2.4.0'" in f.evidence and "fixed in 2.6.0" in f.evidence


def test_pyproject_conda_and_nested_requirements(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\ndependencies = ["numpy", "torch[cuda]<2.6"]\n'
        '# dependencies = ["torch==1.0"]\n')
    (tmp_path / "environment.yml").write_text(
        "dependencies:\n  - python=3.11\n  - pytorch=2.8.0\n  - pip:\n    - torch~=2.11.0\n")
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "dev-requirements.txt").write_text("torch<=2.9.1\n")
    assert cves(dep_findings(tmp_path)) == [
        ("dev-requirements.txt", 1, "CVE-2026-24747"),
        ("environment.yml", 3, "CVE-2026-24747"),
        ("pyproject.toml", 3, "CVE-2025-32434"),
        ("pyproject.toml", 3, "CVE-2026-24747"),
    ]


def test_unpinned_or_fixed_repository_is_quiet(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("torch>=2.10\ntransformers==4.40.0\n")
    (tmp_path / "notes.txt").write_text("torch==2.4.0\n")  # not an environment file
    assert dep_findings(tmp_path) == []


def test_hostile_files_are_skipped_not_crashed(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_bytes(b"torch==2.4.0\n" + b"x" * MAX_FILE)
    (tmp_path / "requirements-gpu.txt").write_bytes(b"torch==2.4.0\0\xff\xfe")
    (tmp_path / "requirements-dev.txt").mkdir()
    assert dep_findings(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_link_to_outside_file_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("torch==2.4.0\n")
    model = tmp_path / "model"
    model.mkdir()
    os.symlink(outside, model / "requirements.txt")
    assert dep_findings(model) == []


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gives_findings_or_nothing(text: str) -> None:
    import tempfile

    from modeltrust._report.model import Coverage, FileEntry

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "requirements.txt").write_text(text, "utf-8", errors="replace")
        entry = FileEntry("requirements.txt", len(text), "text", Coverage.NOT_ANALYSED)
        for f in scan_pins(Path(tmp), ".", [entry]):
            assert f.rule_id == "MT-DEP-001" and f.location.line is not None
