"""scripts/make_demo.py writes the demo folder with the standard library alone, running nothing."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_demo.py"
MARKER = Path("/tmp/modeltrust-demo-marker")
EXPECTED = {
    "config.json",
    "README.md",
    "model.safetensors",
    "pytorch_model.bin",
    "scaler.pkl",
    "training_args.bin",
    "rng_state.pth",
    "checkpoint",
    "embeddings.npy",
    "extras.zip",
    "classifier.joblib",
    "DEMO-README.txt",
}


def _marker_state() -> int | None:
    return MARKER.stat().st_mtime_ns if MARKER.exists() else None


def _run(outdir: Path) -> subprocess.CompletedProcess[str]:
    # -S -I: no site-packages, no user paths: proves the script needs only the stdlib.
    return subprocess.run(
        [sys.executable, "-S", "-I", str(SCRIPT), str(outdir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    before = _marker_state()
    outdir = tmp_path_factory.mktemp("demo") / "model"
    proc = _run(outdir)
    assert proc.returncode == 0, proc.stderr
    assert _marker_state() == before, "generating the demo must not run any payload"
    return outdir, proc.stdout


def test_writes_every_file(demo: tuple[Path, str]) -> None:
    outdir, stdout = demo
    assert {p.name for p in outdir.iterdir()} == EXPECTED
    for name in EXPECTED:
        assert (outdir / name).stat().st_size > 0
        assert name in stdout


def test_demo_readme_explains_markers(demo: tuple[Path, str]) -> None:
    text = (demo[0] / "DEMO-README.txt").read_text(encoding="utf-8")
    assert "HARMLESS" in text
    assert str(MARKER) in text


def test_output_is_deterministic(demo: tuple[Path, str], tmp_path: Path) -> None:
    again = tmp_path / "model"
    assert _run(again).returncode == 0
    for name in EXPECTED:
        assert (again / name).read_bytes() == (demo[0] / name).read_bytes(), name


def test_script_never_unpickles_or_imports_modeltrust() -> None:
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            assert node.attr not in {"load", "loads", "Unpickler"}, node.attr
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names]
            module = getattr(node, "module", None) or ""
            assert not any(n.startswith("modeltrust") for n in [*names, module])
