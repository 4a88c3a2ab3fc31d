"""Sigstore bundle v0.3 and DSSE envelope: read strictly, write exactly as OMS v1.0 shows.

Reading checks every layer the OMS bundle schema constrains and names the first thing that
is wrong ("dsseEnvelope.signatures[0].sig is not base64", "sigstore method without
tlogEntries"...). Nothing here verifies a signature: that is :mod:`keys` and
:mod:`sigstore_method`. The writer emits Appendix A's shape: ``publicKey.hint`` for keys,
``x509CertificateChain`` (leaf first) for certificates, ``keyid: ""``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modeltrust._integrity.errors import BundleError

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
ACCEPTED_MEDIA_TYPES = frozenset({BUNDLE_MEDIA_TYPE,
                                  "application/vnd.dev.sigstore.bundle+json;version=0.3"})
PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
"""A signature file larger than this is refused before it is parsed."""

_MATERIALS = ("publicKey", "x509CertificateChain", "certificate")
_URLSAFE = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 Pre-Authentication Encoding: what is actually signed."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(t), t, len(payload), payload)


@dataclass(frozen=True)
class Material:
    """The verification material of a bundle, by signing method."""

    method: str
    """``key``, ``certificate`` or ``sigstore``."""
    key_hint: str | None = None
    key_raw: bytes | None = None
    certificates: tuple[bytes, ...] = ()
    """DER certificates: the leaf first (chain for ``certificate``, one for ``sigstore``)."""
    tlog_entries: int = 0


@dataclass(frozen=True)
class Bundle:
    """A parsed OMS bundle; ``raw`` is the JSON document (for the sigstore library)."""

    media_type: str
    material: Material
    payload: bytes
    payload_type: str
    signatures: tuple[bytes, ...]
    raw: dict[str, Any]


def read_bundle(path: Path) -> Bundle:
    """Read and parse a signature file.

    Raises:
        BundleError: unreadable, too large, or malformed at any layer.
    """
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BUNDLE_BYTES + 1)
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"{path} is larger than {MAX_BUNDLE_BYTES} bytes")
    return parse_bundle(data)


def parse_bundle(data: bytes) -> Bundle:
    """Parse the bytes of a Sigstore bundle holding a DSSE envelope.

    Raises:
        BundleError: the first precise reason the bundle is not acceptable.
    """
    if not data.strip():
        raise BundleError("the signature file is empty")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"the signature file is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise BundleError("the bundle is not a JSON object")
    media = doc.get("mediaType")
    if media not in ACCEPTED_MEDIA_TYPES:
        raise BundleError(f"mediaType {media!r} is not a Sigstore bundle v0.3 media type")
    if "messageSignature" in doc:
        raise BundleError("the bundle holds a messageSignature; OMS bundles carry a "
                          "dsseEnvelope")
    extra = sorted(set(doc) - {"mediaType", "verificationMaterial", "dsseEnvelope"})
    if extra:
        raise BundleError(f"unexpected top-level bundle fields: {', '.join(extra)}")
    if "verificationMaterial" not in doc:
        raise BundleError("verificationMaterial is missing")
    material = _material(doc["verificationMaterial"])
    if "dsseEnvelope" not in doc:
        raise BundleError("dsseEnvelope is missing")
    payload, ptype, sigs = _envelope(doc["dsseEnvelope"])
    return Bundle(str(media), material, payload, ptype, sigs, doc)


def b64decode(value: Any, where: str) -> bytes:
    """Decode standard (or URL-safe) base64, refusing anything else.

    Raises:
        BundleError: not a non-empty base64 string.
    """
    if not isinstance(value, str) or not value:
        raise BundleError(f"{where} is missing or not a non-empty string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        pass
    if _URLSAFE.fullmatch(value):
        try:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            pass
    raise BundleError(f"{where} is not base64")


def _material(vm: Any) -> Material:
    if not isinstance(vm, dict):
        raise BundleError("verificationMaterial is not an object")
    present = [k for k in _MATERIALS if k in vm]
    if len(present) != 1:
        raise BundleError("verificationMaterial must hold exactly one of publicKey, "
                          f"x509CertificateChain or certificate (found {present or 'none'})")
    tlog = vm.get("tlogEntries", [])
    if not isinstance(tlog, list) or not all(isinstance(e, dict) for e in tlog):
        raise BundleError("verificationMaterial.tlogEntries is not a list of objects")
    tsv = vm.get("timestampVerificationData", {})
    if not isinstance(tsv, dict):
        raise BundleError("verificationMaterial.timestampVerificationData is not an object")
    kind = present[0]
    if kind == "publicKey":
        pk = vm["publicKey"]
        if not isinstance(pk, dict):
            raise BundleError("verificationMaterial.publicKey is not an object")
        hint, raw = pk.get("hint"), pk.get("rawBytes")
        if hint is None and raw is None:
            raise BundleError("publicKey has neither hint nor rawBytes")
        if hint is not None and not isinstance(hint, str):
            raise BundleError("publicKey.hint is not a string")
        key_raw = b64decode(raw, "publicKey.rawBytes") if raw is not None else None
        return Material("key", key_hint=hint or None, key_raw=key_raw, tlog_entries=len(tlog))
    if kind == "x509CertificateChain":
        chain = vm["x509CertificateChain"]
        certs = chain.get("certificates") if isinstance(chain, dict) else None
        if not isinstance(certs, list) or not certs:
            raise BundleError("x509CertificateChain.certificates is missing or empty")
        ders = tuple(_cert(c, f"x509CertificateChain.certificates[{i}]")
                     for i, c in enumerate(certs))
        return Material("certificate", certificates=ders, tlog_entries=len(tlog))
    if not tlog:
        raise BundleError("sigstore bundle (certificate) without tlogEntries: a keyless "
                          "signature must carry at least one transparency log entry")
    return Material("sigstore", certificates=(_cert(vm["certificate"], "certificate"),),
                    tlog_entries=len(tlog))


def _cert(c: Any, where: str) -> bytes:
    if not isinstance(c, dict):
        raise BundleError(f"{where} is not an object")
    return b64decode(c.get("rawBytes"), f"{where}.rawBytes")


def _envelope(env: Any) -> tuple[bytes, str, tuple[bytes, ...]]:
    if not isinstance(env, dict):
        raise BundleError("dsseEnvelope is not an object")
    extra = sorted(set(env) - {"payload", "payloadType", "signatures"})
    if extra:
        raise BundleError(f"unexpected dsseEnvelope fields: {', '.join(extra)}")
    payload = b64decode(env.get("payload"), "dsseEnvelope.payload")
    ptype = env.get("payloadType")
    if ptype != PAYLOAD_TYPE:
        raise BundleError(f"dsseEnvelope.payloadType is {ptype!r}, expected {PAYLOAD_TYPE!r}")
    sigs = env.get("signatures")
    if not isinstance(sigs, list) or not sigs:
        raise BundleError("dsseEnvelope.signatures is missing or empty")
    out: list[bytes] = []
    for i, s in enumerate(sigs):
        if not isinstance(s, dict):
            raise BundleError(f"dsseEnvelope.signatures[{i}] is not an object")
        bad = sorted(set(s) - {"sig", "keyid"})
        if bad:
            raise BundleError(f"dsseEnvelope.signatures[{i}] has unexpected fields "
                              f"{', '.join(bad)}")
        keyid = s.get("keyid")
        if keyid is not None and not isinstance(keyid, str):
            raise BundleError(f"dsseEnvelope.signatures[{i}].keyid is not a string or null")
        out.append(b64decode(s.get("sig"), f"dsseEnvelope.signatures[{i}].sig"))
    return payload, str(ptype), tuple(out)


def decode_payload(bundle: Bundle) -> Any:
    """The DSSE payload as JSON.

    Raises:
        BundleError: the payload is not UTF-8 JSON.
    """
    try:
        return json.loads(bundle.payload)
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"the DSSE payload is not JSON ({exc})") from None


def encode_payload(statement: dict[str, Any]) -> bytes:
    """Serialize a statement deterministically (compact, UTF-8)."""
    return json.dumps(statement, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def key_material(hint: str) -> dict[str, Any]:
    """``verificationMaterial`` for the key method (OMS §4.1: ``hint`` is required)."""
    return {"publicKey": {"hint": hint}}


def chain_material(ders: list[bytes]) -> dict[str, Any]:
    """``verificationMaterial`` for the certificate method: the leaf, then the chain."""
    return {"x509CertificateChain": {"certificates": [
        {"rawBytes": base64.b64encode(d).decode("ascii")} for d in ders]}}


def make_bundle(material: dict[str, Any], payload: bytes, signature: bytes) -> dict[str, Any]:
    """Assemble a Sigstore bundle v0.3 around a DSSE envelope."""
    return {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": material,
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode("ascii"),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(signature).decode("ascii"), "keyid": ""}],
        },
    }


def dump(bundle: dict[str, Any]) -> bytes:
    """The bundle as written to disk: indented JSON with a final newline."""
    return (json.dumps(bundle, indent=2) + "\n").encode("utf-8")
