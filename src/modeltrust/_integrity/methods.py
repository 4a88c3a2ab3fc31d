"""Signing methods and trust: who signs a statement, and what a verifier accepts as signer.

A :class:`Signer` turns in-toto statements into Sigstore bundles (key, certificate or
keyless). A :class:`Trust` names what the verifier trusts (a public key, CA certificates,
or a Sigstore identity) and :func:`authenticate` checks a bundle against it, failing
closed: the bundle's method must be the one the trust is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modeltrust._integrity import keys, oms
from modeltrust._integrity.errors import SignatureError
from modeltrust.errors import UsageError


@dataclass(frozen=True)
class Authenticated:
    """A bundle whose signature verified: the method, who signed, and notes."""

    method: str
    signer: str
    payload: bytes
    notes: tuple[str, ...] = ()


class Signer:
    """Signs statements with an EC key, as the ``key`` or ``certificate`` method."""

    def __init__(self, key: Path, *, password: bytes | None = None, cert: Path | None = None,
                 chain: tuple[Path, ...] = ()) -> None:
        from cryptography.hazmat.primitives import serialization

        self._key = keys.load_private_key(key, password)
        public = self._key.public_key()
        if cert is None:
            if chain:
                raise UsageError("--chain needs --cert (the signing certificate)")
            self.method = "key"
            self.identity = f"key sha256:{keys.key_hint(public)}"
            self._material = oms.key_material(keys.key_hint(public))
            return
        certs = keys.load_certificates([cert])
        leaf = certs[0]
        if leaf.public_key() != public:
            raise SignatureError(f"the certificate {cert} does not belong to the key {key}")
        ders = [c.public_bytes(serialization.Encoding.DER)
                for c in [leaf, *keys.load_certificates(chain)]]
        self.method = "certificate"
        self.identity = keys.identity_of(leaf)
        self._material = oms.chain_material(ders)

    def bundles(self, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One Sigstore bundle per statement, signed over the DSSE PAE."""
        out = []
        for st in statements:
            payload = oms.encode_payload(st)
            sig = keys.sign(self._key, oms.pae(oms.PAYLOAD_TYPE, payload))
            out.append(oms.make_bundle(self._material, payload, sig))
        return out


class SigstoreSigner:
    """Keyless signing through the ``sigstore`` library (network)."""

    method = "sigstore"
    identity = "Sigstore keyless identity"

    def __init__(self, *, identity_token: str | None = None, use_staging: bool = False) -> None:
        self._token = identity_token
        self._staging = use_staging

    def bundles(self, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Sign every statement in one signing session."""
        from modeltrust._integrity import sigstore_method

        return sigstore_method.sign_statements(statements, identity_token=self._token,
                                               use_staging=self._staging)


@dataclass(frozen=True)
class Trust:
    """What the verifier trusts; exactly one of the three forms must be given."""

    public_key: Path | None = None
    cert_chain: tuple[Path, ...] = ()
    identity: str | None = None
    issuer: str | None = None
    use_staging: bool = False

    def check(self) -> None:
        """Refuse an empty or ambiguous trust (fail closed).

        Raises:
            UsageError: none or several forms given, or identity without issuer.
        """
        given = sum([self.public_key is not None, bool(self.cert_chain),
                     self.identity is not None or self.issuer is not None])
        if given != 1:
            raise UsageError("give exactly one of: a public key, a certificate chain, or a "
                             "Sigstore identity and issuer")
        if (self.identity is None) != (self.issuer is None):
            raise UsageError("a Sigstore identity needs both --identity and --issuer")


def authenticate(bundle: oms.Bundle, trust: Trust) -> Authenticated:
    """Verify the bundle's DSSE signature with what the verifier trusts.

    Raises:
        SignatureError: wrong method for this trust, key mismatch, bad chain or signature.
    """
    trust.check()
    method = bundle.material.method
    if trust.public_key is not None:
        return _by_key(bundle, trust.public_key)
    if trust.cert_chain:
        if method != "certificate":
            raise SignatureError(f"the bundle uses the {method} method, not a certificate "
                                 "chain; verify it with the matching option")
        leaf = keys.verify_chain(bundle.material.certificates,
                                 keys.load_certificates(trust.cert_chain))
        public = leaf.public_key()
        if not any(keys.verify(public, s, _pae(bundle)) for s in bundle.signatures):  # type: ignore[arg-type]
            raise SignatureError(f"the DSSE signature does not verify with the certificate of "
                                 f"{keys.identity_of(leaf)}")
        return Authenticated("certificate", keys.identity_of(leaf), bundle.payload)
    if method != "sigstore":
        raise SignatureError(f"the bundle uses the {method} method, not Sigstore keyless")
    from modeltrust._integrity import sigstore_method

    assert trust.identity is not None and trust.issuer is not None
    ptype, payload = sigstore_method.verify_bundle(bundle.raw, identity=trust.identity,
                                                   issuer=trust.issuer,
                                                   use_staging=trust.use_staging)
    if ptype != oms.PAYLOAD_TYPE or payload != bundle.payload:
        raise SignatureError("Sigstore verified a different payload than the bundle holds")
    return Authenticated("sigstore", f"{trust.identity} (issuer {trust.issuer})", payload)


def _pae(bundle: oms.Bundle) -> bytes:
    return oms.pae(bundle.payload_type, bundle.payload)


def _by_key(bundle: oms.Bundle, path: Path) -> Authenticated:
    public = keys.load_public_key(path)
    hint = keys.key_hint(public)
    mat = bundle.material
    notes: list[str] = []
    if mat.method != "key":
        raise SignatureError(f"the bundle uses the {mat.method} method; a bare public key "
                             "cannot verify it (use --cert-chain or --identity/--issuer)")
    if mat.key_hint is not None and mat.key_hint != hint:
        raise SignatureError(f"the bundle was signed by key sha256:{mat.key_hint}, not by the "
                             f"given key sha256:{hint}")
    if mat.key_hint is None and mat.key_raw is not None:
        if keys.public_key_from_der(mat.key_raw) != public:
            raise SignatureError("the bundle's publicKey.rawBytes is not the given key")
        notes.append("bundle identifies its key by publicKey.rawBytes (pre-1.1 format)")
    if not any(keys.verify(public, s, _pae(bundle)) for s in bundle.signatures):
        raise SignatureError(f"the DSSE signature does not verify with key sha256:{hint} "
                             "(wrong key, or the signed statement was altered)")
    return Authenticated("key", f"key sha256:{hint}", bundle.payload, tuple(notes))


def claimed_signer(bundle: oms.Bundle) -> str:
    """Who the bundle *says* signed it (unauthenticated): key hint or certificate identity."""
    mat = bundle.material
    if mat.method == "key":
        return f"key sha256:{mat.key_hint}" if mat.key_hint else "a key (rawBytes)"
    try:
        leaf = keys.der_certificate(mat.certificates[0], "certificate")
    except SignatureError:
        return "an unreadable certificate"
    who = keys.identity_of(leaf)
    issuer = keys.issuer_of(leaf) if mat.method == "sigstore" else None
    return f"{who} (issuer {issuer})" if issuer else who
