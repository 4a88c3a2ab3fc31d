"""``modeltrust sign``, ``verify`` and ``digest``: outputs and exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from _integrity.pki import write_key, write_model, write_pki
from modeltrust._cli.main import cli


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_model(tmp_path / "model")


def test_sign_verify_digest_round_trip(tmp_path: Path, model: Path) -> None:
    kp = write_key(tmp_path / "k")
    signed = run("sign", model, "--key", kp.private)
    assert signed.exit_code == 0, signed.output
    assert signed.stdout.startswith(f"signed {model}: sha256:")
    assert (model / "model.sig").is_file() and (model / "model.sig.tensors.json").is_file()
    root = signed.stdout.split("sha256:")[1].split()[0]
    digest = run("digest", model)
    assert digest.exit_code == 0 and digest.stdout.strip() == f"sha256:{root}"
    ok = run("verify", model, "--signature", model / "model.sig", "--key", kp.public)
    assert ok.exit_code == 0 and ok.stdout.startswith("verified: ")
    found = run("verify", model, "--key", kp.public)  # default signature location
    assert found.exit_code == 0


def test_verify_reports_changes_and_exits_1(tmp_path: Path, model: Path) -> None:
    import safetensors.torch

    kp = write_key(tmp_path / "k")
    run("sign", model, "--key", kp.private)
    sd = safetensors.torch.load_file(str(model / "model.safetensors"))
    sd["encoder.layer.3.weight"] += 1
    safetensors.torch.save_file(sd, str(model / "model.safetensors"))
    (model / "extra.txt").write_text("x")
    res = run("verify", model, "--key", kp.public)
    assert res.exit_code == 1
    assert "  extra (unsigned): extra.txt" in res.stdout
    assert "  changed: model.safetensors" in res.stdout
    assert ("  model.safetensors changed: 1 of 7 tensors differ (encoder.layer.3.weight)"
            in res.stdout)
    as_json = json.loads(run("verify", model, "--key", kp.public, "-f", "json").stdout)
    assert as_json["verified"] is False and as_json["changed"] == ["model.safetensors"]


@pytest.mark.parametrize("content", [b"", b"not json", b"{}", b'{"mediaType": 1}'])
def test_malformed_signature_exits_1_with_reason(tmp_path: Path, model: Path,
                                                 content: bytes) -> None:
    kp = write_key(tmp_path / "k")
    sig = tmp_path / "bad.sig"
    sig.write_bytes(content)
    res = run("verify", model, "--signature", sig, "--key", kp.public)
    assert res.exit_code == 1
    assert res.stdout.splitlines()[1].startswith("  reason: reading the signature bundle failed")


def test_wrong_key_exits_1(tmp_path: Path, model: Path) -> None:
    kp, other = write_key(tmp_path / "k"), write_key(tmp_path / "o")
    run("sign", model, "--key", kp.private)
    res = run("verify", model, "--key", other.public)
    assert res.exit_code == 1 and "not by the given key" in res.stdout


def test_certificate_method_on_the_command_line(tmp_path: Path, model: Path) -> None:
    pki = write_pki(tmp_path / "pki")
    signed = run("sign", model, "--key", pki.leaf_key, "--cert", pki.leaf_cert,
                 "--chain", pki.chain, "--hash", "blake3", "--serialization", "shards",
                 "--shard-size", "1K")
    assert signed.exit_code == 0, signed.output
    ok = run("verify", model, "--cert-chain", pki.root)
    assert ok.exit_code == 0 and "signer@example.com" in ok.stdout
    bad = run("verify", model, "--cert-chain", pki.other_root)
    assert bad.exit_code == 1 and "does not validate" in bad.stdout


def test_usage_errors_exit_2(tmp_path: Path, model: Path) -> None:
    kp = write_key(tmp_path / "k")
    assert run("sign", model).exit_code == 2  # neither --key nor --sigstore
    assert run("sign", model, "--key", kp.private, "--chain", kp.public).exit_code == 2
    assert run("sign", model, "--key", kp.private, "--ignore", "../x").exit_code == 2
    run("sign", model, "--key", kp.private)
    assert run("verify", model).exit_code == 2  # no trust given
    assert run("verify", model, "--identity", "a@b").exit_code == 2
    (model / "link").symlink_to(model / "config.json")
    assert run("sign", model, "--key", kp.private).exit_code == 2


def test_ignore_and_signature_outside(tmp_path: Path, model: Path) -> None:
    kp = write_key(tmp_path / "k")
    sig = tmp_path / "release.sig"
    assert run("sign", model, "--key", kp.private, "--signature", sig,
               "--ignore", "README.md", "--no-tensors").exit_code == 0
    assert not (tmp_path / "release.sig.tensors.json").exists()
    (model / "README.md").write_text("edited after signing: ignored")
    assert run("verify", model, "--signature", sig, "--key", kp.public).exit_code == 0


def test_help_lists_the_commands() -> None:
    out = run("--help").stdout
    for name in ("sign", "verify", "digest"):
        assert f"  {name}" in out
