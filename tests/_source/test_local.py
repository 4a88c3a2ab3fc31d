"""Local targets: folders, Hugging Face cache snapshots, symlinks, exclusions, limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import modeltrust
from modeltrust import SourceError


def _hf_cache(root: Path) -> Path:
    """A Hugging Face cache layout: snapshots/<rev>/ files are links into blobs/."""
    repo = root / "hub" / "models--org--tiny"
    blobs = repo / "blobs"
    snap = repo / "snapshots" / "0123abcd"
    blobs.mkdir(parents=True)
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    (blobs / "aaaa").write_text('{"model_type": "bert"}')
    (blobs / "bbbb").write_bytes(b"\x80\x04K\x01.")
    os.symlink("../../blobs/aaaa", snap / "config.json")
    os.symlink("../../blobs/bbbb", snap / "model.pkl")
    return snap


def test_hf_cache_snapshot_follows_links_inside_the_cache(tmp_path: Path) -> None:
    snap = _hf_cache(tmp_path)
    report = modeltrust.scan(snap)
    names = sorted(e.path.rsplit("/", 1)[-1] for e in report.files)
    assert names == ["config.json", "model.pkl"]
    assert not report.findings


def test_hf_cache_repo_folder_does_not_scan_blobs_twice(tmp_path: Path) -> None:
    snap = _hf_cache(tmp_path)
    report = modeltrust.scan(snap.parents[1])
    assert sorted(e.path.rsplit("/", 1)[-1] for e in report.files) == [
        "config.json", "main", "model.pkl"]


def test_symlink_leaving_the_folder_is_reported_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("token")
    model = tmp_path / "model"
    model.mkdir()
    os.symlink(outside, model / "config.json")
    report = modeltrust.scan(model)
    assert [f.rule_id for f in report.findings] == ["MT-SRC-001"]
    assert report.findings[0].severity.value == "high"
    assert report.findings[0].location.detail == f"symbolic link to {outside}"
    assert report.files[0].coverage.value == "not_analysed"


def test_link_into_a_hub_cache_blob_is_medium(tmp_path: Path) -> None:
    """Old ``--local-dir`` downloads linked their large files into the hub cache."""
    blobs = tmp_path / "hub" / "models--org--name" / "blobs"
    blobs.mkdir(parents=True)
    blob = blobs / ("ab" * 32)
    blob.write_bytes(b"\x80\x04K\x01.")
    model = tmp_path / "local"
    model.mkdir()
    os.symlink(blob, model / "model.pkl")
    [f] = modeltrust.scan(model).findings
    assert (f.rule_id, f.severity.value) == ("MT-SRC-001", "medium")
    assert "Hugging Face cache blob" in f.evidence


def test_symlink_inside_the_folder_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.pkl").write_bytes(b"\x80\x04K\x01.")
    os.symlink("real.pkl", tmp_path / "alias.pkl")
    report = modeltrust.scan(tmp_path)
    assert len(report.files) == 2 and not report.findings


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    os.symlink("..", tmp_path / "a" / "up")
    (tmp_path / "a" / "x.pkl").write_bytes(b"\x80\x04K\x01.")
    report = modeltrust.scan(tmp_path)
    assert [e.path.rsplit("/", 1)[-1] for e in report.files] == ["x.pkl"]


def test_exclude_and_max_file_size(tmp_path: Path) -> None:
    (tmp_path / "keep.pkl").write_bytes(b"\x80\x04K\x01.")
    (tmp_path / "skip.bin").write_bytes(b"x" * 100)
    (tmp_path / "big.pkl").write_bytes(b"\x80\x04" + b"N0" * 600 + b"N.")
    report = modeltrust.scan(tmp_path, exclude=["*.bin"], max_file_size=1000)
    by_name = {e.path.rsplit("/", 1)[-1]: e for e in report.files}
    assert set(by_name) == {"keep.pkl", "big.pkl"}
    assert by_name["big.pkl"].coverage.value == "not_analysed"
    assert [f.rule_id for f in report.findings] == ["MT-SRC-003"]


def test_missing_target_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as err:
        modeltrust.scan(tmp_path / "nope")
    assert "nope" in err.value.diagnostics()


def test_unreadable_folder_is_a_source_error(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Tests run as root in CI, where chmod cannot lock a folder: simulate the denial.
    from modeltrust._source import local

    monkeypatch.setattr(local.os, "access", lambda *_a, **_k: False)
    with pytest.raises(SourceError) as err:
        modeltrust.scan(tmp_path)
    assert "not readable" in err.value.diagnostics()


def test_unreadable_subfolder_is_a_finding(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from modeltrust._source import local

    (tmp_path / "sub").mkdir()
    real = os.listdir

    def deny(path):  # type: ignore[no-untyped-def]
        if str(path).endswith("sub"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(local.os, "listdir", deny)
    report = modeltrust.scan(tmp_path)
    assert [f.rule_id for f in report.findings] == ["MT-SRC-002"]


def test_special_files_are_listed(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    report = modeltrust.scan(tmp_path)
    assert report.files[0].coverage.value == "not_analysed"


def test_parallel_scan_gives_the_same_report(tmp_path: Path) -> None:
    for i in range(6):
        (tmp_path / f"m{i}.pkl").write_bytes(b"cos\nsystem\n(S'true'\ntR." if i % 2 else
                                             b"\x80\x04K\x01.")
    one = modeltrust.scan(tmp_path, jobs=1)
    two = modeltrust.scan(tmp_path, jobs=2)
    assert one == two


@pytest.mark.parametrize(("size", "mapped"), [(0, False), (100, False), (1 << 20, False),
                                              ((1 << 20) + 1, True)])
def test_small_files_are_read_large_ones_mapped(tmp_path: Path, size: int, mapped: bool) -> None:
    import mmap

    from modeltrust._source.interface import Artifact

    path = tmp_path / "f.bin"
    path.write_bytes(b"\x07" * size)
    with Artifact.from_file("f.bin", path, size).open() as data:
        assert isinstance(data, mmap.mmap) is mapped
        assert len(data) == size and bytes(data[:1]) == (b"\x07" if size else b"")
