"""Test key material and models, built with ``cryptography``, torch and safetensors.

A root CA signs an intermediate CA which signs a leaf with the ``codeSigning`` EKU and the
``digitalSignature`` key usage, the shape model_signing's certificate verifier expects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from helpers.corpora import CORPORA

CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}
OMS = CORPORA / "oms-spec"


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path


@dataclass(frozen=True)
class Pki:
    leaf_key: Path
    leaf_cert: Path
    chain: Path  # intermediate CA (PEM)
    root: Path  # root CA (PEM), what a verifier trusts
    other_root: Path  # an unrelated root CA


def write_key(folder: Path, name: str = "key", curve: str = "P-256",
              key: ec.EllipticCurvePrivateKey | None = None) -> KeyPair:
    folder.mkdir(parents=True, exist_ok=True)
    k = key or ec.generate_private_key(CURVES[curve]())
    priv, pub = folder / f"{name}.pem", folder / f"{name}.pub"
    priv.write_bytes(k.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                     ser.NoEncryption()))
    pub.write_bytes(k.public_key().public_bytes(ser.Encoding.PEM,
                                                ser.PublicFormat.SubjectPublicKeyInfo))
    return KeyPair(priv, pub)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str,
          issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool,
          eku: list[x509.ObjectIdentifier] | None = None,
          not_after: dt.datetime | None = None,
          digital_signature: bool = True) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(days=1))
         .not_valid_after(not_after or now + dt.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                        critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer_key.public_key()), critical=False))
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                          False, False), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(digital_signature, False, False, False, False,
                                          False, False, False, False), critical=True)
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.RFC822Name(f"{subject}@example.com")]), critical=False)
    if eku is not None:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(ser.Encoding.PEM) for c in certs)


def write_pki(folder: Path, *, leaf_eku: list[x509.ObjectIdentifier] | None = None,
              leaf_not_after: dt.datetime | None = None, curve: str = "P-256",
              digital_signature: bool = True) -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    root_k, mid_k, other_k = (ec.generate_private_key(ec.SECP384R1()) for _ in range(3))
    leaf_k = ec.generate_private_key(CURVES[curve]())
    root = _cert("root-ca", root_k, "root-ca", root_k, ca=True)
    other = _cert("other-ca", other_k, "other-ca", other_k, ca=True)
    mid = _cert("intermediate-ca", mid_k, "root-ca", root_k, ca=True)
    eku = [ExtendedKeyUsageOID.CODE_SIGNING] if leaf_eku is None else leaf_eku
    leaf = _cert("signer", leaf_k, "intermediate-ca", mid_k, ca=False, eku=eku,
                 not_after=leaf_not_after, digital_signature=digital_signature)
    keys = write_key(folder, "leaf", key=leaf_k)
    (folder / "leaf.crt").write_bytes(pem(leaf))
    (folder / "chain.crt").write_bytes(pem(mid))
    (folder / "root.crt").write_bytes(pem(root))
    (folder / "other.crt").write_bytes(pem(other))
    return Pki(keys.private, folder / "leaf.crt", folder / "chain.crt", folder / "root.crt",
               folder / "other.crt")


def write_model(folder: Path, *, tensors: bool = True) -> Path:
    """A small model folder: config, tokenizer text, a nested file, and weights."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"hidden_size": 8}\n')
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "sub" / "a-b.txt").write_text("nested\n")
    (folder / "sub-x.txt").write_text("sibling\n")  # '-' sorts before '/' by code point
    (folder / "README.md").write_text("# model\n")
    if tensors:
        import safetensors.torch
        import torch

        torch.manual_seed(0)
        sd = {f"encoder.layer.{i}.weight": torch.randn(4, 4) for i in range(6)}
        sd["embed.weight"] = torch.randn(10, 4).to(torch.float16)
        safetensors.torch.save_file(sd, str(folder / "model.safetensors"))
    return folder
