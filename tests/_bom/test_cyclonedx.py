from __future__ import annotations

import dataclasses
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.bom_evidence import SHA_A, SHA_B, SHA_C, SHA_D, rich, sparse
from helpers.bom_validate import assert_valid_cyclonedx
from modeltrust._bom.cyclonedx import dumps, render
from modeltrust._bom.evidence import (
    AncestorFact,
    DatasetFact,
    FileFact,
    LicenceFact,
    SignatureFact,
)
from modeltrust.findings import Finding, Location, Severity

Doc = dict[str, object]


def model_of(doc: Doc) -> dict[str, object]:
    meta = doc["metadata"]
    assert isinstance(meta, dict)
    model = meta["component"]
    assert isinstance(model, dict)
    return model


def props(obj: dict[str, object], name: str) -> list[str]:
    return [p["value"] for p in obj.get("properties", []) if p["name"] == name]


def licences_for(*facts: LicenceFact) -> list[dict[str, object]]:
    doc = render(dataclasses.replace(sparse(), licences=facts))
    assert_valid_cyclonedx(dumps(dataclasses.replace(sparse(), licences=facts)))
    return model_of(doc)["licenses"]


# --- validity and determinism ---------------------------------------------------------


@pytest.mark.parametrize("make", [rich, sparse])
def test_schema_valid(make) -> None:
    assert_valid_cyclonedx(dumps(make()))


def test_byte_identical_and_order_independent() -> None:
    ev = rich()
    shuffled = dataclasses.replace(
        ev, files=ev.files[::-1], licences=ev.licences[::-1], datasets=ev.datasets[::-1],
        findings=ev.findings[::-1], metrics=ev.metrics[::-1], tags=ev.tags[::-1])
    assert dumps(ev) == dumps(rich()) == dumps(shuffled)
    assert json.loads(dumps(ev)) == render(ev)


def test_serial_number_follows_content() -> None:
    doc = render(rich())
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", str(doc["serialNumber"]))
    later = render(dataclasses.replace(rich(), timestamp="2025-01-02T03:04:05Z"))
    assert later["serialNumber"] != doc["serialNumber"]
    assert render(rich())["serialNumber"] == doc["serialNumber"]


def test_header_and_tool() -> None:
    doc = render(sparse())
    assert (doc["bomFormat"], doc["specVersion"], doc["version"]) == ("CycloneDX", "1.6", 1)
    meta = doc["metadata"]
    assert meta["timestamp"] == "1970-01-01T00:00:00Z"
    assert meta["tools"]["components"] == [
        {"type": "application", "name": "modeltrust", "version": "0.1.0"}]


# --- what rich() states ---------------------------------------------------------------


def test_model_identity_and_root_digest() -> None:
    model = model_of(render(rich()))
    assert model["type"] == "machine-learning-model"
    assert model["bom-ref"] == model["purl"] == rich().purl
    assert (model["group"], model["name"]) == ("acme", "tiny-llama-chat")
    assert model["supplier"] == {"name": "Acme AI",
                                 "contact": [{"email": "security@acme.example"}]}
    assert props(model, "modeltrust:oms-root-digest") == [rich().root_digest]
    # the model's hash is its OMS root digest (what 'modeltrust sign' signs)
    assert model["hashes"] == [{"alg": "SHA-256", "content": "e" * 64}]
    links = {r["type"]: r["url"] for r in model["externalReferences"]}
    assert links["vcs"] == links["distribution"] == "https://huggingface.co/acme/tiny-llama-chat"
    assert props(model, "modeltrust:language") == ["en", "fr"]
    assert props(model, "modeltrust:licence-terms") == ["restricted"]


def test_every_file_hash_and_signature() -> None:
    model = model_of(render(rich()))
    files = {c["name"]: c for c in model["components"]}
    assert "model.sig" not in files
    assert files["training_args.bin"]["bom-ref"] == "file:training_args.bin"
    assert files["training_args.bin"]["hashes"] == [{"alg": "SHA-256", "content": SHA_C}]
    assert props(files[".gitattributes"], "modeltrust:in-oms-manifest") == ["false"]
    hashes = {h["content"] for c in files.values() for h in c["hashes"]}
    assert hashes == {SHA_A, SHA_B, SHA_C}
    [sig] = [r for r in model["externalReferences"] if r["type"] == "attestation"]
    assert sig["url"] == "model.sig"
    assert sig["hashes"] == [{"alg": "SHA-256", "content": SHA_D}]
    assert "intact" in sig["comment"] and "key:sha256:1234" in sig["comment"]


def test_model_links() -> None:
    refs = model_of(render(rich()))["externalReferences"]
    kinds = {(r["type"], r["url"]) for r in refs}
    assert ("model-card", "README.md") in kinds
    assert ("distribution", "https://huggingface.co/acme/tiny-llama-chat") in kinds


