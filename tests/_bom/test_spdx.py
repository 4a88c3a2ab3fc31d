from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.bom_evidence import SHA_A, SHA_D, rich, sparse
from helpers.bom_validate_spdx import assert_valid_spdx
from modeltrust._bom.evidence import AncestorFact, DatasetFact, Evidence, FileFact, LicenceFact
from modeltrust._bom.spdx import ID_ROOT, dumps, render
from modeltrust.findings import Finding, Location, Severity

Node = dict[str, Any]
NS = ID_ROOT + "e" * 64 + "#"
NOASSERTION = "expandedlicensing_NoAssertionLicense"


def graph(ev: Evidence) -> list[Node]:
    text = dumps(ev)
    assert_valid_spdx(text)
    return json.loads(text)["@graph"]  # type: ignore[no-any-return]


def of_type(nodes: list[Node], typ: str) -> list[Node]:
    return [n for n in nodes if n["type"] == typ]


def by_id(nodes: list[Node]) -> dict[str, Node]:
    return {n.get("spdxId", n.get("@id")): n for n in nodes}


def named(nodes: list[Node], typ: str, name: str) -> Node:
    [node] = [n for n in of_type(nodes, typ) if n.get("name") == name]
    return node


def rels(nodes: list[Node], kind: str) -> dict[str, list[str]]:
    """``from`` -> ``to`` of every relationship of one type."""
    return {r["from"]: r["to"] for r in of_type(nodes, "Relationship")
            if r["relationshipType"] == kind}


def licence_of(nodes: list[Node], iri: str) -> str:
    return by_id(nodes)[iri]["simplelicensing_licenseExpression"]  # type: ignore[no-any-return]


# --- validity and determinism ---------------------------------------------------------


@pytest.mark.parametrize("make", [rich, sparse])
def test_valid(make) -> None:
    text = dumps(make())
    assert_valid_spdx(text)
    assert text.endswith("}\n")


def test_byte_identical_and_order_independent() -> None:
    ev = rich()
    shuffled = dataclasses.replace(
        ev, files=ev.files[::-1], licences=ev.licences[::-1], datasets=ev.datasets[::-1],
        ancestors=ev.ancestors[::-1], findings=ev.findings[::-1], metrics=ev.metrics[::-1],
        tags=ev.tags[::-1], unknowns=ev.unknowns[::-1])
    assert dumps(ev) == dumps(rich()) == dumps(shuffled)
    assert json.loads(dumps(ev)) == render(ev)


def test_ids_derive_from_the_root_digest() -> None:
    nodes = graph(rich())
    ids = [n["spdxId"] for n in nodes if "spdxId" in n]
    assert all(i.startswith(NS) for i in ids)
    assert {NS + "document", NS + "model", NS + "file-model.safetensors"} <= set(ids)
    other = graph(dataclasses.replace(rich(), root_digest="sha256:" + "1" * 64))
    assert ID_ROOT + "1" * 64 + "#model" in by_id(other)


def test_creation_info_and_document() -> None:
    nodes = graph(rich())
    [info] = of_type(nodes, "CreationInfo")
    assert (info["specVersion"], info["created"]) == ("3.0.1", "2024-01-02T03:04:05Z")
    index = by_id(nodes)
    assert [index[a]["type"] for a in info["createdBy"]] == ["SoftwareAgent"]
    assert [index[t]["name"] for t in info["createdUsing"]] == ["modeltrust 0.1.0"]
    [doc] = of_type(nodes, "SpdxDocument")
    assert doc["name"] == "modeltrust BOM for acme/tiny-llama-chat"
    assert doc["rootElement"] == [NS + "model"]
    assert licence_of(nodes, doc["dataLicense"]) == "CC0-1.0"
    # a timestamp that is not ISO 8601 still gives a valid document that says so
    [odd] = of_type(graph(dataclasses.replace(sparse(), timestamp="yesterday")),
                    "CreationInfo")
    assert odd["created"] == "1970-01-01T00:00:00Z" and "yesterday" in odd["comment"]


