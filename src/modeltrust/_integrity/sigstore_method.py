"""The ``sigstore`` method: keyless signing (Fulcio + Rekor) through the ``sigstore`` library.

Optional and networked: the library is imported only when keyless signing or verification
is asked for, and it is the only code here that talks to the network. Verification checks
the certificate against the Sigstore trust root, the transparency log entry, and an
identity policy (the signer's identity and OIDC issuer), then hands back the DSSE payload
for the OMS checks that follow.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from modeltrust._integrity.errors import SignatureError, SigstoreUnavailable
from modeltrust._integrity.oms import encode_payload


def _require() -> None:
    try:
        import sigstore  # noqa: F401
    except ImportError:
        raise SigstoreUnavailable("the sigstore library is not installed") from None


def sign_statements(statements: Sequence[dict[str, Any]], *, identity_token: str | None = None,
                    use_staging: bool = False) -> list[dict[str, Any]]:
    """Sign each statement as a DSSE envelope with one short-lived certificate.

    Raises:
        SigstoreUnavailable: the library is missing.
        SignatureError: no identity token could be obtained or signing failed.
    """
    _require()
    from sigstore.dsse import Statement
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken, Issuer, detect_credential
    from sigstore.sign import SigningContext

    config = ClientTrustConfig.staging() if use_staging else ClientTrustConfig.production()
    context = SigningContext.from_trust_config(config)
    try:
        raw = identity_token or detect_credential()
        token = (IdentityToken(raw) if raw else
                 Issuer(config.signing_config.get_oidc_url()).identity_token())
        with context.signer(token) as signer:
            bundles = [signer.sign_dsse(Statement(encode_payload(s))) for s in statements]
    except Exception as exc:  # noqa: BLE001 - network/OIDC failures of a third-party client
        raise SignatureError(f"Sigstore signing failed: {exc}") from exc
    out: list[dict[str, Any]] = [json.loads(b.to_json()) for b in bundles]
    return out


def verify_bundle(raw: dict[str, Any], *, identity: str, issuer: str,
                  use_staging: bool = False, offline: bool = False) -> tuple[str, bytes]:
    """Verify a keyless bundle against the Sigstore trust root and an identity policy.

    Returns:
        The DSSE payload type and payload bytes.

    Raises:
        SigstoreUnavailable: the library is missing.
        SignatureError: the bundle does not verify or the identity does not match.
    """
    _require()
    from sigstore.models import Bundle
    from sigstore.verify import Verifier, policy

    try:
        bundle = Bundle.from_json(json.dumps(raw))
        verifier = (Verifier.staging(offline=offline) if use_staging
                    else Verifier.production(offline=offline))
        payload_type, payload = verifier.verify_dsse(
            bundle, policy.Identity(identity=identity, issuer=issuer))
    except Exception as exc:  # noqa: BLE001 - the library raises many unrelated types
        raise SignatureError(f"Sigstore verification failed: {exc}") from exc
    return str(payload_type), bytes(payload)