def test_rich_licences() -> None:
    lic = [e["license"] for e in model_of(render(rich()))["licenses"]]
    assert {"id": "Apache-2.0", "acknowledgement": "concluded"}.items() <= lic[0].items()
    assert lic[1]["name"] == "Llama 3.1 Community License"
    assert lic[1]["url"].endswith("/LICENSE")
    assert props(lic[1], "modeltrust:spdx-id") == ["LicenseRef-llama-3.1-community"]


def test_datasets_are_data_components_the_card_refers_to() -> None:
    doc = render(rich())
    comps = {c["bom-ref"]: c for c in doc["components"]}
    assert set(comps) == {f"dataset:{d.id}" for d in rich().datasets}
    ultra = comps["dataset:HuggingFaceH4/ultrachat_200k"]
    assert (ultra["type"], ultra["group"], ultra["name"]) == ("data", "HuggingFaceH4",
                                                              "ultrachat_200k")
    assert ultra["licenses"][0]["license"]["id"] == "MIT"
    assert ultra["data"][0]["contents"]["url"].endswith("ultrachat_200k")
    assert props(ultra, "modeltrust:source-dataset") == ["stingning/ultrachat"]
    assert props(ultra, "modeltrust:gated") == ["false"]
    card_refs = model_of(doc)["modelCard"]["modelParameters"]["datasets"]
    assert sorted(r["ref"] for r in card_refs) == sorted(comps)
    [graph] = doc["dependencies"]
    assert set(comps) <= set(graph["dependsOn"]) and graph["ref"] == model_of(doc)["bom-ref"]


def test_dataset_used_twice_is_one_component() -> None:
    ev = dataclasses.replace(sparse(), datasets=(DatasetFact("org/set", "train", "MIT"),
                                                 DatasetFact("org/set", "eval")))
    text = dumps(ev)
    assert_valid_cyclonedx(text)
    [comp] = json.loads(text)["components"]
    assert props(comp, "modeltrust:dataset-role") == ["eval", "train"]


def test_model_card() -> None:
    card = model_of(render(rich()))["modelCard"]
    params = card["modelParameters"]
    assert params["task"] == "text-generation" and params["modelArchitecture"] == "LlamaForCausalLM"
    assert params["inputs"] == [{"format": "text"}]
    metrics = card["quantitativeAnalysis"]["performanceMetrics"]
    assert {"type": "accuracy", "value": "0.61"}.items() <= metrics[0].items()
    assert "cais/mmlu" in metrics[0]["slice"] and "test" in metrics[0]["slice"]
    cons = card["considerations"]
    assert cons["ethicalConsiderations"] == [{"name": rich().considerations.ethical[0]}]
    assert cons["environmentalConsiderations"]["properties"][0]["value"].startswith("Env")
    assert props(card, "modeltrust:training-information") == [rich().training_information]


def test_ancestors_in_pedigree() -> None:
    [anc] = model_of(render(rich()))["pedigree"]["ancestors"]
    assert (anc["type"], anc["group"], anc["name"]) == ("machine-learning-model", "meta-llama",
                                                        "Llama-3.1-8B")
    assert anc["purl"] == "pkg:huggingface/meta-llama/Llama-3.1-8B"
    assert anc["licenses"][0]["license"]["name"] == "Llama 3.1 Community License"
    assert props(anc, "modeltrust:relation") == ["finetune"]


def test_findings_are_vulnerabilities() -> None:
    doc = render(rich())
    vulns = {v["id"]: v for v in doc["vulnerabilities"]}
    assert set(vulns) == {f.rule_id for f in rich().findings}
    pkl = vulns["MT-PKL-001"]
    assert pkl["affects"] == [{"ref": "file:training_args.bin"}]
    assert pkl["ratings"] == [{"severity": "critical", "method": "other",
                               "source": {"name": "modeltrust"}}]
    assert pkl["description"] == "Pickle calls a dangerous function"
    assert "offset 0x3f" in pkl["detail"] and pkl["cwes"] == [502]
    assert vulns["MT-REPO-001"]["affects"] == [{"ref": model_of(doc)["bom-ref"]}]
    refs = [v["bom-ref"] for v in vulns.values()]
    assert len(set(refs)) == len(refs)


def test_member_and_unknown_paths_map_to_file_or_model() -> None:
    ev = dataclasses.replace(rich(), findings=(
        Finding("MT-X-1", Severity.HIGH, "t", "training_args.bin!data.pkl", "e",
                Location(member="data.pkl")),
        Finding("MT-X-2", Severity.INFO, "t", "gone.bin", "e"),
    ))
    text = dumps(ev)
    assert_valid_cyclonedx(text)
    affects = {v["id"]: v["affects"][0]["ref"] for v in json.loads(text)["vulnerabilities"]}
    assert affects == {"MT-X-1": "file:training_args.bin", "MT-X-2": rich().purl}


