"""Interoperability with model_signing 1.1.1 (the OMS reference implementation), both ways.

model_signing is driven through its public Python API. Known model_signing 1.1.1 defects
are pinned here so that a fix upstream shows up as a failing test to update:
it writes shard resources as ``sha256-sharded-N`` and ``shard_size`` as a float, so it can
neither verify spec-conformant shard bundles nor its own shard bundles.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _integrity.pki import write_key, write_model, write_pki
from modeltrust._integrity import methods
from modeltrust._integrity.signing import sign_model
from modeltrust._integrity.verifying import verify_model

model_signing = pytest.importorskip("model_signing")


def ms_sign_key(model: Path, sig: Path, key: Path, hashing: object | None = None) -> None:
    cfg = model_signing.signing.Config().use_elliptic_key_signer(private_key=key)
    if hashing is not None:
        cfg = cfg.set_hashing_config(hashing)
    cfg.sign(model, sig)


def ms_verify_key(model: Path, sig: Path, pub: Path) -> None:
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=pub).verify(
        model, sig)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_model(tmp_path / "model")


@pytest.mark.parametrize("curve", ["P-256", "P-384", "P-521"])
def test_model_signing_key_bundle_verifies_with_modeltrust(tmp_path: Path, model: Path,
                                                           curve: str) -> None:
    kp = write_key(tmp_path / "k", curve=curve)
    sig = tmp_path / "ms.sig"
    ms_sign_key(model, sig, kp.private)
    res = verify_model(model, sig, methods.Trust(public_key=kp.public))
    assert res.verified, res.lines()
    assert any("path components" in n for n in res.notes)  # 'sub-x.txt' vs 'sub/a-b.txt'


@pytest.mark.parametrize("curve", ["P-256", "P-384", "P-521"])
@pytest.mark.parametrize("hash_type", ["sha256", "blake3"])
def test_modeltrust_key_bundle_verifies_with_model_signing(tmp_path: Path, model: Path,
                                                           curve: str, hash_type: str) -> None:
    kp = write_key(tmp_path / "k", curve=curve)
    res = sign_model(model, methods.Signer(kp.private), hash_type=hash_type)
    assert res.signature.parent == model and res.tensors is not None  # both inside the model
    ms_verify_key(model, res.signature, kp.public)


def test_model_signing_shards_and_blake2_verify_with_modeltrust(tmp_path: Path,
                                                                model: Path) -> None:
    kp = write_key(tmp_path / "k")
    hashing = model_signing.hashing.Config()
    shards = tmp_path / "shards.sig"
    ms_sign_key(model, shards, kp.private, hashing.use_shard_serialization(shard_size=64))
    res = verify_model(model, shards, methods.Trust(public_key=kp.public))
    assert res.verified, res.lines()
    assert any("sha256-sharded-64" in n for n in res.notes)
    assert any("float" in n for n in res.notes)
    b2 = tmp_path / "b2.sig"
    ms_sign_key(model, b2, kp.private,
                model_signing.hashing.Config().use_file_serialization(hashing_algorithm="blake2"))
    res = verify_model(model, b2, methods.Trust(public_key=kp.public))
    assert res.verified, res.lines()


def test_model_signing_detects_our_tampered_model(tmp_path: Path, model: Path) -> None:
    kp = write_key(tmp_path / "k")
    res = sign_model(model, methods.Signer(kp.private))
    (model / "config.json").write_text('{"hidden_size": 9}\n')
    with pytest.raises(ValueError, match="config.json"):
        ms_verify_key(model, res.signature, kp.public)


def test_model_signing_ignores_our_signature_and_tensor_files(tmp_path: Path,
                                                              model: Path) -> None:
    kp = write_key(tmp_path / "k")
    sig = model / "custom" / "release.sig"
    sig.parent.mkdir()
    (model / "custom" / "notes.txt").write_text("signed too\n")
    res = sign_model(model, methods.Signer(kp.private), signature=sig, ignore=["README.md"])
    assert res.tensors == model / "custom" / "release.sig.tensors.json"
    ms_verify_key(model, sig, kp.public)
    assert verify_model(model, sig, methods.Trust(public_key=kp.public)).verified


def test_known_defect_model_signing_cannot_verify_conformant_shards(tmp_path: Path,
                                                                  model: Path) -> None:
    kp = write_key(tmp_path / "k")
    res = sign_model(model, methods.Signer(kp.private), method="shards", shard_size=64)
    with pytest.raises(ValueError, match="sha256-sharded-64"):
        ms_verify_key(model, res.signature, kp.public)


def test_certificate_method_model_signing_to_modeltrust(tmp_path: Path, model: Path) -> None:
    pki = write_pki(tmp_path / "pki")
    sig = tmp_path / "ms-cert.sig"
    (model_signing.signing.Config()
     .use_certificate_signer(private_key=pki.leaf_key, signing_certificate=pki.leaf_cert,
                             certificate_chain=[pki.chain])
     .sign(model, sig))
    res = verify_model(model, sig, methods.Trust(cert_chain=(pki.root,)))
    assert res.verified, res.lines()
    assert res.method == "certificate" and res.signer == "signer@example.com"
    wrong = verify_model(model, sig, methods.Trust(cert_chain=(pki.other_root,)))
    assert not wrong.verified and "does not validate" in (wrong.reason or "")


def test_certificate_method_modeltrust_to_model_signing(tmp_path: Path, model: Path) -> None:
    pki = write_pki(tmp_path / "pki", curve="P-384")
    res = sign_model(model, methods.Signer(pki.leaf_key, cert=pki.leaf_cert,
                                           chain=(pki.chain,)))
    (model_signing.verifying.Config()
     .use_certificate_verifier(certificate_chain=[pki.root]).verify(model, res.signature))
    assert verify_model(model, res.signature, methods.Trust(cert_chain=(pki.root,))).verified