# --- the model, its files and licences --------------------------------------------------


def test_model_package() -> None:
    nodes = graph(rich())
    model = by_id(nodes)[NS + "model"]
    assert model["type"] == "ai_AIPackage"
    assert model["software_packageVersion"] == rich().revision
    assert model["software_packageUrl"] == rich().purl
    assert model["software_downloadLocation"] == "https://huggingface.co/acme/tiny-llama-chat"
    assert model["software_primaryPurpose"] == "model"
    assert model["ai_typeOfModel"] == ["llama", "LlamaForCausalLM"]
    assert model["ai_domain"] == ["text-generation", "chat", "llama"]
    assert "10k dialogues" in model["ai_informationAboutTraining"]
    assert "chat assistants" in model["ai_informationAboutApplication"]
    assert "wrong facts" in model["ai_limitation"] and "biases" in model["ai_limitation"]
    assert model["ai_autonomyType"] == "noAssertion"
    assert "ai_safetyRiskAssessment" not in model  # a scan is not an AI risk assessment
    assert by_id(nodes)[model["suppliedBy"]] == {
        "type": "Agent", "spdxId": NS + "publisher", "name": "Acme AI",
        "creationInfo": "_:CreationInfo0"}
    [root] = model["verifiedUsing"]
    assert (root["algorithm"], root["hashValue"]) == ("other", "e" * 64)
    assert "OMS" in root["comment"]
    assert "revision date: not recorded" in model["comment"]


def test_every_file_with_its_hash_and_contains() -> None:
    ev = rich()
    nodes = graph(ev)
    for fact in ev.files:
        node = named(nodes, "software_File", fact.path)
        assert node["verifiedUsing"] == [
            {"type": "Hash", "algorithm": "sha256", "hashValue": fact.sha256}]
    contained = {by_id(nodes)[i]["name"] for i in rels(nodes, "contains")[NS + "model"]}
    assert contained == {f.path for f in ev.model_files}
    assert "model.sig" not in contained
    assert named(nodes, "software_File", "model.safetensors")["software_primaryPurpose"] == (
        "model")
    assert named(nodes, "software_File", "README.md")["software_primaryPurpose"] == (
        "documentation")
    assert rels(nodes, "hasDocumentation") == {NS + "model": [NS + "file-README.md"]}
    assert "not covered" in named(nodes, "software_File", ".gitattributes")["comment"]


def test_licences_declared_and_concluded() -> None:
    nodes = graph(rich())
    [declared] = rels(nodes, "hasDeclaredLicense")[NS + "model"]
    [concluded] = rels(nodes, "hasConcludedLicense")[NS + "model"]
    assert licence_of(nodes, declared) == "LicenseRef-llama-3.1-community"
    assert licence_of(nodes, concluded) == "Apache-2.0"
    assert by_id(nodes)[declared]["simplelicensing_customIdToUri"] == [{
        "type": "DictionaryEntry", "key": "LicenseRef-llama-3.1-community",
        "value": "https://huggingface.co/meta-llama/Llama-3.1-8B/blob/main/LICENSE"}]
    assert "concluded (file:code/LICENSE)" in by_id(nodes)[concluded]["comment"]
    expressions = {n["simplelicensing_licenseExpression"]
                   for n in of_type(nodes, "simplelicensing_LicenseExpression")}
    assert expressions == {"LicenseRef-llama-3.1-community", "Apache-2.0", "MIT", "CC0-1.0"}