def test_unknowns_and_verdict() -> None:
    meta = render(sparse())["metadata"]
    assert props(meta, "modeltrust:unknown") == sorted(sparse().unknowns)
    assert props(meta, "modeltrust:verdict") == ["unknown"]


def test_sparse_states_nothing_it_does_not_know() -> None:
    doc = render(sparse())
    model = model_of(doc)
    for absent in ("modelCard", "licenses", "supplier", "purl", "version", "pedigree",
                   "externalReferences", "tags", "description"):
        assert absent not in model
    assert "vulnerabilities" not in doc and "components" not in doc
    assert model["bom-ref"] == f"model:{sparse().root_digest}"


# --- licence edge cases ---------------------------------------------------------------


@pytest.mark.parametrize(("fact", "expected"), [
    (LicenceFact("MIT", "MIT License", "card"), {"id": "MIT"}),
    (LicenceFact("apache-2.0", None, "card"), {"id": "Apache-2.0"}),
    (LicenceFact("LicenseRef-x", None, "card"), {"name": "LicenseRef-x"}),
    (LicenceFact(None, "Custom Licence", "card", "https://e.example/l"),
     {"name": "Custom Licence", "url": "https://e.example/l"}),
    (LicenceFact("llama3.1", "Llama 3.1", "card"), {"name": "Llama 3.1"}),
    (LicenceFact(None, None, "card"), {"name": "unknown"}),
])
def test_single_licence(fact: LicenceFact, expected: dict[str, str]) -> None:
    [entry] = licences_for(fact)
    lic = entry["license"]
    assert expected.items() <= lic.items()
    assert not ("id" in lic and "name" in lic)
    if fact.spdx and "id" not in expected:
        assert props(lic, "modeltrust:spdx-id") == [fact.spdx]


def test_compound_expression() -> None:
    alone = licences_for(LicenceFact("Apache-2.0 OR MIT", None, "card"))
    assert alone == [{"expression": "Apache-2.0 OR MIT", "acknowledgement": "declared"}]
    mixed = licences_for(LicenceFact("Apache-2.0 OR MIT", None, "card"),
                         LicenceFact("MIT", None, "file:LICENSE", acknowledgement="concluded"))
    assert all("license" in e for e in mixed)  # CycloneDX cannot mix expression and list
    names = [e["license"].get("name") for e in mixed]
    assert "Apache-2.0 OR MIT" in names


# --- hostile text ---------------------------------------------------------------------


def test_hostile_urls_paths_and_contacts_stay_valid() -> None:
    ev = dataclasses.replace(
        rich(), card_path="docs/my card#1?.md", hub_id="org/na me",
        contacts=("not an email", "https://acme.example/contact us", "mailto:a@b.example"),
        files=(*rich().files, FileFact("a:b/c d.bin", 1, "not-a-digest", "raw", "other"),
               FileFact("README.md", 9, SHA_C, "text", "card")),  # same path twice
        licences=(LicenceFact("MIT", None, "card", "http://host:port/x y"),
                  LicenceFact(None, "Odd", "card", "%zz<>\"{}"),
                  LicenceFact(None, "V6", "card", "https://[::1]/l")),
        signatures=(SignatureFact("//h/x.sig", SHA_D, "mismatch"),),
        datasets=(DatasetFact("", "train", url="https:////x"),),
        timestamp="2024-13-45T03:04:05Z",
    )
    text = dumps(ev)
    assert_valid_cyclonedx(text)
    doc = json.loads(text)
    meta = doc["metadata"]
    assert "timestamp" not in meta
    assert any("timestamp" in u for u in props(meta, "modeltrust:unknown"))
    assert props(meta["component"], "modeltrust:contact") == ["not an email"]
    assert doc["components"][0]["name"] == ""  # required, so kept even when empty
    names = [c["name"] for c in meta["component"]["components"]]
    assert len(names) == len(set(names))
    urls = {r["url"] for r in meta["component"]["externalReferences"]}
    assert {"docs/my%20card%231%3F.md", ".//h/x.sig", "https://huggingface.co/org/na%20me"} <= urls


