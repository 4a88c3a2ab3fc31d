"""The ``key`` and ``certificate`` signing methods, offline, with ``cryptography``.

Keys are EC on P-256, P-384 or P-521 (OMS algorithm registry); the digest follows the curve
(SHA-256, SHA-384, SHA-512) as Sigstore and model_signing do. A key's ``hint`` is the
SHA-256 of its PEM SubjectPublicKeyInfo, hex-encoded, which is what model_signing writes.

Certificate chains are validated with ``cryptography.x509.verification`` (RFC 5280 path
building, CA extensions per the Web PKI profile) against the roots the verifier trusts, at
the current time: OMS §8.2 says the leaf MUST be within its validity period. The leaf must
be usable for signing: ``digitalSignature`` key usage or the ``codeSigning`` extended key
usage, and neither extension may forbid it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeltrust._integrity.errors import IntegrityError, KeyMaterialError, SignatureError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

MAX_PEM_BYTES = 1024 * 1024
_CURVES = {"secp256r1": "SHA256", "secp384r1": "SHA384", "secp521r1": "SHA512"}


def _crypto() -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise IntegrityError("signing needs the cryptography package "
                             "(pip install 'modeltrust[signing]')") from None


def _read(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_PEM_BYTES + 1)
    except OSError as exc:
        raise KeyMaterialError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_PEM_BYTES:
        raise KeyMaterialError(f"{what} {path} is larger than {MAX_PEM_BYTES} bytes")
    return data


def _ecdsa(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> ec.ECDSA:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    algo: hashes.HashAlgorithm = getattr(hashes, _CURVES[key.curve.name])()
    return ec.ECDSA(algo)


def _check_curve(key: Any, where: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        raise KeyMaterialError(f"{where} is a {type(key).__name__}, not an EC key")
    if key.curve.name not in _CURVES:
        raise KeyMaterialError(f"{where} uses curve {key.curve.name}; OMS allows P-256, "
                               "P-384 and P-521")


def load_private_key(path: Path, password: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    """Load a PEM EC private key on an OMS curve.

    Raises:
        KeyMaterialError: unreadable, encrypted without password, wrong type or curve.
    """
    _crypto()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    data = _read(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password)
    except (ValueError, TypeError) as exc:
        raise KeyMaterialError(f"{path} is not a usable PEM private key ({exc})") from None
    _check_curve(key, str(path))
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    """Load a PEM EC public key (or the key of a PEM certificate) on an OMS curve.

    Raises:
        KeyMaterialError: unreadable, wrong type or curve.
    """
    _crypto()
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    data = _read(path, "public key")
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise KeyMaterialError(f"{path} is not a PEM public key ({exc})") from None
    _check_curve(key, str(path))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def public_key_from_der(der: bytes) -> ec.EllipticCurvePublicKey:
    """Load a DER SubjectPublicKeyInfo (old bundles' ``publicKey.rawBytes``).

    Raises:
        KeyMaterialError: not an EC public key on an OMS curve.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_der_public_key(der)
    except ValueError as exc:
        raise KeyMaterialError(f"publicKey.rawBytes is not a DER public key ({exc})") from None
    _check_curve(key, "publicKey.rawBytes")
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def key_hint(public_key: ec.EllipticCurvePublicKey) -> str:
    """Hex SHA-256 of the PEM SubjectPublicKeyInfo (model_signing's ``publicKey.hint``)."""
    from cryptography.hazmat.primitives import serialization

    pem = public_key.public_bytes(serialization.Encoding.PEM,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest()


def sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA (DER) over ``data`` with the curve's digest."""
    return private_key.sign(data, _ecdsa(private_key))


def verify(public_key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is a valid ECDSA signature of ``data`` by ``public_key``."""
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(signature, data, _ecdsa(public_key))
    except (InvalidSignature, ValueError):
        return False
    return True


def load_certificates(paths: Iterable[Path]) -> list[x509.Certificate]:
    """Every PEM certificate in the given files, in order.

    Raises:
        KeyMaterialError: a file is unreadable or holds no certificate.
    """
    _crypto()
    from cryptography import x509

    out: list[x509.Certificate] = []
    for path in paths:
        try:
            certs = x509.load_pem_x509_certificates(_read(path, "certificate"))
        except ValueError as exc:
            raise KeyMaterialError(f"{path} holds no PEM certificate ({exc})") from None
        out.extend(certs)
    return out


def der_certificate(der: bytes, where: str) -> x509.Certificate:
    """Parse a DER certificate from a bundle.

    Raises:
        SignatureError: the bytes are not a certificate.
    """
    from cryptography import x509

    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise SignatureError(f"{where} is not a DER X.509 certificate ({exc})") from None


def verify_chain(chain: Sequence[bytes], trusted: Sequence[x509.Certificate],
                 at: dt.datetime | None = None) -> x509.Certificate:
    """Validate the bundle's leaf (``chain[0]``) up to one of the ``trusted`` certificates.

    Raises:
        SignatureError: no valid path, expired leaf, or a leaf not allowed to sign.
    """
    from cryptography.x509 import verification as v

    if not trusted:
        raise SignatureError("no trusted certificate given to validate the chain against")
    certs = [der_certificate(d, f"certificate #{i}") for i, d in enumerate(chain)]
    leaf = certs[0]
    _check_signing_usage(leaf)
    when = at or dt.datetime.now(dt.UTC)
    builder = (v.PolicyBuilder().store(v.Store(list(trusted))).time(when)
               .max_chain_depth(8)
               .extension_policies(ca_policy=v.ExtensionPolicy.webpki_defaults_ca(),
                                   ee_policy=v.ExtensionPolicy.permit_all()))
    try:
        builder.build_client_verifier().verify(leaf, certs[1:])
    except v.VerificationError as exc:
        raise SignatureError(f"certificate chain of {identity_of(leaf)} does not validate "
                             f"against the trusted certificates: {exc}") from None
    return leaf


def _check_signing_usage(leaf: x509.Certificate) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    allowed = False
    try:
        ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        if not ku.digital_signature:
            raise SignatureError("the signing certificate's key usage does not allow "
                                 "digital signatures")
        allowed = True
    except x509.ExtensionNotFound:
        pass
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CODE_SIGNING not in eku and \
                ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
            raise SignatureError("the signing certificate's extended key usage lacks "
                                 "codeSigning")
        allowed = True
    except x509.ExtensionNotFound:
        pass
    if not allowed:
        raise SignatureError("the signing certificate has neither a key usage nor an extended "
                             "key usage allowing signatures")


def identity_of(cert: x509.Certificate) -> str:
    """Who a certificate names: SAN e-mail or URI first, else the subject."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for kind in (x509.RFC822Name, x509.UniformResourceIdentifier, x509.DNSName):
            names = san.get_values_for_type(kind)
            if names:
                return str(names[0])
    except x509.ExtensionNotFound:
        pass
    return cert.subject.rfc4514_string() or "(empty subject)"


def issuer_of(cert: x509.Certificate) -> str | None:
    """The OIDC issuer recorded by Fulcio (OID 1.3.6.1.4.1.57264.1.8 or .1.1), if any."""
    from cryptography import x509

    for oid in ("1.3.6.1.4.1.57264.1.8", "1.3.6.1.4.1.57264.1.1"):
        try:
            ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid))
        except x509.ExtensionNotFound:
            continue
        raw = ext.value.value if isinstance(ext.value, x509.UnrecognizedExtension) else b""
        text = _der_utf8(raw) if oid.endswith(".8") else raw.decode("utf-8", "replace")
        if text:
            return text
    return None


def _der_utf8(raw: bytes) -> str:
    if len(raw) >= 2 and raw[0] == 0x0C and raw[1] < 0x80:
        return raw[2:2 + raw[1]].decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")