def test_name_only_and_malformed_licences_become_licence_refs() -> None:
    ev = dataclasses.replace(sparse(), licences=(
        LicenceFact(None, "Acme Research Licence v2", "card", "https://acme.example/l"),
        LicenceFact("MIT OR (", None, "gguf"),
        LicenceFact(None, None, "card", "https://acme.example/other"),
    ))
    nodes = graph(ev)
    targets = rels(nodes, "hasDeclaredLicense")[NS.replace("e" * 64, "f" * 64) + "model"]
    exprs = sorted(licence_of(nodes, t) for t in targets)
    assert exprs[0] == "LicenseRef-Acme-Research-Licence-v2"
    assert exprs[1] == "LicenseRef-MIT-OR"
    assert exprs[2].startswith("LicenseRef-unnamed-")
    by_expr = {n["simplelicensing_licenseExpression"]: n
               for n in of_type(nodes, "simplelicensing_LicenseExpression")}
    assert by_expr[exprs[0]]["simplelicensing_customIdToUri"][0]["value"] == (
        "https://acme.example/l")
    assert "Acme Research Licence v2" in by_expr[exprs[0]]["comment"]


def test_sparse_states_what_is_unknown() -> None:
    ev = sparse()
    nodes = graph(ev)
    model = by_id(nodes)[ID_ROOT + "f" * 64 + "#model"]
    for kind in ("hasDeclaredLicense", "hasConcludedLicense"):
        assert rels(nodes, kind) == {model["spdxId"]: [NOASSERTION]}
    statements = {a["statement"] for a in of_type(nodes, "Annotation")
                  if a["annotationType"] == "other" and a["subject"] == model["spdxId"]}
    for unknown in ev.unknowns:
        assert f"unknown: {unknown}" in model["comment"]
        assert f"Unknown: {unknown}" in statements
    assert {"software_packageVersion", "suppliedBy", "description"}.isdisjoint(model)


def test_profiles_claimed_only_when_their_restrictions_hold() -> None:
    for ev in (rich(), sparse()):
        [doc] = of_type(graph(ev), "SpdxDocument")
        assert doc["profileConformance"] == ["core", "software", "simpleLicensing"]
        assert "Profile 'ai' not claimed: releaseTime" in doc["comment"]
    data = json.loads(dumps(rich()))
    [doc] = of_type(data["@graph"], "SpdxDocument")
    doc["profileConformance"].append("ai")
    with pytest.raises(AssertionError, match="ai claimed"):
        assert_valid_spdx(json.dumps(data))


def test_ai_profile_claimed_when_the_card_states_everything_it_needs() -> None:
    ev = dataclasses.replace(rich(), ancestors=(), release_time="2024-07-23T00:00:00Z")
    assert_valid_spdx(dumps(ev))
    [doc] = of_type(graph(ev), "SpdxDocument")
    assert "ai" in doc["profileConformance"]
    [model] = [n for n in of_type(graph(ev), "ai_AIPackage")]
    assert model["releaseTime"] == "2024-07-23T00:00:00Z"


# --- lineage ----------------------------------------------------------------------------


def test_datasets_trained_and_tested_on() -> None:
    nodes = graph(rich())
    index = by_id(nodes)
    trained = {index[i]["name"] for i in rels(nodes, "trainedOn")[NS + "model"]}
    tested = {index[i]["name"] for i in rels(nodes, "testedOn")[NS + "model"]}
    assert trained == {"HuggingFaceH4/ultrachat_200k", "private-dialogues"}
    assert tested == {"cais/mmlu"}
    ultra = named(nodes, "dataset_DatasetPackage", "HuggingFaceH4/ultrachat_200k")
    assert ultra["dataset_datasetType"] == ["noAssertion"]
    assert ultra["dataset_datasetAvailability"] == "directDownload"
    assert "role: train" in ultra["comment"] and "README.md" in ultra["comment"]
    [lic] = rels(nodes, "hasDeclaredLicense")[ultra["spdxId"]]
    assert licence_of(nodes, lic) == "MIT"
    private = named(nodes, "dataset_DatasetPackage", "private-dialogues")
    assert "software_downloadLocation" not in private
    assert "dataset_datasetAvailability" not in private
    assert rels(nodes, "hasDeclaredLicense")[private["spdxId"]] == [NOASSERTION]
    gated = graph(dataclasses.replace(sparse(), datasets=(DatasetFact("a/b", "train",
                                                                      gated=True),)))
    assert of_type(gated, "dataset_DatasetPackage")[0]["dataset_datasetAvailability"] == (
        "clickthrough")


