"""ConfigScanner: JSON/YAML configs, chat templates handed on, remote code, Keras configs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modeltrust
from _scanners.archive_factory import Run, make_zip, run
from helpers.chat_templates import LLAMA31, QWEN25, REAL_TEMPLATES
from helpers.code_samples import SD15_INDEX
from helpers.corpora import copy_sample, labels
from modeltrust._inventory.formats import Format
from modeltrust._inventory.sniff import sniff
from modeltrust._report.model import Coverage
from modeltrust._scanners import config as config_mod
from modeltrust._scanners.config import ConfigScanner
from modeltrust.findings import Severity

SCANNER = ConfigScanner()
MARKER = "touch /tmp/modeltrust-test-marker-DO-NOT-CREATE"
EVIL = f"{{{{ cycler.__init__.__globals__.os.popen('{MARKER}').read() }}}}"


def scan_json(obj: object, name: str = "tokenizer_config.json") -> Run:
    return run(SCANNER, name, json.dumps(obj).encode(), Format.JSON)


def scan_text(text: str | bytes, name: str, fmt: Format = Format.JSON) -> Run:
    data = text.encode() if isinstance(text, str) else text
    return run(SCANNER, name, data, fmt)


def shown(r: Run) -> list[tuple[str, str, str]]:
    return [(f.rule_id, f.severity.value, f.evidence) for f in r.findings]


# --- chat templates are handed on as their own files -------------------------------------------


def test_chat_template_string_becomes_a_child() -> None:
    r = scan_json({"tokenizer_class": "Qwen2Tokenizer", "chat_template": QWEN25})
    assert r.findings == []
    assert r.names() == ["chat_template.jinja"]
    assert r.child_data("!chat_template.jinja") == QWEN25.encode()
    assert r.result.coverage is Coverage.ANALYSED and "1 template" in r.result.detail


def test_named_templates_become_named_children() -> None:
    r = scan_json({"chat_template": [{"name": "default", "template": LLAMA31},
                                     {"name": "tool_use", "template": QWEN25},
                                     {"name": "../../x y", "template": "{{ a }}"},
                                     {"template": "{{ b }}"}]})
    assert r.names() == ["chat_template.default.jinja", "chat_template.tool_use.jinja",
                         "chat_template.______x_y.jinja", "chat_template.3.jinja"]


@pytest.mark.parametrize("name", ["chat_template.json", "processor_config.json"])
def test_chat_template_json_and_processor_config(name: str) -> None:
    r = scan_json({"chat_template": EVIL}, name)
    assert r.names() == ["chat_template.jinja"]


def test_empty_template_is_skipped() -> None:
    r = scan_json({"chat_template": "  "})
    assert r.children == [] and r.findings == []


def test_other_template_keys_are_handed_on() -> None:
    r = scan_json({"chat_template": "{{ x }}", "custom_chat_template": EVIL,
                   "extra": {"prompt_template": "{% for m in messages %}{% endfor %}"},
                   "description": "no jinja here"})
    assert sorted(r.names()) == ["chat_template.jinja", "custom_chat_template.jinja",
                                 "extra.prompt_template.jinja"]


def test_jinja_in_other_strings_is_checked_in_place() -> None:
    r = scan_json({"deploy": {"script": "{{ __import__('os').system('x') }}"},
                   "prompt": "Answer {{ question }} {{ broken"})
    [f] = r.findings
    assert f.rule_id == "MT-TPL-001" and f.location.detail == "key deploy.script"
    assert r.children == []


# --- remote code references ---------------------------------------------------------------------


def test_local_auto_map_is_info_and_records_files() -> None:
    r = scan_json({"auto_map": {
        "AutoConfig": "configuration_phi3.Phi3Config",
        "AutoModelForCausalLM": "modeling_phi3.Phi3ForCausalLM",
        "AutoTokenizer": ["tokenization_x.XTokenizer", None],
    }}, "config.json")
    infos = r.by_rule("MT-CFG-001")
    assert len(infos) == 3 and {f.severity for f in infos} == {Severity.INFO}
    assert dict(r.result.properties)["config.auto_map.files"] == \
        "configuration_phi3.py,modeling_phi3.py,tokenization_x.py"
    assert any(f.location.detail == "key auto_map.AutoModelForCausalLM" for f in infos)


def test_remote_auto_map_is_high() -> None:
    r = scan_json({"auto_map": {
        "AutoModel": "evil-org/payload--modeling_x.XModel",
        "AutoTokenizer": [None, "evil-org/payload--tok.Fast"],
    }}, "config.json")
    remote = r.by_rule("MT-CFG-002")
    assert len(remote) == 2 and all(f.severity is Severity.HIGH for f in remote)
    assert "from repository evil-org/payload" in remote[0].evidence
    assert dict(r.result.properties)["config.auto_map.remote"] == "evil-org/payload"


def test_remote_tokenizer_and_processor_class() -> None:
    r = scan_json({"tokenizer_class": "org/repo--tokenization.Tok",
                   "processor_class": "Qwen2VLProcessor"})
    assert [f.rule_id for f in r.findings] == ["MT-CFG-002"]


def test_custom_pipelines() -> None:
    r = scan_json({"custom_pipelines": {"text-classification": {
        "impl": "pipeline_x.MyPipeline", "pt": ["AutoModel"]}}}, "config.json")
    assert [f.rule_id for f in r.findings] == ["MT-CFG-001"]
    assert dict(r.result.properties)["config.auto_map.files"] == "pipeline_x.py"


@pytest.mark.parametrize("ref", ["../../etc/passwd.X", "NoDot", "a/b.C", "mod."])
def test_malformed_references(ref: str) -> None:
    r = scan_json({"auto_map": {"AutoModel": ref}}, "config.json")
    assert [f.rule_id for f in r.findings] == ["MT-CFG-007"]


def test_trust_remote_code_flag() -> None:
    r = scan_json({"model": {"trust_remote_code": True}, "other": {"trust_remote_code": False}},
                  "config.json")
    [f] = r.findings
    assert f.rule_id == "MT-CFG-003" and f.severity is Severity.MEDIUM
    assert f.evidence == "model.trust_remote_code: true"


# --- malformed, duplicate, huge ---------------------------------------------------------------


def test_duplicate_keys() -> None:
    r = scan_text('{"a": 1, "a": 2, "chat_template": "x", "chat_template": "{{ y }}"}',
                  "tokenizer_config.json")
    dup = {f.evidence.split('"')[1]: f.severity for f in r.by_rule("MT-CFG-004")}
    assert dup == {"a": Severity.LOW, "chat_template": Severity.MEDIUM}
    assert r.child_data("chat_template.jinja") == b"{{ y }}"


@pytest.mark.parametrize(("text", "name", "severity", "reason"), [
    ('{"chat_template": "{{ x }}", "model', "tokenizer_config.json", Severity.MEDIUM,
     "truncated"),
    ('{"a": 1,, }', "config.json", Severity.MEDIUM, "invalid"),
    ('{"a": 1,, }', "weights_index.json", Severity.LOW, "invalid"),
    (b'{"a": "\xff"}', "config.json", Severity.MEDIUM, "UTF-8"),
    ('{"a": ' + "1" * 5000 + "}", "config.json", Severity.MEDIUM, "invalid"),
    ("[" * 100_000 + "]" * 100_000, "config.json", Severity.MEDIUM, "deep"),
])
def test_unparseable_json(text: str | bytes, name: str, severity: Severity, reason: str) -> None:
    r = scan_text(text, name)
    [f] = r.by_rule("MT-CFG-005")
    assert f.severity is severity and reason in f.evidence, f.evidence
    assert r.result.coverage is Coverage.PARTIAL


def test_nesting_limit() -> None:
    r = scan_text("[" * 150 + "]" * 150, "config.json")
    assert r.by_rule("MT-CFG-006") and r.result.coverage is Coverage.PARTIAL


def test_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_mod, "MAX_JSON_BYTES", 100)
    r = scan_json({"x": "a" * 200}, "config.json")
    assert r.by_rule("MT-CFG-006") and r.result.coverage is Coverage.NOT_ANALYSED


def test_template_count_limit() -> None:
    r = scan_json({"chat_template": [{"name": str(i), "template": "{{ x }}"}
                                     for i in range(100)]})
    assert len(r.children) == config_mod.MAX_TEMPLATES


# --- YAML ---------------------------------------------------------------------------------------


def test_yaml_templates_and_scripts() -> None:
    text = (f"chat_template: \"{EVIL}\"\n"
            "serving:\n  prompt_template: '{{ messages[0].content }}'\n"
            "deploy_script: \"{{ __import__('subprocess').call(['x']) }}\"\n"
            "temperature: 0.7\n")
    r = scan_text(text, "model_config.yaml", Format.YAML)
    assert sorted(r.names()) == ["chat_template.jinja", "serving.prompt_template.jinja"]
    assert [f.rule_id for f in r.findings] == ["MT-TPL-001"]
    assert r.result.format is Format.YAML


def test_yaml_python_tags_are_high() -> None:
    r = scan_text(f"model: !!python/object/apply:os.system ['{MARKER}']\n", "c.yaml",
                  Format.YAML)
    [tag] = r.by_rule("MT-CFG-009")
    assert tag.severity is Severity.HIGH and tag.location.line == 1
    assert tag.evidence.startswith("!!python/object/apply:os.system")
    assert r.by_rule("MT-CFG-005")  # safe_load refuses the tag


def test_protocol0_pickle_named_yaml_is_also_handed_to_the_pickle_scanner() -> None:
    payload = f"cos\nsystem\n(S'{MARKER}'\ntR.".encode()
    r = scan_text(payload, "config.yaml", Format.YAML)
    assert r.child_data("config.yaml!@pickle") == payload
    clean = scan_text("chat_name: x\ncount: 1\n", "c.yaml", Format.YAML)
    assert clean.children == [] and clean.findings == []


def test_protocol0_pickle_named_yaml_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(f"cos\nsystem\n(S'{MARKER}'\ntR.".encode())
    report = modeltrust.scan(path)
    assert report.max_severity is not None and report.max_severity >= Severity.HIGH


def test_yaml_invalid_and_alias_bomb() -> None:
    r = scan_text("a: [1, 2\nb: :\n", "x.yaml", Format.YAML)
    assert r.by_rule("MT-CFG-005")[0].severity is Severity.LOW
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    start = time.monotonic()
    r = scan_text(bomb, "bomb.yaml", Format.YAML)
    assert time.monotonic() - start < 10
    assert r.result.coverage is Coverage.ANALYSED


# --- Keras configs ---------------------------------------------------------------------------


def _record_keras(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, str, str]]:
    calls: list[tuple[Any, str, str]] = []

    def fake(config: object, artifact: Any, ctx: Any, where: str) -> None:
        calls.append((config, artifact.path, where))

    import modeltrust._scanners.keras as keras_mod

    monkeypatch.setattr(keras_mod, "check_keras_config", fake)
    return calls


def test_keras_config_is_handed_to_the_keras_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record_keras(monkeypatch)
    cfg = {"module": "keras", "class_name": "Sequential", "config": {"layers": []},
           "registered_name": None}
    r = scan_json(cfg, "model_config.json")
    assert calls == [(cfg, "model_config.json", "model_config.json")]
    assert "Keras" in r.result.detail


def test_config_json_inside_a_keras_zip(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record_keras(monkeypatch)
    scan_json({"anything": 1}, "model.keras!config.json")
    assert calls and calls[0][2] == "config.json"
    calls.clear()
    scan_json({"class_name": "x", "config": {}}, "tokenizer_config.json")
    assert calls == []


# --- properties ---------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([Format.JSON, Format.YAML]))
def test_arbitrary_bytes_never_raise(data: bytes, fmt: Format) -> None:
    r = scan_text(data, "config.json" if fmt is Format.JSON else "c.yaml", fmt)
    assert r.result.coverage in (Coverage.ANALYSED, Coverage.PARTIAL)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["chat_template", "auto_map", "template", "trust_remote_code", "x",
                         "tokenizer_class", "custom_pipelines", "name", "impl"]),
        inner, max_size=4),
    max_leaves=30)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_documents_never_raise(doc: object) -> None:
    r = scan_json(doc, "config.json")
    assert r.result.coverage in (Coverage.ANALYSED, Coverage.PARTIAL)


# --- end to end -----------------------------------------------------------------------------


def test_end_to_end_real_templates_are_clean(tmp_path: Path) -> None:
    for name, template in REAL_TEMPLATES.items():
        (tmp_path / f"{name}.jinja").write_text(template)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(
        {"chat_template": [{"name": "default", "template": LLAMA31},
                           {"name": "tool_use", "template": QWEN25}]}))
    report = modeltrust.scan(tmp_path)
    assert not report.findings, report.findings
    assert len(report.files) == len(REAL_TEMPLATES) + 3
    assert all(f.coverage is Coverage.ANALYSED for f in report.files)


def test_end_to_end_config_with_remote_code_and_template(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(
        {"auto_map": {"AutoModel": "modeling_x.XModel",
                      "AutoConfig": "someone/else--configuration_x.XConfig"}}))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": EVIL}))
    report = modeltrust.scan(tmp_path)
    rules = sorted((f.rule_id, Path(f.path).name) for f in report.findings
                   if f.rule_id.startswith(("MT-CFG", "MT-TPL")))
    assert rules == [("MT-CFG-001", "config.json"), ("MT-CFG-002", "config.json"),
                     ("MT-TPL-001", "tokenizer_config.json!chat_template.jinja")]
    entry = next(e for e in report.files if e.path.endswith("config.json")
                 and "tokenizer" not in e.path)
    assert dict(entry.properties)["config.auto_map.files"] == "modeling_x.py"


def test_end_to_end_template_inside_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(make_zip([("model/tokenizer_config.json",
                                json.dumps({"chat_template": EVIL}).encode())]))
    report = modeltrust.scan(path)
    assert [f.rule_id for f in report.findings] == ["MT-TPL-001"]
    assert report.findings[0].path.endswith(
        "bundle.zip!model/tokenizer_config.json!chat_template.jinja")


# --- the labelled corpus ----------------------------------------------------------------------

JINJA_LABELS = {k: v for k, v in labels("modelaudit").items() if k.startswith("samples/jinja2/")}
MISLABELLED = {"samples/jinja2/tokenizer_config.json": "malicious"}
"""Byte-identical to malicious_cve_2024_34359.json (the CVE-2024-34359 payload), yet labelled
benign upstream; it is held to the malicious verdict its content demands."""


@pytest.mark.parametrize(("rel", "label"), sorted(JINJA_LABELS.items()), ids=sorted(JINJA_LABELS))
def test_modelaudit_jinja_corpus(rel: str, label: str, tmp_path: Path) -> None:
    label = MISLABELLED.get(rel, label)
    sample = copy_sample("modelaudit", rel, tmp_path)
    if sample.suffix in (".yaml", ".yml"):
        assert sniff(sample.read_bytes(), sample.suffix).format is Format.YAML
    report = modeltrust.scan(sample)
    worst = report.max_severity
    text = "\n".join(f"{f.severity.value} {f.rule_id} {f.path}: {f.evidence}"
                     for f in report.findings)
    assert report.files and all(f.coverage is not Coverage.NOT_ANALYSED for f in report.files)
    if label == "malicious":
        assert worst is not None and worst >= Severity.HIGH, text or "no findings"
    elif label == "benign":
        assert worst is None or worst < Severity.MEDIUM, text
    elif label == "malformed":
        assert report.findings, "a malformed file must produce a finding"


@pytest.mark.parametrize("name", ["config.json", "tokenizer_config.json", "processor_config.json",
                                  "preprocessor_config.json"])
def test_other_repository_in_every_hf_config(name: str) -> None:
    r = scan_json({"auto_map": {
        "AutoTokenizer": ["evil-org/slow--tok.Slow", "evil-org/fast--tok.Fast"],
        "AutoProcessor": "evil-org/proc--processing_x.P",
        "AutoModel": "modeling_x.M",
    }}, name)
    assert sorted(f.evidence.split(" = ")[1].split(":")[0] for f in r.by_rule("MT-CFG-002")) == [
        '"evil-org/fast--tok.Fast"', '"evil-org/proc--processing_x.P"',
        '"evil-org/slow--tok.Slow"']
    assert all(f.severity is Severity.HIGH for f in r.by_rule("MT-CFG-002"))
    assert [f.severity for f in r.by_rule("MT-CFG-001")] == [Severity.INFO]


# --- encodings json.loads(bytes) accepts ------------------------------------------------------

LIPSUM = "{{ lipsum.__globals__['os'].popen('" + MARKER + "').read() }}"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-32-be"])
def test_config_in_any_json_encoding_is_parsed(encoding: str) -> None:
    data = json.dumps({"auto_map": {"AutoModel": "org/x--modeling.M"},
                       "chat_template": EVIL}).encode(encoding)
    r = scan_text(data, "config.json")
    assert r.rules() == ["MT-CFG-002"] and r.names() == ["chat_template.jinja"]


def test_undecodable_wide_json_is_a_finding() -> None:
    r = scan_text(b"{\x00\x00\xd8\x00", "config.json")  # UTF-16-LE guess, lone surrogate cut
    assert r.by_rule("MT-CFG-005") and r.result.coverage is Coverage.PARTIAL


def test_utf16_template_and_utf32_remote_code_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "tokenizer_config.json").write_bytes(
        json.dumps({"tokenizer_class": "PreTrainedTokenizerFast",
                    "chat_template": LIPSUM}).encode("utf-16"))
    (tmp_path / "config.json").write_bytes(json.dumps(
        {"model_type": "x", "auto_map": {"AutoModel": "evil-org/payload--modeling_x.M"}}
    ).encode("utf-32"))
    report = modeltrust.scan(tmp_path)
    got = {(f.rule_id, Path(f.path.split("!")[0]).name): f.severity for f in report.findings}
    assert got[("MT-TPL-001", "tokenizer_config.json")] is Severity.CRITICAL
    assert got[("MT-CFG-002", "config.json")] is Severity.HIGH
    assert not Path(MARKER.split()[-1]).exists()


# --- chat_template as a mapping {name: template} (transformers' own form) ----------------------


def test_chat_template_mapping_is_handed_on_with_its_names() -> None:
    r = scan_json({"chat_template": {"default": LIPSUM, "tool_use": QWEN25, "rag": "  ",
                                     "odd": {"template": EVIL}, "n": 3}})
    assert r.names() == ["chat_template.default.jinja", "chat_template.tool_use.jinja",
                         "chat_template.odd.template.jinja"]
    assert r.child_data("chat_template.default.jinja") == LIPSUM.encode()
    assert r.findings == []  # each string analysed once, as its own template


def test_chat_template_mapping_end_to_end_is_critical(tmp_path: Path) -> None:
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(
        {"chat_template": {"default": LLAMA31, "tool_use": LIPSUM}}))
    report = modeltrust.scan(tmp_path)
    [f] = [f for f in report.findings if f.rule_id == "MT-TPL-001"]
    assert f.severity is Severity.CRITICAL
    assert f.path.endswith("tokenizer_config.json!chat_template.tool_use.jinja")


def test_chat_template_oddities_are_not_skipped() -> None:
    # list items transformers would not accept, and names carrying Jinja: still analysed
    r = scan_json({"chat_template": [EVIL, {"name": "{{ x }}", "template": "{{ y }}"},
                                     {"name": "t", "template": ["{{ z }}"]}]})
    assert "chat_template.t.jinja" not in r.names()
    assert r.by_rule("MT-TPL-001")  # the bare string, analysed in place
    over = scan_json({"chat_template": [{"name": str(i), "template": "{{ x }}"}
                                        for i in range(70)]})
    assert over.result.coverage is Coverage.PARTIAL and "templates" in over.result.reason


# --- ModelScope configuration.json --------------------------------------------------------------


@pytest.mark.parametrize("value", [True, 1, "yes", "true"])
def test_modelscope_allow_remote_is_a_trust_flag(value: object) -> None:
    r = scan_json({"framework": "pytorch", "task": "text-generation", "allow_remote": value},
                  "configuration.json")
    [f] = r.findings
    assert f.rule_id == "MT-CFG-003" and f.severity is Severity.MEDIUM
    assert f.evidence.startswith(f"allow_remote: {json.dumps(value)}")
    assert "ModelScope" in f.evidence
    assert f.location.detail == "key allow_remote"


@pytest.mark.parametrize("value", [False, 0, "", None, [], {}])
def test_allow_remote_off_is_quiet(value: object) -> None:
    assert scan_json({"allow_remote": value, "trust_remote_code": value},
                     "configuration.json").findings == []


def test_trust_remote_code_truthy_string_is_reported() -> None:
    [f] = scan_json({"model": {"trust_remote_code": "True"}}, "config.json").findings
    assert f.rule_id == "MT-CFG-003" and f.evidence == 'model.trust_remote_code: "True"'


def test_modelscope_plugins_are_remote_code() -> None:
    r = scan_json({"framework": "pytorch", "plugins": ["some-package>=1.0"]},
                  "configuration.json")
    [f] = r.findings
    assert f.rule_id == "MT-CFG-002" and "pip-installs" in f.evidence
    assert scan_json({"plugins": ["x"]}, "other.json").findings == []


def test_configuration_json_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "configuration.json").write_text(json.dumps(
        {"framework": "pytorch", "task": "chat", "allow_remote": True,
         "model": {"type": "my-model"}}))
    report = modeltrust.scan(tmp_path)
    assert [(f.rule_id, Path(f.path).name) for f in report.findings] == [
        ("MT-CFG-003", "configuration.json")]
    bad = scan_text('{"allow_remote": true,', "configuration.json")
    assert bad.by_rule("MT-CFG-005")[0].severity is Severity.MEDIUM  # a well-known name


# --- diffusers model_index.json ------------------------------------------------------------------



def test_standard_model_index_is_quiet() -> None:
    r = scan_json(SD15_INDEX, "model_index.json")
    assert r.findings == [] and "config.auto_map.files" not in dict(r.result.properties)
    if_index = {"_class_name": "IFPipeline", "safety_checker": ["deepfloyd_if", "IFSafetyChecker"],
                "watermarker": ["deepfloyd_if", "IFWatermarker"], "boxes": [1, 2]}
    assert scan_json(if_index, "model_index.json").findings == []


def test_model_index_custom_pipeline_and_components() -> None:
    r = scan_json({**SD15_INDEX, "_class_name": ["pipeline_t2v", "TextToVideoPipeline"],
                   "unet": ["my_unet_module", "MyUNet"],
                   "vae": ["custom_vae", "Vae"]}, "model_index.json")
    got = {f.location.detail: f for f in r.by_rule("MT-CFG-001")}
    assert sorted(got) == ["key _class_name", "key unet", "key vae"]
    assert all(f.severity is Severity.INFO for f in got.values())
    assert "unet/my_unet_module.py" in got["key unet"].evidence
    assert dict(r.result.properties)["config.auto_map.files"] == \
        "pipeline_t2v.py,unet/my_unet_module.py,vae/custom_vae.py"


@pytest.mark.parametrize("entry", [{"unet": ["../../evil", "X"]}, {"unet": ["m", "a.b/c"]},
                                   {"_class_name": ["../x", "P"]},
                                   {"_class_name": ["mod", 3]}])
def test_model_index_malformed_references(entry: dict[str, Any]) -> None:
    r = scan_json({**SD15_INDEX, **entry}, "model_index.json")
    assert r.rules() == ["MT-CFG-007"]


def test_model_index_custom_pipeline_key() -> None:
    r = scan_json({**SD15_INDEX, "custom_pipeline": "evil-org/pipe"}, "model_index.json")
    assert r.rules() == ["MT-CFG-002"]
    local = scan_json({**SD15_INDEX, "custom_pipeline": "my_pipe"}, "model_index.json")
    assert local.rules() == ["MT-CFG-001"]
    assert dict(local.result.properties)["config.auto_map.files"] == "my_pipe.py"


def test_model_index_only_in_model_index() -> None:
    assert scan_json({"unet": ["my_unet_module", "MyUNet"]}, "other.json").findings == []


# --- Keras configs that are not objects, or do not parse ----------------------------------------


def test_keras_config_that_is_a_list_is_checked_and_malformed(monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    calls = _record_keras(monkeypatch)
    r = scan_json([{"class_name": "Dense"}], "m.keras!config.json")
    assert calls == [([{"class_name": "Dense"}], "m.keras!config.json", "config.json")]
    assert r.rules() == ["MT-KRS-007"]


def test_keras_config_that_is_a_string_is_malformed() -> None:
    r = scan_json("Sequential", "m.keras!config.json")
    assert r.rules() == ["MT-KRS-007"] and "str" in r.findings[0].evidence


@pytest.mark.parametrize("member", ["config.json", "metadata.json"])
def test_unparseable_keras_members_get_a_keras_finding(member: str) -> None:
    r = scan_text('{"class_name": ', f"m.keras!{member}")
    assert "MT-KRS-007" in r.rules() and "MT-CFG-005" in r.rules()
    other = scan_text('{"class_name": ', "m.keras!assets/config.json")
    assert "MT-KRS-007" not in other.rules()


def test_keras_config_shadowed_by_a_duplicate_key_is_checked(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    calls = _record_keras(monkeypatch)
    scan_text('{"class_name": "Sequential", "config": {"layers": [1]}, "config": {}}',
              "m.keras!config.json")
    assert [c[0] for c in calls] == [{"class_name": "Sequential", "config": {}},
                                     {"layers": [1]}]
    assert calls[1][2] == "config.json (shadowed)"


# --- the split: rules declared once, hub knowledge shared with the repository pass -----------


def test_config_rules_are_declared_once_and_shared() -> None:
    from modeltrust import rules as registry
    from modeltrust._scanners import config_rules

    assert ConfigScanner.rules is config_rules.RULES
    assert [r.id for r in config_rules.RULES] == [f"MT-CFG-00{i}" for i in range(1, 10)]
    assert all(registry.get(r.id) is r for r in config_rules.RULES)


def test_diffusers_refs_cover_every_component_with_its_role() -> None:
    from modeltrust._scanners.config_hubs import diffusers_refs

    refs = {r.key: r for r in diffusers_refs({**SD15_INDEX, "unet": ["my_unet", "U"],
                                              "_class_name": ["pipe", "P"]})}
    assert sorted(refs) == ["_class_name", "feature_extractor", "safety_checker", "scheduler",
                            "text_encoder", "tokenizer", "unet", "vae"]  # image_encoder: null
    assert (refs["vae"].file, refs["vae"].shadows) == ("vae/diffusers.py", "library")
    assert refs["text_encoder"].shadows == "library"
    assert refs["safety_checker"].shadows == "pipeline"
    assert (refs["unet"].file, refs["unet"].shadows) == ("unet/my_unet.py", "")
    assert (refs["_class_name"].file, refs["_class_name"].shadows) == ("pipe.py", "")


def test_diffusers_modules_join_paths_as_diffusers_does() -> None:
    from modeltrust._scanners.config_hubs import diffusers_modules

    asked: list[tuple[str, bool]] = []

    def present(target: str, plain: bool) -> str | None:
        asked.append((target, plain))
        return target

    index = {"a": ["/etc/passwd", "X"], "b": ["C:\\Windows\\x", "X"], "c": ["../../../up", "X"],
             "d": ["../d2/m", "X"], "e": ["..\\e2\\m", "X"], "f": ["mod", "X"],
             "_g": ["private", "X"]}
    found = diffusers_modules(index, "sub", present)
    assert asked == [("sub/d2/m.py", False), ("sub/e2/m.py", False), ("sub/f/mod.py", True)]
    assert [(m.ref.key, m.plain, m.exact) for m in found] == [
        ("d", False, True), ("e", False, True), ("f", True, True)]
    assert diffusers_modules(index, "", lambda t, p: None) == []


@pytest.mark.parametrize(("name", "text", "rule"), [
    ("x.yaml", "allow_remote: 2020-01-01\n", "MT-CFG-003"),
    ("configuration.json", "plugins: &a [*a]\n", "MT-CFG-002"),
    ("configuration.json", "plugins: {2020-01-01: b}\n", "MT-CFG-002"),
    ("model_index.json", "_class_name: &a [*a, x]\n", "MT-CFG-007"),
    ("model_index.json", "_class_name: [2020-01-01, x]\n", "MT-CFG-007"),
    ("model_index.json", "unet: [!!binary aGk=, 2020-01-01]\nvae: [m, 2020-01-01]\n",
     "MT-CFG-007"),
])
def test_yaml_values_json_cannot_show_are_still_reported(name: str, text: str,
                                                         rule: str) -> None:
    r = scan_text(text, name, Format.YAML)
    assert r.rules() == [rule] and r.findings[0].evidence
