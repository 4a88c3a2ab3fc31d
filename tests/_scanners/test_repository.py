"""Repository rules: auto_map, pickle beside safetensors, extension mismatch, executables."""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path

import pytest

from _scanners.archive_factory import torch_zip
from helpers.code_samples import CONFIGURATION, MODELING, SD15_INDEX
from modeltrust import scan
from modeltrust._report.model import Coverage, FileEntry
from modeltrust._scanners.repository import scan_repository
from modeltrust._source.interface import Limits
from modeltrust.findings import Finding, Severity

PICKLE = pickle.dumps({"marker": "MODELTRUST-TEST-MARKER", "w": [1, 2]}, protocol=4)


def safetensors_bytes() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    return struct.pack("<Q", len(header)) + header + b"\x00" * 4


def repo_findings(folder: Path, **kw: object) -> list[Finding]:
    return [f for f in scan(folder, **kw).findings if f.rule_id.startswith("MT-REPO-")]


def rules(found: list[Finding]) -> list[str]:
    return sorted(f.rule_id for f in found)


def write_config(folder: Path, auto_map: dict[str, object], name: str = "config.json") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps({"model_type": "example", "auto_map": auto_map}))


# -- auto_map --------------------------------------------------------------------------------


def test_auto_map_local_modules_present(tmp_path: Path) -> None:
    write_config(tmp_path, {"AutoConfig": "configuration_example.ExampleConfig",
                            "AutoModel": "modeling_example.ExampleModel"})
    (tmp_path / "configuration_example.py").write_text(CONFIGURATION)
    (tmp_path / "modeling_example.py").write_text(MODELING)
    found = repo_findings(tmp_path)
    assert rules(found) == ["MT-REPO-003"]
    assert found[0].severity is Severity.INFO
    assert found[0].evidence == ("trust_remote_code=True runs configuration_example.py, "
                                 "modeling_example.py")


def test_auto_map_module_missing(tmp_path: Path) -> None:
    write_config(tmp_path, {"AutoModel": "modeling_gone.GoneModel"})
    found = repo_findings(tmp_path)
    assert rules(found) == ["MT-REPO-001"] and found[0].severity is Severity.MEDIUM
    assert "fetch it from the hub" in found[0].evidence
    assert found[0].path.endswith("config.json")


def test_auto_map_into_another_repository_is_reported_once(tmp_path: Path) -> None:
    write_config(tmp_path, {"AutoModel": "evil-org/payload--modeling_x.Model"})
    found = [f for f in scan(tmp_path).findings if f.severity >= Severity.HIGH]
    assert rules(found) == ["MT-CFG-002"]  # the config scanner's finding; no MT-REPO-002 twin
    assert "evil-org/payload" in found[0].evidence and "modeling_x" in found[0].evidence


def test_other_repository_in_a_config_the_config_scanner_missed(tmp_path: Path) -> None:
    from modeltrust._report.model import Coverage, FileEntry
    from modeltrust._scanners.repository import scan_repository
    from modeltrust._source.interface import Limits

    write_config(tmp_path, {"AutoModel": "evil-org/payload--modeling_x.Model"})
    entry = FileEntry("config.json", 10, "text", Coverage.ANALYSED)
    found = scan_repository(tmp_path, ".", [entry], Limits())
    assert rules(found) == ["MT-REPO-002"] and found[0].severity is Severity.HIGH
    assert "'evil-org/payload'" in found[0].evidence and "modeling_x.py" in found[0].evidence


def test_tokenizer_config_list_with_null(tmp_path: Path) -> None:
    write_config(tmp_path, {"AutoTokenizer": ["tokenization_x.Tok", None]},
                 name="tokenizer_config.json")
    assert rules(repo_findings(tmp_path)) == ["MT-REPO-001"]


def test_custom_pipelines_impl(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "config.json").write_text(json.dumps(
        {"custom_pipelines": {"text-classification": {"impl": "other/repo--pipe.P"}}}))
    assert rules(repo_findings(tmp_path)) == []
    assert "MT-CFG-002" in rules(scan(tmp_path).findings)


def test_excluded_module_is_reported(tmp_path: Path) -> None:
    write_config(tmp_path, {"AutoModel": "modeling_example.ExampleModel"})
    (tmp_path / "modeling_example.py").write_text(MODELING)
    found = repo_findings(tmp_path, exclude=["*.py"])
    assert rules(found) == ["MT-REPO-004"] and "excluded" in found[0].evidence


