"""Validation of SPDX 3.0.1 JSON-LD BOMs for tests, with the official Python bindings.

There is no offline JSON schema for SPDX 3, so validity is checked the way the bindings
define it: the document must deserialize (known classes and properties, enumerations,
datatypes and patterns are checked on every assignment), every reference must resolve, and
re-encoding it (which enforces minimum and maximum counts) must give back the same data.
On top: one SpdxDocument listing every element, unique ids, and the restrictions of the AI
and Dataset profiles whenever the document claims them.
"""

from __future__ import annotations

import json
from collections import Counter

from spdx_python_model import v3_0_1 as spdx

CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"

# SPDX 3.0.1 AIPackage / DatasetPackage "external properties" cardinality updates.
_PROFILE_REQUIRED: dict[str, tuple[type[spdx.software_Package], tuple[str, ...]]] = {
    "ai": (spdx.ai_AIPackage, ("releaseTime", "suppliedBy", "software_downloadLocation",
                               "software_packageVersion", "software_primaryPurpose")),
    "dataset": (spdx.dataset_DatasetPackage, (
        "builtTime", "originatedBy", "releaseTime", "software_downloadLocation",
        "software_primaryPurpose", "dataset_datasetType")),
}


def load_spdx(text: str) -> spdx.SHACLObjectSet:
    """Deserialize ``text`` with the bindings (raises on unknown classes or bad values)."""
    objects = spdx.SHACLObjectSet()
    spdx.JSONLDDeserializer().deserialize_data(json.loads(text), objects)
    return objects


def assert_valid_spdx(text: str) -> None:
    """Fail with a reason unless ``text`` is a valid, self-contained SPDX 3.0.1 document."""
    text.encode("utf-8")  # no lone surrogates
    data = json.loads(text)
    assert data.get("@context") == CONTEXT, f"not SPDX 3.0.1 JSON-LD: {data.get('@context')}"
    graph = data.get("@graph")
    assert isinstance(graph, list) and graph, "no @graph"
    ids = Counter(node.get("spdxId") or node.get("@id") for node in graph)
    dupes = [i for i, n in ids.items() if i and n > 1]
    assert not dupes, f"duplicate ids: {dupes}"

    try:
        objects = load_spdx(text)
    except (KeyError, TypeError, ValueError) as exc:
        raise AssertionError(f"invalid SPDX 3.0.1: {exc}") from exc
    unknown = [o.get_type() for o in objects.foreach()
               if type(o) is spdx.SHACLExtensibleObject]
    assert not unknown, f"unknown classes: {unknown}"
    assert not objects.missing_ids, f"unresolved references: {sorted(objects.missing_ids)}"
    try:
        again = spdx.JSONLDSerializer().serialize_data(objects, force_at_graph=True)
    except ValueError as exc:  # a required property missing, or too many values
        raise AssertionError(f"invalid SPDX 3.0.1: {exc}") from exc
    assert again == data, "re-encoding the deserialized document changed it"
    _check_document(objects)


def _check_document(objects: spdx.SHACLObjectSet) -> None:
    docs = list(objects.foreach_type(spdx.SpdxDocument))
    assert len(docs) == 1, f"{len(docs)} SpdxDocuments"
    doc = docs[0]
    assert doc.rootElement, "no rootElement"
    assert not any(isinstance(e, spdx.SpdxDocument) for e in doc.rootElement)
    licence = doc.dataLicense
    assert isinstance(licence, spdx.simplelicensing_LicenseExpression)
    assert licence.simplelicensing_licenseExpression == "CC0-1.0"
    elements = [o for o in objects.foreach_type(spdx.Element) if o is not doc]
    listed = {e.spdxId for e in doc.element if isinstance(e, spdx.Element)}
    unlisted = sorted(str(e.spdxId) for e in elements if e.spdxId not in listed)
    assert not unlisted, f"elements not in the document's element list: {unlisted}"
    for element in [doc, *elements]:
        info = element.creationInfo
        assert isinstance(info, spdx.CreationInfo) and info.specVersion == "3.0.1"
    for profile in doc.profileConformance:
        _check_profile(objects, profile.rsplit("/", 1)[-1])


def _check_profile(objects: spdx.SHACLObjectSet, profile: str) -> None:
    """A claimed AI or Dataset profile: every package of it has the required properties."""
    if profile not in _PROFILE_REQUIRED:
        return
    cls, required = _PROFILE_REQUIRED[profile]
    packages = list(objects.foreach_type(cls, match_subclass=False))
    for package in packages:
        missing = [p for p in required if not getattr(package, p)]
        assert not missing, f"{profile} claimed but {package.spdxId} lacks {missing}"
    if profile == "ai":
        kinds = (spdx.RelationshipType.hasDeclaredLicense,
                 spdx.RelationshipType.hasConcludedLicense)
        rels = Counter((_ref(r.from_), r.relationshipType)
                       for r in objects.foreach_type(spdx.Relationship))
        for package in packages:
            for kind in kinds:
                assert rels[(package.spdxId, kind)] == 1, f"ai: {package.spdxId} {kind}"


def _ref(value: object) -> object:
    return value.spdxId if isinstance(value, spdx.Element) else value