def test_ancestor_of_points_from_base_to_model() -> None:
    nodes = graph(rich())
    base = named(nodes, "ai_AIPackage", "meta-llama/Llama-3.1-8B")
    assert base["software_packageUrl"] == "pkg:huggingface/meta-llama/Llama-3.1-8B"
    assert base["software_downloadLocation"] == "https://huggingface.co/meta-llama/Llama-3.1-8B"
    [rel] = [r for r in of_type(nodes, "Relationship") if r["relationshipType"] == "ancestorOf"]
    assert (rel["from"], rel["to"]) == (base["spdxId"], [NS + "model"])
    assert "finetune" in rel["comment"]
    [lic] = rels(nodes, "hasDeclaredLicense")[base["spdxId"]]
    assert licence_of(nodes, lic) == "LicenseRef-llama-3.1-community"


def test_metrics() -> None:
    model = by_id(graph(rich()))[NS + "model"]
    metrics = {m["key"]: m["value"] for m in model["ai_metric"]}
    assert metrics == {
        "accuracy [MMLU (5-shot); text-generation; cais/mmlu; test]": "0.61", "f1": "0.7"}


# --- findings and signatures ------------------------------------------------------------


def test_findings_are_review_annotations_on_their_files() -> None:
    ev = dataclasses.replace(rich(), findings=(
        *rich().findings,
        Finding("MT-ZIP-002", Severity.HIGH, "Member", "training_args.bin!data.pkl", "x"),
        Finding("MT-GONE-001", Severity.INFO, "Elsewhere", "missing.bin", "y",
                Location(line=2)),
    ))
    nodes = graph(ev)
    reviews = {a["statement"].split()[0]: a for a in of_type(nodes, "Annotation")
               if a["annotationType"] == "review" and a["statement"].startswith("MT-")}
    assert set(reviews) == {f.rule_id for f in ev.findings}
    pickle = reviews["MT-PKL-001"]
    assert pickle["subject"] == NS + "file-training_args.bin"
    assert pickle["statement"] == ("MT-PKL-001 critical: Pickle calls a dangerous function — "
                                   "os.system reached via STACK_GLOBAL "
                                   "(training_args.bin, offset 0x3f)")
    assert reviews["MT-ZIP-002"]["subject"] == NS + "file-training_args.bin"
    assert reviews["MT-REPO-001"]["subject"] == NS + "model"
    assert reviews["MT-GONE-001"]["subject"] == NS + "model"
    assert "(missing.bin, line 2)" in reviews["MT-GONE-001"]["statement"]


def test_signature_is_evidence_with_its_check() -> None:
    nodes = graph(rich())
    sig = named(nodes, "software_File", "model.sig")
    assert sig["verifiedUsing"][0]["hashValue"] == SHA_D
    assert rels(nodes, "hasEvidence") == {NS + "model": [sig["spdxId"]]}
    [note] = [a for a in of_type(nodes, "Annotation") if a["subject"] == sig["spdxId"]]
    assert note["statement"].startswith("signature intact")
    assert "key:sha256:1234" in note["statement"] and "matches" in note["statement"]


def test_validator_rejects_broken_documents() -> None:
    good = json.loads(dumps(sparse()))

    def broken(change: Any) -> str:
        data = json.loads(json.dumps(good))
        change(data["@graph"])
        return json.dumps(data)

    cases = [
        lambda g: g.remove(of_type(g, "Tool")[0]),  # a dangling reference
        lambda g: of_type(g, "CreationInfo")[0].pop("specVersion"),  # required property
        lambda g: of_type(g, "software_File")[0].update(size=10),  # unknown property
        lambda g: of_type(g, "Relationship")[0].update(relationshipType="owns"),  # bad enum
    ]
    for change in cases:
        with pytest.raises(AssertionError):
            assert_valid_spdx(broken(change))


# --- robustness -------------------------------------------------------------------------