@pytest.mark.parametrize("ref", ["../../etc/passwd.X", "mod/../x.Cls", "NoDot", "a b.C"])
def test_malformed_reference(tmp_path: Path, ref: str) -> None:
    write_config(tmp_path, {"AutoModel": ref})
    assert rules(repo_findings(tmp_path)) == ["MT-REPO-005"]


def test_config_in_subfolder_resolves_there(tmp_path: Path) -> None:
    write_config(tmp_path / "text_encoder", {"AutoModel": "modeling_example.ExampleModel"})
    (tmp_path / "text_encoder" / "modeling_example.py").write_text(MODELING)
    # modeling_example.py imports .configuration_example, which a loader would fetch too
    assert rules(repo_findings(tmp_path)) == ["MT-REPO-001", "MT-REPO-003"]
    (tmp_path / "text_encoder" / "configuration_example.py").write_text(CONFIGURATION)
    assert rules(repo_findings(tmp_path)) == ["MT-REPO-003"]


def test_invalid_config_is_left_to_the_config_scanner(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("[1, 2, 3]")
    assert repo_findings(tmp_path) == []


# -- pickle beside safetensors ---------------------------------------------------------------


def test_pickle_beside_safetensors(tmp_path: Path) -> None:
    (tmp_path / "pytorch_model.bin").write_bytes(PICKLE)
    (tmp_path / "model.safetensors").write_bytes(safetensors_bytes())
    found = repo_findings(tmp_path)
    assert rules(found) == ["MT-REPO-010"] and found[0].severity is Severity.MEDIUM
    assert found[0].path.endswith("pytorch_model.bin")
    assert "model.safetensors" in found[0].evidence


def test_torch_zip_shards_and_indexes(tmp_path: Path) -> None:
    for i in (1, 2):
        (tmp_path / f"pytorch_model-0000{i}-of-00002.bin").write_bytes(torch_zip())
        (tmp_path / f"model-0000{i}-of-00002.safetensors").write_bytes(safetensors_bytes())
    (tmp_path / "pytorch_model.bin.index.json").write_text('{"weight_map": {}}')
    (tmp_path / "model.safetensors.index.json").write_text('{"weight_map": {}}')
    found = [f for f in repo_findings(tmp_path) if f.rule_id == "MT-REPO-010"]
    assert sorted(f.path.rsplit("/", 1)[-1] for f in found) == [
        "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin",
        "pytorch_model.bin.index.json"]


def test_different_names_are_not_paired(tmp_path: Path) -> None:
    (tmp_path / "optimizer.pt").write_bytes(PICKLE)
    (tmp_path / "model.safetensors").write_bytes(safetensors_bytes())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pytorch_model.bin").write_bytes(PICKLE)
    assert repo_findings(tmp_path) == []


# -- content vs extension --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "data", "severity"), [
    ("model.safetensors", PICKLE, Severity.HIGH),
    ("weights.npy", PICKLE, Severity.HIGH),
    ("config.json", b"\x00\x01\x02binary", Severity.MEDIUM),
    ("model.gguf", b"\x00" * 32, Severity.MEDIUM),
    ("vocab.txt", PICKLE, Severity.HIGH),
])
def test_content_does_not_match_extension(tmp_path: Path, name: str, data: bytes,
                                          severity: Severity) -> None:
    (tmp_path / name).write_bytes(data)
    found = [f for f in repo_findings(tmp_path) if f.rule_id == "MT-REPO-011"]
    assert len(found) == 1 and found[0].severity is severity
    assert found[0].evidence.startswith(f"extension {name[name.rfind('.'):]} but the content")


@pytest.mark.parametrize(("name", "data"), [
    ("pytorch_model.bin", torch_zip()),
    ("model.pt", torch_zip()),
    ("model.safetensors", b""),
    ("config.json", b'{"a": 1}'),
    ("notes.txt", b"plain text"),
])
def test_normal_combinations(tmp_path: Path, name: str, data: bytes) -> None:
    (tmp_path / name).write_bytes(data)
    assert [f for f in repo_findings(tmp_path) if f.rule_id == "MT-REPO-011"] == []


# -- executables -----------------------------------------------------------------------------


