"""Evidence gathering: one hashing pass, facts from the scan and openness reports, unknowns."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import modeltrust
from helpers.bom_models import BASE_ID, HUB_ID, REV, derived_cache, signed_model, snapshot_of
from helpers.openness import WEIGHTS
from helpers.pickles import MARKER
from modeltrust._bom.gather import gather, timestamp
from modeltrust._integrity.signing import digest_model
from modeltrust.errors import SourceError, UsageError


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return derived_cache(tmp_path_factory.mktemp("bom"))


def test_identity_comes_from_the_hub_cache(repo: Path) -> None:
    ev = gather(str(repo))
    assert (ev.group, ev.name, ev.hub_id, ev.revision) == ("acme", "tiny-chat", HUB_ID, REV)
    assert ev.purl == f"pkg:huggingface/acme/tiny-chat@{REV}"
    assert ev.card_path == "README.md" and ev.task == "text-generation"
    assert (ev.architecture_family, ev.architecture) == ("llama", "LlamaForCausalLM")
    assert ev.inputs == ("text",) and ev.outputs == ("text",)


def test_root_digest_is_the_oms_digest_and_every_file_is_hashed(repo: Path) -> None:
    ev = gather(str(repo))
    snap = snapshot_of(repo)
    # the identity 'modeltrust digest --allow-symlinks' gives the snapshot
    assert ev.root_digest == digest_model(snap, allow_symlinks=True)
    on_disk = sorted(str(p.relative_to(snap)) for p in snap.rglob("*") if p.is_file())
    assert [f.path for f in ev.files] == on_disk
    for f in ev.files:
        assert f.sha256 == hashlib.sha256((snap / f.path).read_bytes()).hexdigest()
    roles = {f.path: (f.role, f.in_manifest) for f in ev.files}
    assert roles["model.safetensors"] == ("weights", True)
    assert roles[".gitattributes"] == ("other", False)  # OMS leaves .git* out
    assert roles["README.md"][0] == "card" and roles["config.json"][0] == "config"


def test_openness_facts(repo: Path) -> None:
    ev = gather(str(repo))
    assert [(lic.spdx, lic.source) for lic in ev.licences] == [
        ("LicenseRef-scancode-llama-3.1-license-2024", "card")]
    data = {d.id: d for d in ev.datasets}
    assert data["acme/dialogues"].licence == "MIT" and data["acme/dialogues"].role == "train"
    assert data["acme/dialogues"].url == "https://huggingface.co/datasets/acme/dialogues"
    assert data["cais/mmlu"].role == "eval"  # from model-index
    [base] = ev.ancestors
    assert (base.id, base.relation, base.purl) == (
        BASE_ID, "finetune", "pkg:huggingface/meta-llama/Llama-3.1-8B")
    [metric] = ev.metrics
    assert (metric.type, metric.value, metric.dataset, metric.split) == (
        "accuracy", "0.61", "MMLU", "test")
    cons = ev.considerations
    assert cons.use_cases[0].startswith("Intended uses: The model is intended")
    assert "CO2eq" in cons.environmental[0] and cons.ethical and cons.technical_limitations
    assert ev.training_information is not None and "encyclopaedia" in ev.training_information
    assert ev.contacts == ("models@example.org",)


def test_findings_are_relative_to_the_model(repo: Path) -> None:
    ev = gather(str(repo))
    assert [(f.rule_id, f.path) for f in ev.findings] == [("MT-PKL-002", "training_args.bin")]
    assert ev.verdict == "unsafe"
    assert not Path(MARKER).exists()


def test_unknowns_name_what_is_missing(repo: Path) -> None:
    ev = gather(str(repo))
    assert "dataset private-notes: licence unknown (no local dataset card)" in ev.unknowns
    assert not any(u.startswith(("hub id", "revision", "licence")) for u in ev.unknowns)


def test_bare_file_still_gives_evidence(tmp_path: Path) -> None:
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(WEIGHTS)
    ev = gather(str(weights))
    assert [f.path for f in ev.files] == ["w.safetensors"]
    assert ev.root_digest == modeltrust.digest(weights)
    for prefix in ("hub id", "revision", "publisher", "licence", "model card", "task",
                   "architecture", "training data", "evaluation results"):
        assert any(u.startswith(prefix) for u in ev.unknowns), prefix


def test_empty_folder_states_that_no_digest_was_computed(tmp_path: Path) -> None:
    ev = gather(str(tmp_path))
    assert ev.files == () and ev.root_digest == ""
    assert any(u.startswith("OMS root digest: not computed") for u in ev.unknowns)


def test_user_supplied_hub_id_and_revision(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(WEIGHTS)
    ev = gather(str(tmp_path), hub_id="org/name", revision="ABC123")
    assert ev.purl == "pkg:huggingface/org/name@abc123"
    with pytest.raises(UsageError, match="ORG/NAME"):
        gather(str(tmp_path), hub_id="not a hub id")
    with pytest.raises(UsageError, match="revision"):
        gather(str(tmp_path), revision="a b")


def test_signature_status_is_recorded(tmp_path: Path) -> None:
    model = signed_model(tmp_path)
    ev = gather(str(model))
    [sig] = ev.signatures
    assert sig.path == "model.sig" and sig.state == "intact"
    assert sig.root_digest == ev.root_digest  # the signed identity is the one we computed
    roles = {f.path: (f.role, f.in_manifest) for f in ev.files}
    assert roles["model.sig"] == ("signature", False)
    assert roles["model.sig.tensors.json"] == ("signature", False)


def test_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    assert timestamp() == "1970-01-02T00:00:00Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
        timestamp()


def test_missing_target(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        gather(str(tmp_path / "gone"))


@pytest.mark.parametrize(("date", "expected"), [
    ("2024-07-23", "2024-07-23T00:00:00Z"),
    ("2024-07-23T10:00:00+02:00", "2024-07-23T08:00:00Z"),
    ("last summer", None),
])
def test_release_time_from_the_card_date(tmp_path: Path, date: str,
                                         expected: str | None) -> None:
    from helpers.openness import write_repo

    model = write_repo(tmp_path / "m", {"license": "mit", "date": date}, "# M\n",
                       {"model.safetensors": WEIGHTS})
    ev = gather(str(model))
    assert ev.release_time == expected
    assert (expected is None) == any(u.startswith("release date") for u in ev.unknowns)


def test_the_card_and_listing_openness_read_are_reused(repo: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from modeltrust._bom import gather as gather_module

    report = modeltrust.openness(repo)

    def again(*_: object) -> None:
        raise AssertionError("read twice")

    monkeypatch.setattr(gather_module, "read_card", again)
    monkeypatch.setattr(gather_module, "open_snapshot", again)
    assert gather(str(repo), openness=report).card_path == "README.md"


def test_signature_check_reuses_the_bom_digests(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from modeltrust._integrity import verifying

    model = signed_model(tmp_path)

    def no_second_pass(*_: object, **__: object) -> None:
        raise AssertionError("files hashed twice")

    report = modeltrust.scan(model)  # the scan's own bounded status check hashes; not ours
    monkeypatch.setattr(verifying, "hash_tasks", no_second_pass)
    [sig] = gather(str(model), report=report).signatures
    assert sig.state == "intact"
    (model / "model.safetensors").write_bytes(WEIGHTS + b" ")
    [sig] = gather(str(model), report=report).signatures
    assert sig.state == "mismatch"


def test_single_archive_keeps_its_format_and_member_paths(tmp_path: Path) -> None:
    import zipfile

    from helpers.pickles import system_call_p4

    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("inner/data.pkl", system_call_p4())
    report = modeltrust.scan(archive)
    ev = gather(str(archive), report=report)
    [f] = ev.files
    outer = next(e.format for e in report.files if e.path == str(archive))
    assert (f.path, f.format) == ("bundle.zip", outer) and outer != "pickle"  # not a member's
    assert {x.path for x in ev.findings} == {"bundle.zip!inner/data.pkl"}
    assert not Path(MARKER).exists()


# --- openness findings, names, lineage provenance, dataset links, empty targets ---------

UNSLOTH_BODY = ("\n# Uploaded  model\n\n- **Developed by:** johndoe\n- **License:** apache-2.0\n"
                "\nThis llama model was trained 2x faster with Unsloth.\n")
PEFT_BODY = "\n# Model Card for Model ID\n\n<!-- Provide a quick summary. -->\n\n## Model Details\n"
ADAPTER = '{"base_model_name_or_path": "unsloth/llama-3-8b-bnb-4bit", "peft_type": "LORA"}'


def relabelled_lora(root: Path, body: str = UNSLOTH_BODY, **meta: object) -> Path:
    """A LoRA whose card relabels a Llama 3 base as Apache-2.0 (the unsloth template)."""
    from helpers.openness import write_repo

    card = {"base_model": "unsloth/llama-3-8b-bnb-4bit", "license": "apache-2.0",
            "language": ["en"], **meta}
    return write_repo(root, card, body, {"adapter_config.json": ADAPTER,
                                          "adapter_model.safetensors": WEIGHTS})


def test_openness_findings_are_in_the_evidence(tmp_path: Path) -> None:
    model = relabelled_lora(tmp_path / "lora")
    openness = modeltrust.openness(model)
    ev = gather(str(model), openness=openness)
    rules = {f.rule_id: f for f in ev.assessment_findings}
    assert "MT-LIN-001" in rules and rules["MT-LIN-001"].severity.value == "high"
    assert set(rules) == {f.rule_id for f in openness.findings}
    assert rules["MT-LIN-001"].path == "README.md"  # relative, like scan findings
    assert not set(ev.assessment_findings) & set(ev.findings)


def test_licence_clause_findings_of_a_cached_model_are_relative(repo: Path) -> None:
    ev = gather(str(repo))
    assert ev.assessment_findings
    for f in ev.assessment_findings:
        assert not f.path.startswith("/") and str(repo) not in f.evidence + f.path, f


@pytest.mark.parametrize("body", [UNSLOTH_BODY, PEFT_BODY, "\n# Model card\n",
                                  "\n# {{ model_id }}\n", "\n# README\n"])
def test_a_template_heading_never_names_the_model(tmp_path: Path, body: str) -> None:
    model = relabelled_lora(tmp_path / "acme--sql-lora", body)
    ev = gather(str(model))
    assert ev.name == "acme--sql-lora" == modeltrust.openness(model).lineage.model_name


def test_declared_model_name_wins_and_hub_id_beats_the_folder(tmp_path: Path) -> None:
    named = relabelled_lora(tmp_path / "folder-a", model_name="llama-3-sql-lora")
    assert gather(str(named)).name == "llama-3-sql-lora"
    plain = relabelled_lora(tmp_path / "folder-b")
    ev = gather(str(plain), hub_id="acme/llama-3-sql-lora")
    assert (ev.group, ev.name) == ("acme", "llama-3-sql-lora")


def test_relation_source_comes_from_the_lineage(tmp_path: Path) -> None:
    model = relabelled_lora(tmp_path / "lora")
    lineage = modeltrust.openness(model).lineage
    assert lineage.relation_source == "inferred"
    [base] = gather(str(model)).ancestors
    assert (base.relation, base.relation_source) == ("adapter", "inferred")
    assert base.sources == ("card", "adapter_config")
    assert base.relation_note() == "relation: adapter (inferred from adapter_config.json)"
    declared = relabelled_lora(tmp_path / "declared", base_model_relation="adapter")
    [base] = gather(str(declared)).ancestors
    assert base.relation_source == "card"
    assert base.relation_note() == ("relation: adapter (declared in the card's "
                                    "base_model_relation)")


def test_dataset_links_only_for_hub_ids(tmp_path: Path) -> None:
    from helpers.openness import write_repo

    index = [{"name": "coder", "results": [
        {"task": {"type": "text-generation"}, "dataset": {"name": n, "type": t},
         "metrics": [{"type": "pass@1", "value": 0.5}]}
        for n, t in (("CRUXEval-I", "cruxeval-i"), ("HumanEval", "openai_humaneval"),
                     ("MMLU", "cais/mmlu"), ("SQuAD", "squad"))]}]
    model = write_repo(tmp_path / "coder", {"license": "mit", "datasets": ["squad", "org/code"],
                                            "model-index": index},
                       "# Coder\n", {"model.safetensors": WEIGHTS})
    urls = {d.id: d.url for d in gather(str(model)).datasets}
    assert urls == {
        "cruxeval-i": None, "openai_humaneval": None,  # benchmark labels, not hub ids
        "cais/mmlu": "https://huggingface.co/datasets/cais/mmlu",
        "org/code": "https://huggingface.co/datasets/org/code",
        "squad": "https://huggingface.co/datasets/squad",  # declared in the card's datasets
    }


@pytest.mark.parametrize("content", [None, "hello\n", "config"])
def test_no_model_files_is_an_unknown(tmp_path: Path, content: str | None) -> None:
    target = tmp_path / "m"
    target.mkdir()
    if content == "config":
        (target / "config.json").write_text("{}")
    elif content is not None:
        target = target / "notes.txt"
        target.write_text(content)
    ev = gather(str(target))
    assert not ev.weights_found
    assert any(u.startswith("model files: none found") for u in ev.unknowns)
    with_weights = gather(str(relabelled_lora(tmp_path / "w")))
    assert with_weights.weights_found
    assert not any(u.startswith("model files") for u in with_weights.unknowns)


def test_weights_inside_an_archive_count_as_model_files(tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("inner/model.safetensors", WEIGHTS)
    assert gather(str(archive)).weights_found