anything = st.text(max_size=30)  # lone surrogates and control characters included


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(desc=anything, name=anything, path=anything, unknown=anything, url=anything)
def test_odd_text_stays_valid(desc: str, name: str, path: str, unknown: str,
                              url: str) -> None:
    ev = dataclasses.replace(
        sparse(), name=name or "m", description=desc or None, unknowns=(unknown, desc),
        files=(FileFact(path or "f", 1, SHA_A, "raw", "weights"),),
        licences=(LicenceFact(None, name or None, "card", url or None),),
        datasets=(DatasetFact(name or "d", "train", url=url or None),),
        findings=(Finding("MT-X-1", Severity.LOW, desc or "t", path, unknown),),
        assessment_findings=(Finding("MT-LIN-001", Severity.HIGH, unknown or "t", path, desc,
                                     Location(line=1, detail=unknown)),),
        ancestors=(AncestorFact(name or "b", unknown or None, url or "card",
                                relation_source=desc, sources=(url, unknown)),),
    )
    text = dumps(ev)
    text.encode("utf-8")
    assert_valid_spdx(text)
    assert dumps(ev) == text


def test_upstream_dataset_is_an_ancestor_of_the_declared_one() -> None:
    ev = rich()
    ev = dataclasses.replace(ev, datasets=(*ev.datasets, DatasetFact(
        "stingning/ultrachat", "source", "CC-BY-NC-4.0")))
    assert_valid_spdx(dumps(ev))
    nodes = graph(ev)
    upstream = named(nodes, "dataset_DatasetPackage", "stingning/ultrachat")
    ultra = named(nodes, "dataset_DatasetPackage", "HuggingFaceH4/ultrachat_200k")
    assert rels(nodes, "descendantOf")[ultra["spdxId"]] == [upstream["spdxId"]]
    trained = rels(nodes, "trainedOn")[NS + "model"]
    assert upstream["spdxId"] not in trained and ultra["spdxId"] in trained
    assert "role: source" in upstream["comment"]


# --- openness findings, relation provenance, dataset locations ------------------------


def test_openness_findings_are_review_annotations_on_the_model() -> None:
    nodes = graph(rich())
    reviews = {a["statement"].split()[1]: a for a in of_type(nodes, "Annotation")
               if a["statement"].startswith("openness: ")}
    assert set(reviews) == {f.rule_id for f in rich().assessment_findings}
    lin = reviews["MT-LIN-001"]
    assert lin["annotationType"] == "review" and lin["subject"] == NS + "model"
    assert lin["statement"].startswith("openness: MT-LIN-001 high: Llama derivative")
    assert lin["statement"].endswith("(README.md, line 3)")


def test_relation_comment_follows_the_lineage_source() -> None:
    inferred = AncestorFact("unsloth/llama-3-8b-bnb-4bit", "adapter", "card",
                            relation_source="inferred", sources=("card", "adapter_config"))
    ev = dataclasses.replace(rich(), ancestors=(inferred,))
    assert_valid_spdx(dumps(ev))
    [rel] = [r for r in of_type(graph(ev), "Relationship")
             if r["relationshipType"] == "ancestorOf"]
    assert rel["comment"] == ("relation: adapter (inferred from adapter_config.json); "
                              "base declared in: card, adapter_config")
    assert "declared in card" not in rel["comment"]
    unknown = dataclasses.replace(inferred, relation=None, relation_source=None)
    [rel] = [r for r in of_type(graph(dataclasses.replace(ev, ancestors=(unknown,))),
                                "Relationship") if r["relationshipType"] == "ancestorOf"]
    assert rel["comment"].startswith("relation: not stated;")


def test_dataset_without_a_hub_id_has_no_download_location() -> None:
    ev = dataclasses.replace(rich(), datasets=(DatasetFact("cruxeval-i", "eval"),))
    assert_valid_spdx(dumps(ev))
    data = named(graph(ev), "dataset_DatasetPackage", "cruxeval-i")
    assert "software_downloadLocation" not in data
    assert "download location: NOASSERTION" in data["comment"]