def test_elf_looking_file(tmp_path: Path) -> None:
    (tmp_path / "helper").write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 64)
    found = repo_findings(tmp_path)
    assert rules(found) == ["MT-REPO-012"] and found[0].severity is Severity.HIGH
    assert "ELF executable" in found[0].evidence


def test_shell_script(tmp_path: Path) -> None:
    (tmp_path / "setup_model").write_text("#!/bin/sh\ntouch /tmp/modeltrust-test-marker\n")
    found = repo_findings(tmp_path)
    assert rules(found) == ["MT-REPO-012"] and found[0].severity is Severity.MEDIUM
    assert "#!/bin/sh" in found[0].evidence


def test_execute_bit_on_text(tmp_path: Path) -> None:
    p = tmp_path / "notes.txt"
    p.write_text("hello")
    p.chmod(0o755)
    found = repo_findings(tmp_path)
    assert rules(found) == ["MT-REPO-012"] and found[0].severity is Severity.LOW


def test_entries_from_other_sources() -> None:
    entries = [FileEntry("m/a.zip!bin/tool", 10, "unknown", Coverage.NOT_ANALYSED,
                         detail="Mach-O executable"),
               FileEntry("m/a.zip!x.safetensors", 10, "pickle", Coverage.ANALYSED)]
    found = scan_repository(Path("/nonexistent"), "m", entries, Limits())
    assert [(f.rule_id, f.severity) for f in found] == [
        ("MT-REPO-012", Severity.HIGH), ("MT-REPO-011", Severity.HIGH)]


# -- sharded safetensors, whole-folder behaviour -----------------------------------------------


def test_sharded_index_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modeltrust._scanners import shards

    calls: list[tuple[Path, str, Path]] = []

    def fake(index_file: Path, shown: str, folder: Path, limits: Limits) -> list[Finding]:
        calls.append((index_file, shown, folder))
        return []

    monkeypatch.setattr(shards, "check_sharded_index", fake)
    sub = tmp_path / "unet"
    sub.mkdir()
    (sub / "diffusion_pytorch_model.safetensors.index.json").write_text('{"weight_map": {}}')
    scan(tmp_path)
    assert calls == [(sub / "diffusion_pytorch_model.safetensors.index.json",
                      f"{tmp_path}/unet/diffusion_pytorch_model.safetensors.index.json", sub)]


