"""Bundle, envelope and statement: the spec's test vectors, schemas, PAE and strict parsing."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from referencing import Registry, Resource

from _integrity.pki import OMS, write_key, write_model
from modeltrust._integrity import methods, oms
from modeltrust._integrity.errors import BundleError, ManifestError
from modeltrust._integrity.manifest import parse_statement, root_digest
from modeltrust._integrity.signing import sign_model

SCHEMAS = OMS / "schemas" / "v1.0"
VECTORS = OMS / "test-vectors" / "v1.0"


@pytest.fixture(scope="module")
def vectors(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("vectors")
    shutil.copytree(VECTORS, dst / "v1.0")
    return dst / "v1.0"


def _validator(name: str) -> jsonschema.protocols.Validator:
    resources = []
    for p in sorted(SCHEMAS.glob("*.json")):
        doc = json.loads(p.read_text())
        resources.append((doc["$id"], Resource.from_contents(doc)))
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / name).read_text())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate_all(bundle: dict[str, Any]) -> None:
    """Conformance: the bundle and its decoded statement against all four schemas."""
    _validator("bundle.schema.json").validate(bundle)
    _validator("envelope.schema.json").validate(bundle["dsseEnvelope"])
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    _validator("statement.schema.json").validate(statement)
    _validator("predicate.schema.json").validate(statement["predicate"])


def test_pae_matches_the_dsse_spec_example() -> None:
    assert oms.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world")


@pytest.mark.parametrize(("name", "method"), [
    ("key.bundle.json", "key"), ("certificate.bundle.json", "certificate"),
    ("sigstore.bundle.json", "sigstore")])
def test_valid_vectors_parse(vectors: Path, name: str, method: str) -> None:
    bundle = oms.read_bundle(vectors / "valid" / name)
    assert bundle.material.method == method
    manifest = parse_statement(oms.decode_payload(bundle))
    assert [r.name for r in manifest.resources] == ["signme-1", "signme-2"]
    subject = oms.decode_payload(bundle)["subject"][0]["digest"]["sha256"]
    assert manifest.root_digest() == subject
    validate_all(bundle.raw)


def test_certificate_vector_signature_is_consistent_with_its_leaf(vectors: Path) -> None:
    from modeltrust._integrity import keys

    bundle = oms.read_bundle(vectors / "valid" / "certificate.bundle.json")
    leaf = keys.der_certificate(bundle.material.certificates[0], "leaf")
    assert keys.verify(leaf.public_key(), bundle.signatures[0],  # type: ignore[arg-type]
                       oms.pae(bundle.payload_type, bundle.payload))


@pytest.mark.parametrize(("name", "reason"), [
    ("empty.bundle.json", "the signature file is empty"),
    ("missing-envelope.bundle.json", "dsseEnvelope is missing"),
    ("missing-tlog-entries.bundle.json", "without tlogEntries"),
    ("missing-verification-material.bundle.json", "verificationMaterial is missing"),
])
def test_invalid_vectors_are_rejected_with_the_reason(vectors: Path, name: str,
                                                      reason: str) -> None:
    with pytest.raises(BundleError, match=reason):
        oms.read_bundle(vectors / "invalid" / name)


def test_invalid_payload_vector_is_rejected_with_the_reason(vectors: Path) -> None:
    bundle = oms.read_bundle(vectors / "invalid-payload" / "wrong-predicate.bundle.json")
    with pytest.raises(ManifestError, match="unknown predicate type "
                       "'https://example.com/wrong-predicate/v1.0'"):
        parse_statement(oms.decode_payload(bundle))


def test_vectors_root_digests_are_consistent() -> None:
    # The spec's test vectors are self-consistent (Appendix A's example is not).
    assert root_digest(["bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc",
                        "32dcb1f8e1ae52d5963e56a6ba06ab58b424c15ed2a6b70d2feca1d089370028"]
                       ) == "92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4"


@pytest.mark.parametrize("hash_type", ["sha256", "blake2b", "blake3"])
@pytest.mark.parametrize("method", ["files", "shards"])
def test_our_bundles_validate_against_all_schemas(tmp_path: Path, hash_type: str,
                                                  method: str) -> None:
    model = write_model(tmp_path / "m")
    kp = write_key(tmp_path / "k")
    res = sign_model(model, methods.Signer(kp.private), hash_type=hash_type, method=method,
                     shard_size=100)
    bundle = json.loads(res.signature.read_text())
    validate_all(bundle)
    assert bundle["verificationMaterial"] == {"publicKey": {"hint": bundle[
        "verificationMaterial"]["publicKey"]["hint"]}}
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    names = [r["name"] for r in statement["predicate"]["resources"]]
    assert names == sorted(names)  # code-point order, never model_signing's
    assert all(r["algorithm"] == hash_type for r in statement["predicate"]["resources"])
    assert statement["subject"][0]["name"] == "m"


def test_certificate_bundles_validate(tmp_path: Path) -> None:
    from _integrity.pki import write_pki

    pki = write_pki(tmp_path / "pki")
    model = write_model(tmp_path / "m", tensors=False)
    res = sign_model(model, methods.Signer(pki.leaf_key, cert=pki.leaf_cert,
                                           chain=(pki.chain,)))
    bundle = json.loads(res.signature.read_text())
    validate_all(bundle)
    assert len(bundle["verificationMaterial"]["x509CertificateChain"]["certificates"]) == 2


# ------------------------------------------------------------------------ strict parsing
def _good(tmp_path: Path) -> dict[str, Any]:
    model = write_model(tmp_path / "m", tensors=False)
    res = sign_model(model, methods.Signer(write_key(tmp_path / "k").private),
                     method="shards", shard_size=4)
    bundle = json.loads(res.signature.read_text())
    return dict(json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"])))


def _fix_root(st_: dict[str, Any]) -> dict[str, Any]:
    with contextlib.suppress(ValueError):  # a non-hex digest: the parser must say so
        st_["subject"][0]["digest"]["sha256"] = root_digest(
            r["digest"] for r in st_["predicate"]["resources"])
    return st_


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda s: s.update(_type="x"), "statement _type"),
    (lambda s: s.update(predicateType="https://model_signing/Digests/v0.1"), "deprecated"),
    (lambda s: s.update(subject=[]), "exactly one subject"),
    (lambda s: s["predicate"].update(resources=[]), "manifest is empty"),
    (lambda s: s["predicate"]["serialization"].update(hash_type="md5"), "not a known hash"),
    (lambda s: s["predicate"]["serialization"].update(method="tensors"), "method 'tensors'"),
    (lambda s: s["predicate"]["serialization"].pop("shard_size"), "positive integer"),
    (lambda s: s["predicate"]["serialization"].update(allow_symlinks="no"), "boolean"),
    (lambda s: s["predicate"]["serialization"].update(ignore_paths=["../x"]), "escapes"),
    (lambda s: s["predicate"]["serialization"].update(extra=1), "unknown serialization"),
    (lambda s: s["predicate"]["resources"][0].update(name="../etc/passwd:0:4"),
     "canonical relative path"),
    (lambda s: s["predicate"]["resources"][0].update(name="/abs:0:4"), "canonical"),
    (lambda s: s["predicate"]["resources"][0].update(name="config.json"), "does not end"),
    (lambda s: s["predicate"]["resources"][0].update(algorithm="sha512"), "uses algorithm"),
    (lambda s: s["predicate"]["resources"][0].update(digest="ABC"), "lowercase"),
    (lambda s: s["predicate"]["resources"].append(s["predicate"]["resources"][0]),
     "listed twice"),
    (lambda s: s["predicate"]["resources"].reverse(), "not sorted"),
])
def test_statement_rejections_are_precise(tmp_path: Path, mutate: Any, reason: str) -> None:
    st_ = _good(tmp_path)
    mutate(st_)
    _fix_root(st_) if st_.get("subject") else None
    with pytest.raises(ManifestError, match=reason):
        parse_statement(st_)


def test_root_digest_mismatch_is_rejected(tmp_path: Path) -> None:
    st_ = _good(tmp_path)
    st_["subject"][0]["digest"]["sha256"] = "0" * 64
    with pytest.raises(ManifestError, match="root digest mismatch"):
        parse_statement(st_)


def test_model_signing_deviations_are_accepted_as_notes(tmp_path: Path) -> None:
    st_ = _good(tmp_path)
    ser = st_["predicate"]["serialization"]
    ser["shard_size"] = 4.0
    for r in st_["predicate"]["resources"]:
        r["algorithm"] = "sha256-sharded-4"
    st_["predicate"]["resources"].sort(key=lambda r: (r["name"].rsplit(":", 2)[0].split("/"),
                                                     int(r["name"].rsplit(":", 2)[1])))
    manifest = parse_statement(_fix_root(st_))
    joined = " | ".join(manifest.notes)
    assert "sha256-sharded-4" in joined and "float" in joined and "path components" in joined
    assert manifest.serialization.shard_size == 4


def test_blake2_spelling_is_accepted_as_a_note(tmp_path: Path) -> None:
    st_ = _good(tmp_path)
    st_["predicate"]["serialization"]["hash_type"] = "blake2"
    for r in st_["predicate"]["resources"]:
        r["algorithm"], r["digest"] = "blake2", "ab" * 64
    manifest = parse_statement(_fix_root(st_))
    assert manifest.serialization.hash_type == "blake2b"
    assert any("'blake2'" in n for n in manifest.notes)


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda b: b.update(mediaType="application/json"), "mediaType"),
    (lambda b: b.update(messageSignature={}), "messageSignature"),
    (lambda b: b.update(extra=1), "unexpected top-level"),
    (lambda b: b["verificationMaterial"].update(certificate={"rawBytes": "AA=="}),
     "exactly one of"),
    (lambda b: b["verificationMaterial"]["publicKey"].pop("hint"), "neither hint"),
    (lambda b: b["dsseEnvelope"].update(payloadType="text/plain"), "payloadType"),
    (lambda b: b["dsseEnvelope"].update(signatures=[]), "signatures is missing or empty"),
    (lambda b: b["dsseEnvelope"]["signatures"][0].update(sig="%%%"), "not base64"),
    (lambda b: b["dsseEnvelope"]["signatures"][0].update(keyid=5), "keyid"),
    (lambda b: b["dsseEnvelope"].update(payload=""), "payload is missing"),
])
def test_bundle_rejections_are_precise(vectors: Path, mutate: Any, reason: str) -> None:
    doc = json.loads((vectors / "valid" / "key.bundle.json").read_text())
    mutate(doc)
    with pytest.raises(BundleError, match=reason):
        oms.parse_bundle(json.dumps(doc).encode())


def test_keyid_absent_empty_or_null_are_all_accepted(vectors: Path) -> None:
    doc = json.loads((vectors / "valid" / "key.bundle.json").read_text())
    for keyid in ("", None, "absent"):
        d = copy.deepcopy(doc)
        if keyid == "absent":
            d["dsseEnvelope"]["signatures"][0].pop("keyid")
        else:
            d["dsseEnvelope"]["signatures"][0]["keyid"] = keyid
        assert oms.parse_bundle(json.dumps(d).encode()).signatures


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_bundles_never_crash(data: st.DataObject) -> None:
    raw = bytearray((VECTORS / "valid" / "key.bundle.json").read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    try:
        bundle = oms.parse_bundle(bytes(raw))
        parse_statement(oms.decode_payload(bundle))
    except (BundleError, ManifestError):
        pass


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(
                        st.sampled_from(["_type", "subject", "predicate", "predicateType",
                                         "resources", "serialization", "name", "digest"]),
                        c, max_size=5), max_leaves=20))
def test_arbitrary_statements_never_crash(obj: Any) -> None:
    with pytest.raises(ManifestError):
        parse_statement(obj)
