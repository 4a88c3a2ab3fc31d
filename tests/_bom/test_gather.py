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