def test_crashing_index_check_becomes_a_finding(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from modeltrust._scanners import shards

    def boom(*_: object) -> list[Finding]:
        raise ValueError("bad")

    monkeypatch.setattr(shards, "check_sharded_index", boom)
    (tmp_path / "model.safetensors.index.json").write_text("{}")
    found = [f for f in scan(tmp_path).findings if f.rule_id == "MT-GEN-001"]
    assert len(found) == 1 and "ValueError" in found[0].evidence


def test_clean_repository_and_determinism(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(safetensors_bytes())
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    (tmp_path / "README.md").write_text("# model\n")
    assert repo_findings(tmp_path) == []
    (tmp_path / "pytorch_model.bin").write_bytes(PICKLE)
    write_config(tmp_path, {"AutoModel": "x/y--m.C", "AutoConfig": "gone.C"})
    first = scan(tmp_path).findings
    assert first == scan(tmp_path).findings


def test_relative_dot_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, {"AutoModel": "modeling_gone.M"})
    monkeypatch.chdir(tmp_path)
    found = repo_findings(Path("."))
    assert rules(found) == ["MT-REPO-001"] and found[0].path == "config.json"


def test_symlink_escape_is_left_to_the_source_layer(tmp_path: Path) -> None:
    (tmp_path / "outside.bin").write_bytes(PICKLE)
    folder = tmp_path / "m"
    folder.mkdir()
    os.symlink(tmp_path / "outside.bin", folder / "model.safetensors")
    report = scan(folder)
    assert [f.rule_id for f in report.findings] == ["MT-SRC-001"]


def test_module_not_analysed_as_python(tmp_path: Path) -> None:
    write_config(tmp_path, {"AutoModel": "modeling_x.M"})
    entries = [FileEntry(f"{tmp_path}/config.json", 10, "json", Coverage.ANALYSED),
               FileEntry(f"{tmp_path}/modeling_x.py", 10, "pickle", Coverage.PARTIAL)]
    found = scan_repository(tmp_path, str(tmp_path), entries, Limits())
    assert [f.rule_id for f in found] == ["MT-REPO-004"]
    assert "analysed as pickle" in found[0].evidence


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    found = [f for f in scan_repository(tmp_path, str(tmp_path), [
        FileEntry(f"{tmp_path}/pipe", 0, "special", Coverage.NOT_ANALYSED),
        FileEntry(f"{tmp_path}/run.sh", 10, "text", Coverage.NOT_ANALYSED)], Limits())]
    assert [f.path.rsplit("/", 1)[-1] for f in found] == ["run.sh"]
    # even an entry wrongly listed as text is checked with fstat, not read
    assert scan_repository(tmp_path, str(tmp_path), [
        FileEntry(f"{tmp_path}/pipe", 0, "text", Coverage.NOT_ANALYSED)], Limits()) == []


def test_hugging_face_snapshot_links_are_probed(tmp_path: Path) -> None:
    repo = tmp_path / "models--o--n"
    (repo / "blobs").mkdir(parents=True)
    snap = repo / "snapshots" / "rev"
    snap.mkdir(parents=True)
    (repo / "blobs" / "abc").write_text("#!/bin/bash\necho hi\n")
    os.symlink("../../blobs/abc", snap / "install")
    found = repo_findings(snap)
    assert rules(found) == ["MT-REPO-012"] and found[0].severity is Severity.MEDIUM


# -- issue 3, point 8: attack variants ---------------------------------------------------------


def test_execute_bit_on_weights_is_reported_without_opening(tmp_path: Path) -> None:
    p = tmp_path / "model.safetensors"
    p.write_bytes(safetensors_bytes())
    p.chmod(0o755)
    found = repo_findings(tmp_path)
    assert rules(found) == ["MT-REPO-012"] and found[0].severity is Severity.LOW
    assert "safetensors file" in found[0].evidence


def test_compiled_bytecode_is_reported(tmp_path: Path) -> None:
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    (cache / "modeling_x.cpython-311.pyc").write_bytes(b"\xa7\r\r\n" + b"\x00" * 12 + b"\xe3")
    found = repo_findings(tmp_path)
    assert rules(found) == ["MT-REPO-012"] and found[0].severity is Severity.MEDIUM
    assert "compiled Python bytecode" in found[0].evidence


@pytest.mark.parametrize(("name", "severity"), [
    ("os.py", Severity.MEDIUM), ("typing.py", Severity.MEDIUM),
    ("json/__init__.py", Severity.MEDIUM), ("sitecustomize.py", Severity.HIGH),
])
def test_python_shadowing_the_standard_library(tmp_path: Path, name: str,
                                               severity: Severity) -> None:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text("x = 1\n")
    found = [f for f in repo_findings(tmp_path) if f.rule_id == "MT-REPO-014"]
    assert len(found) == 1 and found[0].severity is severity
    assert [f for f in scan(tmp_path).files if f.path.endswith(".py")][0].format == "python"


def test_ordinary_module_names_do_not_shadow(tmp_path: Path) -> None:
    for name in ("modeling_x.py", "utils.py", "test.py", "__init__.py"):
        (tmp_path / name).write_text("x = 1\n")
    assert [f for f in repo_findings(tmp_path) if f.rule_id == "MT-REPO-014"] == []


def test_missing_relative_import_of_remote_code(tmp_path: Path) -> None:
    write_config(tmp_path, {"AutoModel": "modeling_x.M"})
    (tmp_path / "modeling_x.py").write_text("from .layers import Block\nclass M:\n    pass\n")
    (tmp_path / "layers.py").write_text("from .kernels import k\nclass Block:\n    pass\n")
    found = [f for f in repo_findings(tmp_path) if f.rule_id == "MT-REPO-001"]
    assert len(found) == 1 and found[0].path.endswith("layers.py")
    assert "kernels.py is not in the folder" in found[0].evidence
    (tmp_path / "kernels.py").write_text("k = 1\n")
    assert [f for f in repo_findings(tmp_path) if f.rule_id == "MT-REPO-001"] == []


def _plain_zip() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("install.sh", "#!/bin/sh\ntouch /tmp/modeltrust-test-marker\n")
    return buf.getvalue()


@pytest.mark.parametrize(("name", "data", "rule", "severity"), [
    ("pytorch_model.bin", _plain_zip(), "MT-REPO-011", Severity.MEDIUM),
    ("pytorch_model.bin", b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "MT-REPO-012", Severity.HIGH),
    ("model.pt", b"\x7fELF\x01\x01\x01" + b"\x00" * 64, "MT-REPO-012", Severity.HIGH),
    ("flax_model.msgpack", PICKLE, "MT-REPO-011", Severity.HIGH),
    ("model.safetensors", torch_zip(), "MT-REPO-011", Severity.HIGH),
])
def test_weights_that_are_something_else(tmp_path: Path, name: str, data: bytes, rule: str,
                                         severity: Severity) -> None:
    (tmp_path / name).write_bytes(data)
    found = [f for f in repo_findings(tmp_path) if f.rule_id == rule]
    assert found and found[0].severity is severity, repo_findings(tmp_path)


def test_pickle_in_bin_is_the_legacy_format_not_a_mismatch(tmp_path: Path) -> None:
    (tmp_path / "pytorch_model.bin").write_bytes(PICKLE)
    assert repo_findings(tmp_path) == []


@pytest.mark.parametrize(("source", "name"), [
    (b"x = __import__('os').system('touch /tmp/modeltrust-test-marker')\n", "modeling_x.py"),
    (b"# -*- coding: latin-1 -*-\n# caf\xe9\nimport os\nos.system('x')\n", "modeling_x.py"),
    (b"# caf\xe9 (undeclared latin-1 in a comment: Python 3.11 still imports it)\n"
     b"import os\nos.system('x')\n", "modeling_x.py"),
    (b"import os\nos.system('x')\n", "helper.pyw"),
])
def test_python_that_does_not_look_like_text_is_still_analysed(tmp_path: Path, source: bytes,
                                                               name: str) -> None:
    (tmp_path / name).write_bytes(source)
    report = scan(tmp_path)
    assert report.files[0].format == "python"
    assert any(f.rule_id in ("MT-CODE-001", "MT-CODE-002") and f.severity is Severity.CRITICAL
               for f in report.findings)


def test_binary_in_a_py_file_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "modeling_x.py").write_bytes(PICKLE)
    found = [f for f in scan(tmp_path).findings if f.rule_id == "MT-CODE-020"]
    assert found and "null bytes" in found[0].evidence


