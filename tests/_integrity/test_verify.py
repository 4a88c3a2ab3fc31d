"""End to end: sign, tamper, verify; precise answers, fail-closed, signature status."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

import modeltrust
from _integrity.pki import write_key, write_model, write_pki
from modeltrust._integrity import keys, methods, oms
from modeltrust._integrity.signing import sign_model
from modeltrust._integrity.verifying import (
    signature_status,
    status_findings,
    verify_model,
)


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path, Path]:
    model = write_model(tmp_path / "model")
    kp = write_key(tmp_path / "k")
    res = sign_model(model, methods.Signer(kp.private))
    return model, res.signature, kp.public


def verify(model: Path, sig: Path, pub: Path) -> Any:
    return verify_model(model, sig, methods.Trust(public_key=pub))


def test_clean_model_verifies(signed: tuple[Path, Path, Path]) -> None:
    model, sig, pub = signed
    res = verify(model, sig, pub)
    assert res.verified and res.reason is None and res.files == 5
    assert res.root_digest == modeltrust.digest(model).removeprefix("sha256:")


def test_missing_extra_and_changed_files_are_listed(signed: tuple[Path, Path, Path]) -> None:
    model, sig, pub = signed
    (model / "README.md").unlink()
    (model / "new.txt").write_text("unsigned")
    (model / "sub" / "a-b.txt").write_text("changed")
    res = verify(model, sig, pub)
    assert not res.verified
    assert (res.missing, res.extra, res.changed) == (["README.md"], ["new.txt"],
                                                     ["sub/a-b.txt"])
    assert res.reason == ("the model differs from the signed manifest: 1 missing, 1 extra, "
                          "1 changed")
    relaxed = verify_model(model, sig, methods.Trust(public_key=pub), ignore_unsigned=True)
    assert relaxed.extra == [] and not relaxed.verified  # still 1 missing, 1 changed


def test_changed_tensors_are_named(signed: tuple[Path, Path, Path]) -> None:
    import safetensors.torch

    model, sig, pub = signed
    sd = safetensors.torch.load_file(str(model / "model.safetensors"))
    sd["encoder.layer.3.weight"][0, 0] += 1
    sd["encoder.layer.1.weight"][1, 1] += 1
    safetensors.torch.save_file(sd, str(model / "model.safetensors"))
    res = verify(model, sig, pub)
    assert res.changed == ["model.safetensors"]
    assert res.explanations == ["model.safetensors changed: 2 of 7 tensors differ "
                                "(encoder.layer.1.weight, encoder.layer.3.weight)"]


def test_same_tensors_new_container_is_explained(signed: tuple[Path, Path, Path]) -> None:
    import safetensors.torch

    model, sig, pub = signed
    sd = safetensors.torch.load_file(str(model / "model.safetensors"))
    safetensors.torch.save_file(sd, str(model / "model.safetensors"),
                                metadata={"format": "pt", "note": "re-saved"})
    res = verify(model, sig, pub)
    assert res.explanations == ["model.safetensors changed: all 7 tensors are identical (only "
                                "the container or its metadata differs)"]


def test_bin_to_safetensors_reserialisation_is_recognised(tmp_path: Path) -> None:
    import safetensors.torch
    import torch

    model = write_model(tmp_path / "model", tensors=False)
    torch.manual_seed(1)
    sd = {"a.weight": torch.randn(3, 5), "b.bias": torch.randn(5).to(torch.bfloat16),
          "c.ids": torch.arange(4)}
    torch.save(sd, model / "pytorch_model.bin")
    kp = write_key(tmp_path / "k")
    sign_model(model, methods.Signer(kp.private))
    (model / "pytorch_model.bin").unlink()
    safetensors.torch.save_file(sd, str(model / "model.safetensors"))
    res = verify(model, model / "model.sig", kp.public)
    assert not res.verified
    assert res.missing == ["pytorch_model.bin"] and res.extra == ["model.safetensors"]
    assert res.explanations == ["pytorch_model.bin → model.safetensors: re-serialised, all 3 "
                                "tensors kept (same names, dtypes, shapes and bytes)"]


def test_wrong_key_fails_with_reason(signed: tuple[Path, Path, Path], tmp_path: Path) -> None:
    model, sig, _ = signed
    other = write_key(tmp_path / "other")
    res = verify(model, sig, other.public)
    assert not res.verified and "not by the given key" in (res.reason or "")


def test_forged_statement_with_the_right_hint_fails(signed: tuple[Path, Path, Path]) -> None:
    model, sig, pub = signed
    doc = json.loads(sig.read_text())
    statement = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"][0]["digest"] = "0" * 64
    doc["dsseEnvelope"]["payload"] = base64.b64encode(oms.encode_payload(statement)).decode()
    sig.write_text(json.dumps(doc))
    res = verify(model, sig, pub)
    assert not res.verified and "does not verify" in (res.reason or "")


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty"), (b"{", "not JSON"), (b"[]", "not a JSON object"),
    (b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}',
     "verificationMaterial is missing")])
def test_malformed_bundles_fail_with_reason(signed: tuple[Path, Path, Path], content: bytes,
                                            reason: str) -> None:
    model, sig, pub = signed
    sig.write_bytes(content)
    res = verify(model, sig, pub)
    assert not res.verified and reason in (res.reason or "")


def test_truncated_bundle_fails(signed: tuple[Path, Path, Path]) -> None:
    model, sig, pub = signed
    sig.write_bytes(sig.read_bytes()[:200])
    assert "not JSON" in (verify(model, sig, pub).reason or "")


def _resign(sig: Path, key: Path, mutate: Any) -> None:
    doc = json.loads(sig.read_text())
    statement = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
    mutate(statement)
    signer = methods.Signer(key)
    sig.write_bytes(oms.dump(signer.bundles([statement])[0]))


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda s: s["predicate"].update(resources=[]), "manifest is empty"),
    (lambda s: s["predicate"]["serialization"].update(hash_type="sha1"), "not a known hash"),
    (lambda s: s.update(predicateType="https://example.com/p"), "unknown predicate"),
    (lambda s: s["predicate"]["resources"].__setitem__(
        0, {"name": "../../etc/passwd", "digest": "0" * 64, "algorithm": "sha256"}),
     "canonical relative path"),
])
def test_validly_signed_but_unacceptable_statements_fail_closed(
        tmp_path: Path, mutate: Any, reason: str) -> None:
    model = write_model(tmp_path / "model", tensors=False)
    kp = write_key(tmp_path / "k")
    res = sign_model(model, methods.Signer(kp.private))
    _resign(res.signature, kp.private, mutate)
    out = verify(model, res.signature, kp.public)
    assert not out.verified and reason in (out.reason or "")


def test_partial_match_never_verifies(tmp_path: Path) -> None:
    model = write_model(tmp_path / "model", tensors=False)
    kp = write_key(tmp_path / "k")
    res = sign_model(model, methods.Signer(kp.private))
    _resign(res.signature, kp.private, lambda s: s["predicate"].update(
        resources=s["predicate"]["resources"][:1]) or s["subject"][0]["digest"].update(
        sha256=__import__("hashlib").sha256(bytes.fromhex(
            s["predicate"]["resources"][0]["digest"])).hexdigest()))
    out = verify(model, res.signature, kp.public)
    assert not out.verified and len(out.extra) == 3


def test_symlink_trick_fails(signed: tuple[Path, Path, Path], tmp_path: Path) -> None:
    model, sig, pub = signed
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    (model / "config.json").unlink()
    (model / "config.json").symlink_to(secret)
    res = verify(model, sig, pub)
    assert not res.verified and "symbolic link" in (res.reason or "")


def test_truncated_weight_file_is_changed(signed: tuple[Path, Path, Path]) -> None:
    model, sig, pub = signed
    w = model / "model.safetensors"
    w.write_bytes(w.read_bytes()[:100])
    res = verify(model, sig, pub)
    assert res.changed == ["model.safetensors"]
    assert res.explanations == ["model.safetensors changed: its digest differs"]


def test_single_file_model(tmp_path: Path) -> None:
    model = write_model(tmp_path / "m") / "model.safetensors"
    kp = write_key(tmp_path / "k")
    res = sign_model(model, methods.Signer(kp.private), hash_type="blake3")
    assert res.signature == model.with_name("model.safetensors.sig")
    assert verify(model, res.signature, kp.public).verified
    assert res.root_digest == modeltrust.digest(model, hash_type="blake3")[7:]


def test_shards_verify_and_detect_change(tmp_path: Path) -> None:
    model = write_model(tmp_path / "m")
    kp = write_key(tmp_path / "k")
    res = sign_model(model, methods.Signer(kp.private), method="shards", shard_size=50,
                     hash_type="blake2b")
    assert verify(model, res.signature, kp.public).verified
    with (model / "model.safetensors").open("r+b") as f:
        f.seek(f.seek(0, os.SEEK_END) - 1)
        f.write(b"\x00")
    assert verify(model, res.signature, kp.public).changed == ["model.safetensors"]


def test_certificate_chain_failures(tmp_path: Path) -> None:
    import datetime as dt

    model = write_model(tmp_path / "m", tensors=False)
    for kw, reason in (
            ({"leaf_not_after": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)},
             "does not validate"),
            ({"leaf_eku": [keys_oid_server()]}, "lacks codeSigning"),
            ({"digital_signature": False}, "does not allow digital signatures")):
        pki = write_pki(tmp_path / f"pki{len(reason)}", **kw)  # type: ignore[arg-type]
        res = sign_model(model, methods.Signer(pki.leaf_key, cert=pki.leaf_cert,
                                               chain=(pki.chain,)))
        out = verify_model(model, res.signature, methods.Trust(cert_chain=(pki.root,)))
        assert not out.verified and reason in (out.reason or ""), out.reason
        res.signature.unlink()


def keys_oid_server() -> Any:
    from cryptography.x509.oid import ExtendedKeyUsageOID

    return ExtendedKeyUsageOID.SERVER_AUTH


def test_method_mismatch_fails(signed: tuple[Path, Path, Path], tmp_path: Path) -> None:
    model, sig, _ = signed
    pki = write_pki(tmp_path / "pki")
    out = verify_model(model, sig, methods.Trust(cert_chain=(pki.root,)))
    assert "not a certificate chain" in (out.reason or "")


def test_tensor_statement_for_another_manifest_is_ignored(signed: tuple[Path, Path, Path],
                                                          tmp_path: Path) -> None:
    model, sig, pub = signed
    copy_ = tmp_path / "copy"
    shutil.copytree(model, copy_)
    (copy_ / "README.md").write_text("other release")
    sign_model(copy_, methods.Signer(tmp_path / "k" / "key.pem"))  # the fixture's key
    shutil.copy(copy_ / "model.sig.tensors.json", model / "model.sig.tensors.json")
    (model / "config.json").write_text("{}")
    res = verify(model, sig, pub)
    assert any("made for another manifest" in n for n in res.notes)


def test_signature_status_states(signed: tuple[Path, Path, Path]) -> None:
    model, sig, _ = signed
    st = signature_status(model)
    assert st is not None and st.state == "intact" and not st.verified
    assert st.message.startswith("unverified: no trusted key given (claims to be signed by "
                                 "key sha256:")
    assert [f.rule_id for f in status_findings(st)] == ["MT-SIG-001"]
    (model / "config.json").write_text("{}")
    st = signature_status(model)
    assert st is not None and st.state == "mismatch" and st.changed == ("config.json",)
    assert status_findings(st)[0].rule_id == "MT-SIG-002"
    st = signature_status(model, hash_limit=1)  # scan's bound: lists only, no hashing
    assert st is not None and st.state == "unchecked" and "not re-hashed" in st.message
    assert status_findings(st)[0].rule_id == "MT-SIG-005"
    (model / "extra.bin").write_bytes(b"x")
    st = signature_status(model, hash_limit=1)  # an unsigned file shows without hashing
    assert st is not None and st.state == "mismatch" and st.extra == ("extra.bin",)
    (model / "extra.bin").unlink()
    sig.write_text("{}")
    st = signature_status(model)
    assert st is not None and st.state == "malformed"
    assert status_findings(st)[0].rule_id == "MT-SIG-003"
    sig.unlink()
    assert signature_status(model) is None


def test_signature_status_names_certificate_signer(tmp_path: Path) -> None:
    model = write_model(tmp_path / "m", tensors=False)
    pki = write_pki(tmp_path / "pki")
    sign_model(model, methods.Signer(pki.leaf_key, cert=pki.leaf_cert, chain=(pki.chain,)))
    st = signature_status(model)
    assert st is not None and st.signer == "signer@example.com"


def test_api_functions(tmp_path: Path) -> None:
    model = write_model(tmp_path / "m", tensors=False)
    kp = write_key(tmp_path / "k")
    res = modeltrust.sign(model, key=kp.private, ignore=["README.md"])
    (model / "README.md").write_text("not signed, ignored")
    assert modeltrust.verify(model, key=kp.public).verified
    with pytest.raises(modeltrust.UsageError):
        modeltrust.verify(model)
    assert res.root_digest == modeltrust.digest(model, ignore=["README.md"])[7:]
    assert keys.key_hint(keys.load_public_key(kp.public)) in res.signer
