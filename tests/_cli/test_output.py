"""Writing reports: atomic for files, and never destroying what ``-o`` points at."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from modeltrust._cli.output import OutputError, atomic_write


def test_regular_file_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    out.write_text("old and longer")
    atomic_write(str(out), "new")
    assert out.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


def test_symlink_is_followed_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write(str(link), "new")
    assert link.is_symlink() and real.read_text() == "new"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    atomic_write(str(fifo), "report")
    reader.join(timeout=10)
    assert got == ["report"] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_dev_null_survives() -> None:
    atomic_write(os.devnull, "report")
    assert stat.S_ISCHR(Path(os.devnull).stat().st_mode)


def test_unwritable_target_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError):
        atomic_write(str(tmp_path / "missing" / "r.json"), "x")
    with pytest.raises(OutputError):
        atomic_write(str(tmp_path), "x")  # a folder