@pytest.mark.parametrize("make", ["absolute", "relative", "loop", "self", "dangling", "dir_up"])
def test_symlinks_never_crash_and_escapes_are_reported(tmp_path: Path, make: str) -> None:
    root = tmp_path / "m"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("marker")
    if make == "absolute":
        os.symlink("/etc/passwd", root / "config.json")
    elif make == "relative":
        os.symlink("../../secret.txt", root / "sub" / "vocab.txt")
    elif make == "loop":
        os.symlink("b", root / "a")
        os.symlink("a", root / "b")
    elif make == "self":
        os.symlink("self", root / "self")
    elif make == "dangling":
        os.symlink("nowhere", root / "model.bin")
    else:
        os.symlink("..", root / "sub" / "up")
    report = scan(root)
    ids = {f.rule_id for f in report.findings}
    if make in ("absolute", "relative"):
        assert "MT-SRC-001" in ids
    elif make != "dir_up":
        assert "MT-SRC-002" in ids
    assert scan(root).findings == report.findings


def test_single_file_beside_a_sharded_index(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(safetensors_bytes())
    (tmp_path / "model-00001-of-00001.safetensors").write_bytes(safetensors_bytes())
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {}, "weight_map": {"w": "model-00001-of-00001.safetensors"}}))
    [f] = [f for f in scan(tmp_path).findings if f.rule_id == "MT-SFT-028"]
    assert f.severity is Severity.LOW and f.path.endswith("model.safetensors.index.json")
    assert "model.safetensors beside" in f.evidence
    (tmp_path / "model.safetensors").unlink()
    assert not [f for f in scan(tmp_path).findings if f.rule_id == "MT-SFT-028"]


# -- diffusers model_index.json --------------------------------------------------------------

MARKER = "/tmp/modeltrust-test-marker-DO-NOT-CREATE"
PAYLOAD = f"import os\nos.system('touch {MARKER}')\n\n\nclass UNet2DConditionModel:\n    pass\n"


