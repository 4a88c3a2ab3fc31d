"""Errors of the integrity stage: each says which layer failed and why, in one line.

A failed *verification* is an answer, not an error: :func:`verify_model` returns a result
saying what did not match. These exceptions are for inputs that cannot be processed at all
(a malformed bundle, a key that does not parse, a model folder with a symlink trick); the
``verify`` command still reports them as a failed verification (exit 1) with the reason.
"""

from __future__ import annotations

from modeltrust.errors import Error


class IntegrityError(Error):
    """Root of the integrity errors; ``reason`` is the precise cause."""

    what = "integrity check"
    hint = ""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def diagnostics(self) -> str:  # noqa: D102 - inherited
        tail = f" {self.hint}" if self.hint else ""
        return f"{self.what} failed: {self.reason}.{tail}"


class BundleError(IntegrityError):
    """The signature file is not a well-formed OMS bundle (JSON, Sigstore, DSSE, in-toto)."""

    what = "reading the signature bundle"
    hint = "The file is not an OpenSSF Model Signing v1.0 bundle or it was damaged."


class ManifestError(IntegrityError):
    """The signed manifest is inconsistent (order, root digest, algorithms, names)."""

    what = "checking the signed manifest"


class SignatureError(IntegrityError):
    """The signature does not verify with the trusted key, certificate chain or identity."""

    what = "signature verification"
    hint = "The model was not signed by the key or identity you trust, or it was altered."


class KeyMaterialError(IntegrityError):
    """A key or certificate file cannot be used (format, curve, password, mismatch)."""

    what = "loading key material"
    hint = "Use a PEM EC key on P-256, P-384 or P-521 (and matching PEM certificates)."


class ModelPathError(IntegrityError):
    """The model cannot be enumerated safely (symlink, special file, bad name, empty)."""

    what = "reading the model"


class SigstoreUnavailable(IntegrityError):
    """Keyless signing or verification was asked for but the ``sigstore`` library is missing."""

    what = "Sigstore keyless signing"
    hint = "Install it with: pip install 'modeltrust[sigstore]'."
