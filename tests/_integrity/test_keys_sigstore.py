"""Key handling and the optional Sigstore keyless path (mocked: these tests are offline)."""

from __future__ import annotations

import builtins
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from _integrity.pki import OMS, write_key, write_model
from modeltrust._integrity import keys, methods, oms, sigstore_method
from modeltrust._integrity.errors import KeyMaterialError, SignatureError, SigstoreUnavailable
from modeltrust._integrity.signing import sign_model
from modeltrust._integrity.verifying import verify_model


@pytest.mark.parametrize("curve", ["P-256", "P-384", "P-521"])
def test_sign_and_verify_each_curve(tmp_path: Path, curve: str) -> None:
    kp = write_key(tmp_path, curve=curve)
    priv, pub = keys.load_private_key(kp.private), keys.load_public_key(kp.public)
    sig = keys.sign(priv, b"data")
    assert keys.verify(pub, sig, b"data") and not keys.verify(pub, sig, b"datA")


@pytest.mark.parametrize("bad", ["secp256k1", "rsa", "garbage", "encrypted"])
def test_unusable_private_keys(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "k.pem"
    if bad == "secp256k1":
        k: Any = ec.generate_private_key(ec.SECP256K1())
    elif bad in ("rsa", "encrypted"):
        k = rsa.generate_private_key(65537, 2048) if bad == "rsa" else \
            ec.generate_private_key(ec.SECP256R1())
    if bad == "garbage":
        path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    else:
        enc = (ser.BestAvailableEncryption(b"pw") if bad == "encrypted"
               else ser.NoEncryption())
        path.write_bytes(k.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, enc))
    with pytest.raises(KeyMaterialError):
        keys.load_private_key(path)


def test_encrypted_key_with_password(tmp_path: Path) -> None:
    k = ec.generate_private_key(ec.SECP384R1())
    path = tmp_path / "k.pem"
    path.write_bytes(k.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                     ser.BestAvailableEncryption(b"pw")))
    assert keys.load_private_key(path, b"pw").curve.name == "secp384r1"


def test_hint_is_sha256_of_pem_spki(tmp_path: Path) -> None:
    import hashlib

    kp = write_key(tmp_path)
    assert keys.key_hint(keys.load_public_key(kp.public)) == hashlib.sha256(
        kp.public.read_bytes()).hexdigest()


def test_legacy_raw_bytes_key_identifier(tmp_path: Path) -> None:
    model = write_model(tmp_path / "m", tensors=False)
    kp = write_key(tmp_path / "k")
    res = sign_model(model, methods.Signer(kp.private))
    doc = json.loads(res.signature.read_text())
    der = keys.load_public_key(kp.public).public_bytes(
        ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
    import base64

    doc["verificationMaterial"] = {"publicKey": {"rawBytes": base64.b64encode(der).decode()},
                                   "tlogEntries": []}
    res.signature.write_text(json.dumps(doc))
    out = verify_model(model, res.signature, methods.Trust(public_key=kp.public))
    assert out.verified and any("rawBytes" in n for n in out.notes)


def test_trust_must_be_exactly_one() -> None:
    from modeltrust.errors import UsageError

    for trust in (methods.Trust(), methods.Trust(identity="a@b"),
                  methods.Trust(public_key=Path("k"), identity="a", issuer="b")):
        with pytest.raises(UsageError):
            trust.check()


def test_sigstore_missing_library_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = builtins.__import__

    def fake(name: str, *a: Any, **k: Any) -> Any:
        if name == "sigstore" or name.startswith("sigstore."):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(SigstoreUnavailable) as err:
        sigstore_method.verify_bundle({}, identity="a", issuer="b")
    assert "pip install 'modeltrust[sigstore]'" in err.value.diagnostics()


def test_sigstore_vector_goes_through_the_identity_policy(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """The keyless path hands the bundle and an Identity policy to sigstore (mocked)."""
    src = OMS / "test-vectors" / "v1.0" / "valid" / "sigstore.bundle.json"
    sig = tmp_path / "model.sig"
    shutil.copy(src, sig)
    bundle = oms.read_bundle(sig)
    model = tmp_path / "v1.1.0-sigstore"
    model.mkdir()
    (model / "signme-1").write_text("not the signed bytes")
    calls: list[Any] = []

    class FakeVerifier:
        @staticmethod
        def production(offline: bool = False) -> FakeVerifier:
            return FakeVerifier()

        def verify_dsse(self, b: Any, policy: Any) -> tuple[str, bytes]:
            calls.append(policy)
            return oms.PAYLOAD_TYPE, bundle.payload

    import sigstore.verify

    monkeypatch.setattr(sigstore.verify, "Verifier", FakeVerifier)
    out = verify_model(model, sig, methods.Trust(identity="stefanb@us.ibm.com",
                                                 issuer="https://sigstore.verify.ibm.com/oauth2"))
    assert calls and calls[0]._identity == "stefanb@us.ibm.com"
    assert out.method == "sigstore"
    assert (out.changed, out.missing) == (["signme-1"], ["signme-2"])  # fails closed
    assert not out.verified


def test_sigstore_failure_is_a_signature_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sigstore.verify

    class Boom:
        @staticmethod
        def production(offline: bool = False) -> Any:
            raise RuntimeError("no network")

    monkeypatch.setattr(sigstore.verify, "Verifier", Boom)
    raw = json.loads((OMS / "test-vectors/v1.0/valid/sigstore.bundle.json").read_text())
    with pytest.raises(SignatureError, match="no network"):
        sigstore_method.verify_bundle(raw, identity="a", issuer="b")


def test_sigstore_signing_uses_one_session_for_both_statements(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sigstore.models
    import sigstore.sign

    signed: list[bytes] = []

    class FakeBundle:
        def __init__(self, payload: bytes) -> None:
            self.payload = payload

        def to_json(self) -> str:
            return json.dumps({"payload": self.payload.decode()})

    class FakeSigner:
        def __enter__(self) -> FakeSigner:
            return self

        def __exit__(self, *a: object) -> None:
            return None

        def sign_dsse(self, statement: Any) -> FakeBundle:
            signed.append(statement._contents)
            return FakeBundle(statement._contents)

    class FakeContext:
        @staticmethod
        def from_trust_config(cfg: Any) -> FakeContext:
            return FakeContext()

        def signer(self, token: Any) -> FakeSigner:
            return FakeSigner()

    monkeypatch.setattr(sigstore.sign, "SigningContext", FakeContext)
    monkeypatch.setattr(sigstore.models.ClientTrustConfig, "production",
                        staticmethod(lambda offline=False: object()))
    st = {"_type": "https://in-toto.io/Statement/v1", "subject": [
        {"name": "m", "digest": {"sha256": "00" * 32}}], "predicateType": "x", "predicate": {}}
    tok = (
        "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2EiLCJhdWQiOiJzaWdzdG9yZSIsInN1YiI6InMi"
        "LCJlbWFpbCI6ImFAYiIsImV4cCI6OTk5OTk5OTk5OSwiaWF0IjoxLCJuYmYiOjF9."
    )
    out = sigstore_method.sign_statements([st, st], identity_token=tok)
    assert len(out) == 2 and len(signed) == 2
    assert "sigstore" in sys.modules