def sd15_repo(folder: Path, **entries: object) -> Path:
    """A Stable Diffusion 1.5 layout as diffusers saves it (configs, weights, tokenizer)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model_index.json").write_text(json.dumps({**SD15_INDEX, **entries}, indent=2))
    for sub, cfg in [("unet", {"_class_name": "UNet2DConditionModel", "sample_size": 64}),
                     ("vae", {"_class_name": "AutoencoderKL", "latent_channels": 4}),
                     ("text_encoder", {"architectures": ["CLIPTextModel"],
                                       "model_type": "clip_text_model"}),
                     ("safety_checker", {"architectures": ["StableDiffusionSafetyChecker"],
                                         "model_type": "clip"})]:
        (folder / sub).mkdir(exist_ok=True)
        (folder / sub / "config.json").write_text(json.dumps(cfg))
        name = ("diffusion_pytorch_model" if sub in ("unet", "vae") else "model")
        (folder / sub / f"{name}.safetensors").write_bytes(safetensors_bytes())
    (folder / "scheduler").mkdir(exist_ok=True)
    (folder / "scheduler" / "scheduler_config.json").write_text(
        '{"_class_name": "PNDMScheduler", "num_train_timesteps": 1000}')
    (folder / "tokenizer").mkdir(exist_ok=True)
    (folder / "tokenizer" / "tokenizer_config.json").write_text('{"model_max_length": 77}')
    (folder / "tokenizer" / "vocab.json").write_text('{"a": 0}')
    (folder / "feature_extractor").mkdir(exist_ok=True)
    (folder / "feature_extractor" / "preprocessor_config.json").write_text('{"crop_size": 224}')
    return folder


def by_rule(found: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in found if f.rule_id == rule_id]


def test_sd15_model_index_is_quiet(tmp_path: Path) -> None:
    report = scan(sd15_repo(tmp_path))
    assert [f for f in report.findings if f.severity is not Severity.INFO] == []
    assert repo_findings(tmp_path) == []


@pytest.mark.parametrize(("component", "library"), [("unet", "diffusers"),
                                                    ("text_encoder", "transformers"),
                                                    ("scheduler", "diffusers")])
def test_file_shadowing_an_installed_library_is_high(tmp_path: Path, component: str,
                                                     library: str) -> None:
    sd15_repo(tmp_path)
    (tmp_path / component / f"{library}.py").write_text(PAYLOAD)
    found = repo_findings(tmp_path)
    shadow = by_rule(found, "MT-REPO-014")
    assert len(shadow) == 1 and shadow[0].severity is Severity.HIGH
    assert shadow[0].path.endswith(f"{component}/{library}.py")
    assert f"instead of the installed '{library}' library" in shadow[0].evidence
    info = by_rule(found, "MT-REPO-003")  # it was scanned, and it runs
    assert len(info) == 1 and f"{component}/{library}.py" in info[0].evidence
    assert rules(found) == ["MT-REPO-003", "MT-REPO-014"]
    assert not os.path.exists(MARKER)


def test_file_named_like_a_pipeline_module_is_medium(tmp_path: Path) -> None:
    sd15_repo(tmp_path)
    (tmp_path / "safety_checker" / "stable_diffusion.py").write_text(PAYLOAD)
    shadow = by_rule(repo_findings(tmp_path), "MT-REPO-014")
    assert len(shadow) == 1 and shadow[0].severity is Severity.MEDIUM
    assert "diffusers.pipelines.stable_diffusion" in shadow[0].evidence


def test_shadowing_file_differing_only_in_case(tmp_path: Path) -> None:
    sd15_repo(tmp_path)
    (tmp_path / "unet" / "Diffusers.py").write_text(PAYLOAD)
    shadow = by_rule(repo_findings(tmp_path), "MT-REPO-014")
    assert len(shadow) == 1 and shadow[0].severity is Severity.HIGH
    assert shadow[0].path.endswith("unet/Diffusers.py") and "only in case" in shadow[0].evidence


def test_custom_component_present_and_scanned_is_info(tmp_path: Path) -> None:
    sd15_repo(tmp_path, unet=["my_unet", "MyUNet"], _class_name=["pipeline_x", "XPipeline"])
    (tmp_path / "unet" / "my_unet.py").write_text(MODELING)
    (tmp_path / "pipeline_x.py").write_text(MODELING)
    found = repo_findings(tmp_path)
    assert rules(found) == ["MT-REPO-003"] and found[0].severity is Severity.INFO
    assert found[0].path.endswith("model_index.json")
    assert "pipeline_x.py" in found[0].evidence and "unet/my_unet.py" in found[0].evidence


def test_custom_component_missing_is_not_a_hub_fetch(tmp_path: Path) -> None:
    sd15_repo(tmp_path, unet=["my_unet", "MyUNet"], _class_name=["pipeline_x", "XPipeline"],
              custom_pipeline="my_pipe")
    found = repo_findings(tmp_path)
    assert "MT-REPO-001" not in rules(found)
    assert found == []  # diffusers imports an installed package of that name, or fails


def test_excluded_component_module_is_not_scanned(tmp_path: Path) -> None:
    sd15_repo(tmp_path, unet=["my_unet", "MyUNet"])
    (tmp_path / "unet" / "my_unet.py").write_text(MODELING)
    (tmp_path / "text_encoder" / "transformers.py").write_text(PAYLOAD)
    found = repo_findings(tmp_path, exclude=["*.py"])
    assert rules(found) == ["MT-REPO-004", "MT-REPO-004", "MT-REPO-014"]
    assert all("excluded" in f.evidence for f in by_rule(found, "MT-REPO-004"))


def test_component_module_not_analysed_as_python(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text(json.dumps({"unet": ["my_unet", "U"]}))
    (tmp_path / "unet").mkdir()
    (tmp_path / "unet" / "my_unet.py").write_text("x")
    entries = [FileEntry(f"{tmp_path}/model_index.json", 10, "json", Coverage.ANALYSED),
               FileEntry(f"{tmp_path}/unet/my_unet.py", 10, "pickle", Coverage.PARTIAL)]
    found = scan_repository(tmp_path, str(tmp_path), entries, Limits())
    assert [f.rule_id for f in found] == ["MT-REPO-004"]
    assert "analysed as pickle" in found[0].evidence and found[0].path.endswith("model_index.json")


def test_model_index_in_a_subfolder_resolves_there(tmp_path: Path) -> None:
    sd15_repo(tmp_path / "sd", unet=["my_unet", "U"])
    (tmp_path / "sd" / "unet" / "my_unet.py").write_text(MODELING)
    (tmp_path / "sd" / "vae" / "diffusers.py").write_text(PAYLOAD)
    found = repo_findings(tmp_path)
    assert rules(found) == ["MT-REPO-003", "MT-REPO-014"]
    assert by_rule(found, "MT-REPO-014")[0].path.endswith("sd/vae/diffusers.py")


def test_names_that_climb_to_a_file_of_the_folder(tmp_path: Path) -> None:
    sd15_repo(tmp_path, unet=["../vae/evil", "U"], vae=["..\\scheduler\\evil", "V"],
              text_encoder=["/etc/passwd", "T"], tokenizer=["../../outside", "T"])
    (tmp_path / "vae" / "evil.py").write_text(PAYLOAD)
    (tmp_path / "scheduler" / "evil.py").write_text(PAYLOAD)
    (tmp_path.parent / "outside.py").write_text(PAYLOAD)
    found = repo_findings(tmp_path)
    bad = by_rule(found, "MT-REPO-005")
    assert sorted(f.location.detail for f in bad) == ["model_index.json unet",
                                                      "model_index.json vae"]
    assert rules(found) == ["MT-REPO-003", "MT-REPO-005", "MT-REPO-005"]
    assert "outside" not in str(found) and "passwd" not in str(found)
    assert not os.path.exists(MARKER)


@pytest.mark.parametrize("document", [
    "[1, 2]", "not json", '{"unet": ["diffusers"]}', '{"unet": [null, "X"], "vae": [3, 4]}',
    '{"_class_name": ["", "P"], "custom_pipeline": "org/repo", "unet": ["", "U"]}',
    '{"unet\\u0000": ["x\\u0000y", "U"], "a/b": ["c", "D"], ".": ["m", "C"]}',
    json.dumps({f"c{i}": ["diffusers", "X"] for i in range(3000)}),
])
def test_odd_model_index_documents_never_crash(tmp_path: Path, document: str) -> None:
    (tmp_path / "model_index.json").write_text(document)
    found = repo_findings(tmp_path)
    assert found == []


def test_oversized_model_index_is_reported(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from modeltrust._scanners import config_refs

    sd15_repo(tmp_path)
    monkeypatch.setattr(config_refs, "MAX_CONFIG", 64)
    found = [f for f in repo_findings(tmp_path) if f.path.endswith("model_index.json")]
    assert rules(found) == ["MT-REPO-013"]


def test_diffusers_findings_are_deterministic(tmp_path: Path) -> None:
    sd15_repo(tmp_path, unet=["my_unet", "U"])
    (tmp_path / "unet" / "my_unet.py").write_text(MODELING)
    (tmp_path / "text_encoder" / "transformers.py").write_text(PAYLOAD)
    assert scan(tmp_path).findings == scan(tmp_path).findings


# --- text .pth files: site's path-configuration hooks -----------------------------------------

_HOOK = "import os; os.system('touch MARKER_pth')\n"


def _pth_repo(folder: Path, name: str, content: bytes) -> list[Finding]:
    (folder / "model.safetensors").write_bytes(safetensors_bytes())
    (folder / name).write_bytes(content)
    return [f for f in scan(folder).findings if f.path.endswith(name)]


@pytest.mark.parametrize("line", [_HOOK, "import\tos;os.system('x')\n",
                                  "# comment\n\nimport sys; sys.path.insert(0, 'x')\n"])
def test_pth_import_line_is_high(tmp_path: Path, line: str) -> None:
    found = _pth_repo(tmp_path, "zz_hook.pth", line.encode())
    assert rules(found) == ["MT-REPO-015"]
    assert found[0].severity is Severity.HIGH
    assert "import" in found[0].evidence and found[0].location.line == line.count("\n")
    assert not (tmp_path / "MARKER_pth").exists()


def test_pth_path_line_is_medium(tmp_path: Path) -> None:
    found = _pth_repo(tmp_path, "paths.pth", b"../../../../tmp/evilpath\nsecond\n")
    assert rules(found) == ["MT-REPO-015"]
    assert found[0].severity is Severity.MEDIUM and "(and 1 more)" in found[0].evidence


def test_pth_with_both_kinds_of_line(tmp_path: Path) -> None:
    found = _pth_repo(tmp_path, "a.pth", ("lib\n" + _HOOK + _HOOK).encode("utf-8-sig"))
    assert sorted(f.severity.value for f in found) == ["high", "medium"]
    high = next(f for f in found if f.severity is Severity.HIGH)
    assert high.location.line == 2 and "1 more import lines" in high.evidence


def test_comment_only_pth_is_clean(tmp_path: Path) -> None:
    assert _pth_repo(tmp_path, "a.pth", b"# nothing\n\n   \n") == []


def test_pth_that_sniffs_as_pickle_still_shows_its_import_line(tmp_path: Path) -> None:
    found = _pth_repo(tmp_path, "x.pth", ("(\n" + _HOOK).encode())
    assert any(f.rule_id == "MT-REPO-015" and f.severity is Severity.HIGH for f in found)


def test_binary_pth_checkpoints_are_not_hooks(tmp_path: Path) -> None:
    pickled = pickle.dumps({"w": [1.0, 2.0]}, protocol=2)
    assert _pth_repo(tmp_path, "weights.pth", pickled) == []
    assert _pth_repo(tmp_path, "zipped.pth", torch_zip()) == []
    text_pickle = pickle.dumps({"w": [1, 2]}, protocol=0)  # text, but no import line
    assert b"\x00" not in text_pickle and _pth_repo(tmp_path, "old.pth", text_pickle) == []


def test_text_pth_gets_no_mismatch_finding(tmp_path: Path) -> None:
    found = _pth_repo(tmp_path, "paths.pth", b"somewhere\n")
    assert "MT-REPO-011" not in rules(found)


@pytest.mark.parametrize("name", ["m.onnx", "m.gguf", "m.keras", "m.tflite", "saved_model.pb"])
def test_garbage_with_a_model_extension_is_a_finding_alone_or_in_a_folder(
        tmp_path: Path, name: str) -> None:
    """Bad input is a finding even when the file is the scan target itself."""
    (tmp_path / name).write_bytes(b"\x9c\xff\x00garbage, not a model\x00" * 8)
    for target in (tmp_path / name, tmp_path):
        assert [f.rule_id for f in scan(target).findings] == ["MT-REPO-011"]