printable = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
anything = st.text(max_size=30)  # includes lone surrogates and control characters
url_bits = st.sampled_from([*":/?#[]@%!$&'()*+,;= <>\"{}|\\^`ü\x00", "https://", "//", "%41"])
urlish = anything | st.lists(url_bits | anything, max_size=8).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(desc=anything, name=printable, path=printable, evidence=anything, url=urlish)
def test_random_text_stays_valid(desc: str, name: str, path: str, evidence: str,
                                 url: str) -> None:
    ev = dataclasses.replace(
        sparse(), name=name, description=desc or None,
        files=(FileFact(path, 1, SHA_A, "raw", "weights"),),
        licences=(LicenceFact(None, name, "card", url or None),),
        contacts=(url,), card_path=url or None, hub_id=url or None,
        datasets=(DatasetFact(name, "train", url=url or None),),
        findings=(Finding("MT-X-1", Severity.LOW, desc or "t", path, evidence),),
        assessment_findings=(Finding("MT-LIN-001", Severity.HIGH, evidence or "t", path,
                                     desc, Location(line=1, detail=evidence)),),
        ancestors=(AncestorFact(name, evidence or None, url or "card", relation_source=desc,
                                sources=(url, evidence)),),
    )
    text = dumps(ev)
    text.encode("utf-8")  # no lone surrogates reach the file
    assert_valid_cyclonedx(text)
    assert dumps(ev) == text


def test_upstream_datasets_hang_off_the_dataset_derived_from_them() -> None:
    ev = rich()
    ev = dataclasses.replace(ev, datasets=(*ev.datasets, DatasetFact(
        "stingning/ultrachat", "source", "CC-BY-NC-4.0", gated=False)))
    text = dumps(ev)
    assert_valid_cyclonedx(text)
    doc = json.loads(text)
    comps = {c["bom-ref"]: c for c in doc["components"]}
    upstream = comps["dataset:stingning/ultrachat"]
    assert props(upstream, "modeltrust:dataset-role") == ["source"]
    assert upstream["licenses"][0]["license"]["id"] == "CC-BY-NC-4.0"
    card_refs = {r["ref"] for r in model_of(doc)["modelCard"]["modelParameters"]["datasets"]}
    assert "dataset:stingning/ultrachat" not in card_refs  # the model card declares 3, not 4
    graph = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert "dataset:stingning/ultrachat" not in graph[model_of(doc)["bom-ref"]]
    assert graph["dataset:HuggingFaceH4/ultrachat_200k"] == ["dataset:stingning/ultrachat"]


# --- openness findings and lineage provenance ------------------------------------------


def test_openness_findings_are_annotations_on_the_model() -> None:
    text = dumps(rich())
    assert_valid_cyclonedx(text)
    doc = json.loads(text)
    notes = {a["text"].split()[1]: a for a in doc["annotations"]}
    assert set(notes) == {f.rule_id for f in rich().assessment_findings}
    lin = notes["MT-LIN-001"]
    assert lin["subjects"] == [model_of(doc)["bom-ref"]]
    assert lin["timestamp"] == rich().timestamp  # the BOM's own time: deterministic
    assert lin["annotator"] == {"component": {"type": "application", "name": "modeltrust",
                                              "version": "0.1.0"}}
    assert lin["text"] == ("openness: MT-LIN-001 high: Llama derivative relabelled with "
                           "another licence \u2014 base meta-llama/Llama-3.1-8B is under the "
                           "Llama 3.1 licence; this model declares Apache-2.0 "
                           "(README.md, line 3)")
    # not software vulnerabilities: those stay the scan's
    assert {v["id"] for v in doc["vulnerabilities"]} == {f.rule_id for f in rich().findings}
    refs = [a["bom-ref"] for a in doc["annotations"]] + [v["bom-ref"]
                                                         for v in doc["vulnerabilities"]]
    assert len(set(refs)) == len(refs)


def test_annotations_stay_valid_without_a_usable_timestamp() -> None:
    ev = dataclasses.replace(rich(), timestamp="yesterday")
    text = dumps(ev)
    assert_valid_cyclonedx(text)
    doc = json.loads(text)
    assert {a["timestamp"] for a in doc["annotations"]} == {"1970-01-01T00:00:00Z"}
    assert any(u.startswith("timestamp: not RFC 3339")
               for u in props(doc["metadata"], "modeltrust:unknown"))


def test_no_openness_findings_no_annotations() -> None:
    assert "annotations" not in render(sparse())


def test_ancestor_relation_says_how_it_is_known() -> None:
    from modeltrust._bom.evidence import AncestorFact

    inferred = AncestorFact("unsloth/llama-3-8b-bnb-4bit", "adapter", "card",
                            relation_source="inferred", sources=("card", "adapter_config"))
    doc = render(dataclasses.replace(rich(), ancestors=(inferred,)))
    [anc] = model_of(doc)["pedigree"]["ancestors"]
    assert props(anc, "modeltrust:relation-source") == ["inferred from adapter_config.json"]
    assert props(anc, "modeltrust:source") == ["adapter_config", "card"]
    [declared] = model_of(render(rich()))["pedigree"]["ancestors"]
    assert props(declared, "modeltrust:relation-source") == [
        "declared in the card's base_model_relation"]
