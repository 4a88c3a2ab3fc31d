"""``modeltrust compare`` / ``modeltrust inspect``: exit codes, formats, JSON schema."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from modeltrust._cli.main import cli

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "compare-schema.json"
HIDDEN = 32


def _model(folder: Path, edit: str = "") -> Path:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    sd = {"model.embed_tokens.weight": rng.standard_normal((64, HIDDEN)).astype(np.float32)}
    for i in range(4):
        sd[f"model.layers.{i}.self_attn.o_proj.weight"] = rng.standard_normal(
            (HIDDEN, HIDDEN)).astype(np.float32)
        sd[f"model.layers.{i}.mlp.down_proj.weight"] = rng.standard_normal(
            (HIDDEN, 2 * HIDDEN)).astype(np.float32)
        sd[f"model.layers.{i}.input_layernorm.weight"] = np.ones(HIDDEN, dtype=np.float32)
    if edit == "abliterate":
        r = np.random.default_rng(1).standard_normal(HIDDEN)
        r /= np.linalg.norm(r)
        for name, w in list(sd.items()):
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                sd[name] = (w - np.outer(r, r @ w)).astype(np.float32)
            elif "embed" in name:
                sd[name] = (w - np.outer(w @ r, r)).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(sd, str(folder / "model.safetensors"))
    return folder


def test_identical_exit_0_and_json_valid(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    base = _model(tmp_path / "base")
    result = CliRunner().invoke(cli, ["compare", str(base), str(base), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    assert [v["kind"] for v in doc["verdicts"]] == ["identical"]


def test_abliteration_exit_1_console_and_output_file(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    base, derived = _model(tmp_path / "base"), _model(tmp_path / "abl", "abliterate")
    result = CliRunner().invoke(cli, ["compare", str(base), str(derived)])
    assert result.exit_code == 1
    assert "abliteration" in result.output and "MT-FOR-001" in result.output
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["compare", str(base), str(derived), "-f", "json",
                                      "-o", str(out), "--fail-on", "critical"])
    assert result.exit_code == 0
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    (verdict,) = doc["verdicts"]
    assert verdict["kind"] == "abliteration"
    assert verdict["evidence"]["layers"] == [0, 1, 2, 3]
    changed = [t for t in doc["tensors"] if t["status"] == "changed"]
    assert len(changed) == 9 and all(t["spectrum"]["rank"] == 1 for t in changed)


def test_json_is_deterministic(tmp_path: Path) -> None:
    base, derived = _model(tmp_path / "base"), _model(tmp_path / "abl", "abliterate")
    runs = [CliRunner().invoke(cli, ["compare", str(base), str(derived), "-f", "json"]).output
            for _ in range(2)]
    assert runs[0] == runs[1]


def test_inspect_exit_codes(tmp_path: Path) -> None:
    base, derived = _model(tmp_path / "base"), _model(tmp_path / "abl", "abliterate")
    clean = CliRunner().invoke(cli, ["inspect", str(base)])
    assert clean.exit_code == 0 and "absent" in clean.output
    bad = CliRunner().invoke(cli, ["inspect", str(derived), "-f", "json"])
    assert bad.exit_code == 1
    doc = json.loads(bad.output)
    assert doc["abliteration_signature"]["present"] is True
    assert [f["rule_id"] for f in doc["findings"]] == ["MT-FOR-010"]


def test_missing_target_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["compare", str(tmp_path / "nope"), str(tmp_path)])
    assert result.exit_code == 2
    assert "modeltrust: error:" in result.output


def test_folder_without_weights_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["inspect", str(tmp_path)])
    assert result.exit_code == 2


def test_public_api(tmp_path: Path) -> None:
    import modeltrust

    base = _model(tmp_path / "base")
    assert modeltrust.compare(base, base).kinds == ["identical"]
    assert not modeltrust.inspect(base).abliterated
