"""Enumeration (OMS §6.1-6.2) and parallel hashing of files and shards."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import blake3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeltrust._integrity.errors import IntegrityError, ModelPathError
from modeltrust._integrity.hashing import (
    ModelFile,
    Task,
    hash_tasks,
    is_ignored,
    list_model,
    normalise_ignore,
    plan,
)


def names(root: Path, **kw: object) -> list[str]:
    return [f.name for f in list_model(root, **kw).files]  # type: ignore[arg-type]


def test_default_ignores_are_top_level_only(tmp_path: Path) -> None:
    for rel in (".git/HEAD", ".gitignore", ".gitattributes", ".github/x.yml",
                "sub/.git/HEAD", "sub/.gitignore", "w.bin"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    assert names(tmp_path) == ["sub/.git/HEAD", "sub/.gitignore", "w.bin"]


def test_user_ignore_is_an_exact_relative_path(tmp_path: Path) -> None:
    for rel in ("cache/a", "sub/cache/b", "cachefile", "w.bin"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    assert names(tmp_path, ignore=["cache"]) == ["cachefile", "sub/cache/b", "w.bin"]
    assert is_ignored("cache/a", ["cache"]) and not is_ignored("cachefile", ["cache"])


@pytest.mark.parametrize(("entry", "expected"), [
    ("./a//b/", "a/b"), ("sub/./x", "sub/x"), ("model.sig", "model.sig")])
def test_normalise_ignore(tmp_path: Path, entry: str, expected: str) -> None:
    assert normalise_ignore(entry, tmp_path) == expected


@pytest.mark.parametrize("entry", ["../x", "a/../../b", "*.bin", "w?", "[ab]", "/etc/passwd"])
def test_normalise_ignore_refuses_escapes_and_globs(tmp_path: Path, entry: str) -> None:
    with pytest.raises(ModelPathError):
        normalise_ignore(entry, tmp_path)


def test_absolute_ignore_inside_the_model_is_made_relative(tmp_path: Path) -> None:
    assert normalise_ignore(str(tmp_path / "logs" / "x.txt"), tmp_path) == "logs/x.txt"


def test_symlink_refused_unless_allowed(tmp_path: Path) -> None:
    (tmp_path / "real.bin").write_bytes(b"abc")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.bin"
    outside.write_bytes(b"secret")
    (tmp_path / "link.bin").symlink_to(outside)
    with pytest.raises(ModelPathError, match="link.bin is a symbolic link"):
        list_model(tmp_path)
    listing = list_model(tmp_path, allow_symlinks=True)
    assert [f.name for f in listing.files] == ["link.bin", "real.bin"]
    assert any("points outside the model" in n for n in listing.notes)


def test_symlinked_directory_cycle_is_noted_not_followed(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "w.bin").write_bytes(b"w")
    (tmp_path / "d" / "loop").symlink_to(tmp_path)
    listing = list_model(tmp_path, allow_symlinks=True)
    assert [f.name for f in listing.files] == ["d/w.bin"]
    assert any("cycle" in n for n in listing.notes)


def test_special_file_refused(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"w")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ModelPathError, match="not a regular file"):
        list_model(tmp_path)


def test_non_utf8_name_refused(tmp_path: Path) -> None:
    bad = os.fsencode(str(tmp_path)) + b"/bad-\xff.bin"
    with open(bad, "wb") as f:
        f.write(b"x")
    with pytest.raises(ModelPathError, match="not valid UTF-8"):
        list_model(tmp_path)


def test_empty_model_refused(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_bytes(b"ref")
    with pytest.raises(ModelPathError, match="empty model"):
        list_model(tmp_path)
    with pytest.raises(ModelPathError, match="does not exist"):
        list_model(tmp_path / "missing")


def test_single_file_is_named_by_its_basename(tmp_path: Path) -> None:
    (tmp_path / "w.gguf").write_bytes(b"GGUF")
    listing = list_model(tmp_path / "w.gguf")
    assert listing.single_file and [f.name for f in listing.files] == ["w.gguf"]


@pytest.mark.parametrize("algo", ["sha256", "blake2b", "blake3"])
def test_digests_match_reference_implementations(tmp_path: Path, algo: str) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    (tmp_path / "w.bin").write_bytes(data)
    (tmp_path / "empty").write_bytes(b"")
    files = list_model(tmp_path).files
    got = hash_tasks(plan(files, "files", 0), algo, whole_file=True)
    ref = {"sha256": hashlib.sha256, "blake2b": hashlib.blake2b,
           "blake3": blake3.blake3}[algo]
    assert got == {"w.bin": ref(data).hexdigest(), "empty": ref(b"").hexdigest()}


def test_shards_cover_ranges_and_skip_empty_files(tmp_path: Path) -> None:
    data = os.urandom(250)
    (tmp_path / "w.bin").write_bytes(data)
    (tmp_path / "empty").write_bytes(b"")
    tasks = plan(list_model(tmp_path).files, "shards", 100)
    assert [t.name for t in tasks] == ["w.bin:0:100", "w.bin:100:200", "w.bin:200:250"]
    got = hash_tasks(tasks, "sha256")
    assert got["w.bin:100:200"] == hashlib.sha256(data[100:200]).hexdigest()


def test_parallel_equals_sequential(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f"f{i}").write_bytes(os.urandom(1000 * i + 1))
    tasks = plan(list_model(tmp_path).files, "shards", 777)
    assert hash_tasks(tasks, "sha256", workers=1) == hash_tasks(tasks, "sha256", workers=8)


def test_file_that_shrank_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"abc")
    mf = ModelFile("w.bin", tmp_path / "w.bin", 10)
    with pytest.raises(IntegrityError, match="shrank"):
        hash_tasks([Task("w.bin:0:10", mf, 0, 10)], "sha256")


def test_file_swapped_for_a_symlink_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "target").write_bytes(b"secret")
    (tmp_path / "w.bin").write_bytes(b"abc")
    mf = list_model(tmp_path).files[1]
    (tmp_path / "w.bin").unlink()
    (tmp_path / "w.bin").symlink_to(tmp_path / "target")
    with pytest.raises(IntegrityError, match="cannot open w.bin"):
        hash_tasks([Task("w.bin", mf, 0, 3)], "sha256", whole_file=True)


def test_unknown_hash_type(tmp_path: Path) -> None:
    with pytest.raises(IntegrityError, match="unknown hash type"):
        hash_tasks([], "md5")


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=5000), st.integers(min_value=1, max_value=2000))
def test_shard_digests_partition_the_file(tmp_path_factory: pytest.TempPathFactory,
                                          data: bytes, size: int) -> None:
    folder = tmp_path_factory.mktemp("p")
    (folder / "w").write_bytes(data)
    tasks = plan(list_model(folder).files, "shards", size)
    assert sum(t.end - t.start for t in tasks) == len(data)
    got = hash_tasks(tasks, "blake2b")
    for t in tasks:
        assert got[t.name] == hashlib.blake2b(data[t.start:t.end]).hexdigest()
