"""Hugging Face cache integrity on a cache layout built in tmp with real content addresses."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from modeltrust._integrity.hf_cache import check_hf_cache

REV = "0123456789abcdef0123456789abcdef01234567"


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def build_cache(root: Path) -> Path:
    """``models--org--tiny`` with one LFS file, one small file and one nested small file."""
    repo = root / "models--org--tiny"
    blobs, snap = repo / "blobs", repo / "snapshots" / REV
    (snap / "sub").mkdir(parents=True)
    blobs.mkdir()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REV)
    files = {"model.safetensors": (os.urandom(4096), "lfs"),
             "config.json": (b'{"a": 1}\n', "git"),
             "sub/tokenizer.json": (b'{"v": []}\n', "git")}
    for rel, (data, kind) in files.items():
        name = hashlib.sha256(data).hexdigest() if kind == "lfs" else git_sha1(data)
        (blobs / name).write_bytes(data)
        link = snap / rel
        link.symlink_to(os.path.relpath(blobs / name, link.parent))
    return repo


def rules(found: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(f.rule_id, f.path) for f in found]


@pytest.mark.parametrize("level", ["root", "repo", "snapshot"])
def test_clean_cache_has_no_findings(tmp_path: Path, level: str) -> None:
    repo = build_cache(tmp_path)
    target = {"root": tmp_path, "repo": repo, "snapshot": repo / "snapshots" / REV}[level]
    assert check_hf_cache(target) == []


def test_tampered_lfs_blob_is_high(tmp_path: Path) -> None:
    repo = build_cache(tmp_path)
    blob = (repo / "snapshots" / REV / "model.safetensors").resolve()
    with blob.open("r+b") as f:
        f.write(b"X")
    found = check_hf_cache(repo / "snapshots" / REV)
    assert rules(found) == [("MT-HFC-001", "model.safetensors")]
    assert found[0].severity.value == "high"
    assert found[0].evidence.endswith(f"its name says {blob.name}")


def test_tampered_small_file_is_high(tmp_path: Path) -> None:
    repo = build_cache(tmp_path)
    (repo / "snapshots" / REV / "sub" / "tokenizer.json").resolve().write_bytes(b"{}")
    found = check_hf_cache(repo)
    assert rules(found) == [("MT-HFC-002", f"snapshots/{REV}/sub/tokenizer.json")]
    assert found[0].severity.value == "high"


def test_links_outside_blobs_dangling_and_plain_files(tmp_path: Path) -> None:
    repo = build_cache(tmp_path)
    snap = repo / "snapshots" / REV
    outside = tmp_path / "evil.py"
    outside.write_text("print('x')")
    (snap / "evil.py").symlink_to(outside)
    (snap / "gone.bin").symlink_to(repo / "blobs" / ("f" * 64))
    (snap / "plain.txt").write_text("copied, not linked")
    found = {f.path: f for f in check_hf_cache(snap)}
    assert found["evil.py"].rule_id == "MT-HFC-003" and found["evil.py"].severity.value == "high"
    assert "dangles" in found["gone.bin"].evidence
    assert found["plain.txt"].severity.value == "low"


def test_blob_with_a_non_hash_name(tmp_path: Path) -> None:
    repo = build_cache(tmp_path)
    (repo / "blobs" / "weird").write_bytes(b"x")
    (repo / "snapshots" / REV / "weird.bin").symlink_to("../../blobs/weird")
    assert rules(check_hf_cache(repo / "snapshots" / REV)) == [("MT-HFC-004", "weird.bin")]


def test_not_a_cache(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"x")
    assert check_hf_cache(tmp_path) == []
    assert check_hf_cache(tmp_path / "model.bin") == []
