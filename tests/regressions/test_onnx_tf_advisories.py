"""One regression per ONNX external-data advisory in THREATS.md, through the public API.

Each sample is built with the onnx writer and only *names* the file it would read or
write; the scan never opens that file, and a marker file placed where a loader would write
must stay untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import modeltrust
from modeltrust import Severity

onnx_models = pytest.importorskip("helpers.onnx_models")


def _scan(folder: Path, data: bytes) -> list[tuple[str, Severity]]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(data)
    report = modeltrust.scan(folder)
    return sorted((f.rule_id, f.severity) for f in report.findings)


def test_cve_2022_25882_relative_traversal(tmp_path: Path) -> None:
    """onnx.load joined ``../`` locations onto the model folder and read the target."""
    found = _scan(tmp_path / "m", onnx_models.with_external("../../../etc/passwd"))
    assert found == [("MT-ONX-002", Severity.HIGH)]


def test_cve_2024_27318_fix_bypass(tmp_path: Path) -> None:
    """The 2022 fix rejected leading ``..`` only: absolute paths and inner ``..`` passed."""
    assert _scan(tmp_path / "a", onnx_models.with_external("/etc/passwd")) == [
        ("MT-ONX-001", Severity.HIGH)]
    assert _scan(tmp_path / "b" / "m", onnx_models.with_external("sub/../../secret")) == [
        ("MT-ONX-002", Severity.HIGH)]


def test_cve_2025_51480_save_external_data_write(tmp_path: Path) -> None:
    """save_external_data wrote to base/location: a traversal overwrites a file outside."""
    marker = tmp_path / "victim.txt"
    marker.write_text("untouched")
    found = _scan(tmp_path / "m", onnx_models.with_external("x/../../victim.txt",
                                                            offset="0", length="4"))
    assert found == [("MT-ONX-002", Severity.HIGH)]
    assert marker.read_text() == "untouched"


def test_cve_2026_34447_symlink_to_outside(tmp_path: Path) -> None:
    """onnx.load before 1.21.0 followed a symlinked external data file out of the folder."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_bytes(b"\x00" * 4)
    folder = tmp_path / "m"
    folder.mkdir()
    os.symlink(tmp_path / "outside", folder / "data")
    found = _scan(folder, onnx_models.with_external("data/secret"))
    assert ("MT-ONX-003", Severity.HIGH) in found
