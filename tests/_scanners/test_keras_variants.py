"""Keras attack variants beyond the published samples: nesting, encodings, gadgets, HDF5.

Every malicious sample carries a harmless marker command; nothing here loads a model.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import marshal
import os
import pickle
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modeltrust
from _scanners.archive_factory import run
from helpers import kerasfx as kf
from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners import _marshal
from modeltrust._scanners.interface import ScanContext
from modeltrust._scanners.keras import KerasScanner, check_keras_config
from modeltrust._source.interface import Artifact, ExpansionBudget, Limits
from modeltrust.findings import Finding, Severity

h5py = pytest.importorskip("h5py")
np = pytest.importorskip("numpy")
MARKER = Path(kf.MARKER_CMD.split()[-1])


def check(config: object) -> list[Finding]:
    ctx = ScanContext(Limits(), ExpansionBudget(1 << 30), lambda a: None)
    check_keras_config(config, Artifact.from_bytes("m.keras!config.json", b"", 1), ctx,
                       "config.json")
    return ctx.findings


def worst(findings: list[Finding]) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for f in findings:
        out[f.rule_id] = max(out.get(f.rule_id, Severity.INFO), f.severity)
    return out


def fn(module: str, name: str, registered: str | None = None) -> dict[str, Any]:
    return {"module": module, "class_name": "function", "config": name,
            "registered_name": registered}


# --- Lambda bytecode: nesting and encodings -----------------------------------------------


def test_lambda_nested_in_wrappers_inside_functional() -> None:
    inner = kf.sequential(kf.lambda_k3(kf.marker_code_b64()))
    td = {"module": "keras.layers", "class_name": "TimeDistributed", "config": {"layer": inner}}
    bi = {"module": "keras.layers", "class_name": "Bidirectional",
          "config": {"layer": td, "backward_layer": None}}
    model = {"module": "keras", "class_name": "Functional",
             "config": {"name": "f", "layers": [bi]}}
    hits = [f for f in check(model) if f.rule_id == "MT-KRS-001"]
    assert len(hits) == 1 and hits[0].severity is Severity.CRITICAL
    assert hits[0].location.detail == ("config.json: .config.layers[0].config.layer.config.layer"
                                       ".config.layers[1].config.function.config.code")
    assert "'os'" in hits[0].evidence and "system" in hits[0].evidence


def _obfuscations() -> dict[str, str]:
    b64 = kf.marker_code_b64()
    raw = base64.b64decode(b64)
    return {
        "junk prefix": "*" + b64,
        "padding first": "====" + b64,
        "junk inside": b64[:8] + "!-_" + b64[8:],
        "no newlines": b64.replace("\n", ""),
        "leading whitespace": "\n\t  " + b64,
        "raw marshal bytes as text": raw.decode("latin-1"),
    }


@pytest.mark.parametrize("variant", sorted(_obfuscations()))
def test_lambda_code_hidden_from_strict_base64(variant: str) -> None:
    """Keras decodes leniently (junk skipped, raw bytes accepted): so must the scanner."""
    code = _obfuscations()[variant]
    for cfg in (kf.sequential(kf.lambda_k3(code)), kf.sequential_k2(kf.lambda_k2(code))):
        got = [f for f in check(cfg) if f.rule_id == "MT-KRS-001"]
        assert got and got[0].severity is Severity.CRITICAL, variant
        assert "dangerous=['__import__', 'os', 'system']" in got[0].evidence


def test_lambda_value_key_and_tuple_form() -> None:
    """Older Keras 3 wrote ``__lambda__`` with ``value: [code, defaults, closure]``."""
    act = {"class_name": "__lambda__", "config": {"value": ["-" + kf.marker_code_b64(), None,
                                                             None]}}
    findings = check(kf.sequential(kf.dense(activation=act)))
    assert worst(findings) == {"MT-KRS-001": Severity.CRITICAL}
    assert (findings[0].location.detail or "").endswith(".activation.config.value[0]")


@pytest.mark.parametrize("key", ["output_shape", "mask"])
def test_keras2_lambda_output_shape_and_mask_bytecode(key: str) -> None:
    layer = kf.lambda_k2("identity", function_type="function", module="keras.activations")
    layer["config"][key] = "*" + kf.marker_code_b64()
    layer["config"][f"{key}_type"] = "lambda"
    findings = check(kf.sequential_k2(layer))
    hit = [f for f in findings if f.rule_id == "MT-KRS-001"]
    assert hit and (hit[0].location.detail or "").endswith(f".config.{key}")


def test_keras2_raw_output_shape_is_not_code() -> None:
    layer = kf.lambda_k2("identity", function_type="function", module="keras.activations")
    layer["config"].update(output_shape=[None, 4], output_shape_type="raw")
    assert worst(check(kf.sequential_k2(layer))) == {"MT-KRS-003": Severity.MEDIUM}


@pytest.mark.parametrize("layout", ["py2", "py3.7", "py3.8", "py3.11"])
def test_lambda_code_of_every_python_layout(layout: str) -> None:
    cfg = kf.sequential_k2(kf.lambda_k2(kf.fake_code_b64(layout)))
    got = [f for f in check(cfg) if f.rule_id == "MT-KRS-001"]
    assert got and "dangerous=['__import__', 'os', 'system']" in got[0].evidence
    assert kf.MARKER_CMD in got[0].evidence


def _interpreters() -> list[str]:
    found = []
    for v in ("2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"):
        cands = sorted(Path.home().glob(f".pyenv/versions/{v}.*/bin/python"))
        exe = str(cands[-1]) if cands else shutil.which(f"python{v}")
        if exe and "shims" not in exe:
            found.append(exe)
    return found


@pytest.mark.parametrize("exe", _interpreters() or [pytest.param("", marks=pytest.mark.skip(
    reason="no other Python interpreters installed"))])
def test_lambda_code_from_real_interpreters(exe: str) -> None:
    """Real ``marshal.dumps(compile(...))`` output of other CPython versions (compiled only)."""
    src = ("import marshal, base64, sys; sys.stdout.write(base64.b64encode(marshal.dumps("
           f"compile({kf.MARKER_SRC!r} + ' or [y for y in x]', '<lambda>', 'eval'))).decode())")
    out = subprocess.run([exe, "-c", src], capture_output=True, check=True, timeout=60).stdout
    info = _marshal.read_code(base64.b64decode(out))
    assert {"__import__", "system"} <= info.names and "os" in info.consts
    got = check(kf.sequential_k2(kf.lambda_k2(out.decode())))
    assert worst(got) == {"MT-KRS-001": Severity.CRITICAL}
    assert not MARKER.exists()


def test_python2_string_references() -> None:
    inner = kf.FakeCode(("system", "popen"), ("os",))
    raw = kf.FakeCode(("system", "system"), ("os", "os", inner)).dump("py2")
    assert b"R" in raw
    info = _marshal.read_code(raw)
    assert info.names == {"system", "popen"} and info.layout == "python2"


def test_garbage_marshal_with_code_header_is_critical() -> None:
    junk = base64.b64encode(b"\xe3" + bytes(range(256)) * 2).decode()
    findings = check(kf.sequential_k2(kf.lambda_k2(junk)))
    assert worst(findings) == {"MT-KRS-001": Severity.CRITICAL}
    assert "cannot decode" in findings[0].evidence


def test_lambda_string_that_is_not_code_is_high() -> None:
    findings = check(kf.sequential_k2(kf.lambda_k2(base64.b64encode(b"x" * 40).decode())))
    assert worst(findings) == {"MT-KRS-002": Severity.HIGH}


def test_code_hidden_in_an_unrelated_field_is_found() -> None:
    cfg = kf.sequential(kf.dense(note="*" + kf.marker_code_b64()))
    assert worst(check(cfg)) == {"MT-KRS-001": Severity.CRITICAL}


def test_ordinary_strings_are_not_code() -> None:
    words = ["categorical_crossentropy", "c" * 64, "Y" * 64, "cYcYcYcYcYcYcYcYcYcYcYcYcY",
             base64.b64encode(marshal.dumps((1, 2, 3)) * 4).decode()]
    cfg = kf.sequential(kf.dense(name="d", notes=words))
    assert check(cfg) == []


# --- modules, registered names, gadgets ---------------------------------------------------


@pytest.mark.parametrize("module", ["builtins", "os", "posix", "subprocess"])
def test_stdlib_module_with_class_name_system(module: str) -> None:
    layer = {"module": module, "class_name": "system", "config": {}, "registered_name": None}
    assert worst(check(kf.sequential(layer))) == {"MT-KRS-004": Severity.CRITICAL}


def test_registered_name_with_custom_package_under_keras_module() -> None:
    layer = {"module": "keras.layers", "class_name": "Dense", "config": {"units": 1},
             "registered_name": "evil_pkg>Dense"}
    findings = check(kf.sequential(layer))
    assert worst(findings) == {"MT-KRS-004": Severity.MEDIUM}
    assert "evil_pkg" in findings[0].evidence


def test_dotted_class_name_without_module() -> None:
    layer = {"class_name": "subprocess.Popen", "config": {}}
    assert worst(check(kf.sequential_k2(layer))) == {"MT-KRS-004": Severity.HIGH}


@pytest.mark.parametrize(("module", "name", "sev"), [
    ("keras.utils", "get_file", Severity.HIGH),
    ("keras_hub.src.utils.preset_utils", "get_file", Severity.HIGH),
    ("keras.src.utils.file_utils", "rmtree", Severity.HIGH),
    ("keras.src.utils.file_utils", "copy", Severity.HIGH),
    ("keras.src.utils.file_utils", "extract_archive", Severity.HIGH),
    ("keras.src.utils.python_utils", "func_load", Severity.CRITICAL),
    ("keras.src.backend.common.global_state", "set_global_attribute", Severity.CRITICAL),
    ("keras.config", "enable_unsafe_deserialization", Severity.CRITICAL),
    ("keras.models", "load_model", Severity.HIGH),
    ("keras.src.saving.serialization_lib", "deserialize_keras_object", Severity.HIGH),
    ("keras.utils", "plot_model", Severity.HIGH),
    ("keras.src.random.seed_generator", "draw_seed", Severity.MEDIUM),
])
def test_keras_internal_gadgets(module: str, name: str, sev: Severity) -> None:
    findings = check(kf.sequential(kf.dense(activation=fn(module, name))))
    assert worst(findings) == {"MT-KRS-005": sev}
    assert name in findings[0].evidence


def test_gadget_through_registered_name_fallback() -> None:
    """Keras looks ``registered_name`` up in the module when ``class_name`` is missing."""
    layer = {"module": "keras.src.utils.file_utils", "class_name": "NoSuchClass",
             "config": {}, "registered_name": "rmtree"}
    assert worst(check(kf.sequential(layer))) == {"MT-KRS-005": Severity.HIGH}


def test_typespec_spec_name_is_resolved() -> None:
    foreign = {"class_name": "__typespec__", "spec_name": "system", "module": "os",
               "config": [], "registered_name": None}
    assert worst(check(kf.sequential(kf.dense(extra=foreign)))) == {
        "MT-KRS-004": Severity.CRITICAL}
    inside = dict(foreign, module="keras.utils", spec_name="get_file")
    assert worst(check(kf.sequential(kf.dense(extra=inside)))) == {"MT-KRS-005": Severity.HIGH}


@pytest.mark.parametrize("module", ["tensorflow.io", "tensorflow.python.ops.gen_io_ops",
                                    "tensorflow.python.platform.gfile", "tensorflow"])
def test_tensorflow_file_ops_are_critical(module: str) -> None:
    act = fn(module, "write_file")
    assert worst(check(kf.sequential(kf.dense(activation=act)))) == {
        "MT-KRS-004": Severity.CRITICAL}


@pytest.mark.parametrize(("function", "sev"), [
    ("io.write_file", Severity.HIGH), ("compat.v1.io.read_file", Severity.HIGH),
    ("io.gfile.GFile", Severity.HIGH), ("raw_ops.WriteFile", Severity.HIGH),
    ("py_function", Severity.HIGH), ("numpy_function", Severity.HIGH),
    ("print", Severity.MEDIUM), ("raw_ops.Add", Severity.MEDIUM),
    ("math.add", None), ("__operators__.getitem", None), ("compat.v1.squeeze", None),
    ("reshape", None), ("nn.softmax", None), ("linalg.matmul", None), ("concat", None),
])
def test_tf_op_lambda(function: str, sev: Severity | None) -> None:
    layer = {"class_name": "TFOpLambda", "config": {"name": f"tf.{function}", "trainable": True,
                                                    "dtype": "float32", "function": function}}
    got = worst(check(kf.sequential_k2(layer)))
    assert got == ({"MT-KRS-005": sev} if sev else {})


def test_cve_2025_9906_chain_set_global_attribute_then_load_model() -> None:
    """A Lambda calling ``set_global_attribute('safe_mode_saving', False)``, then one calling
    ``load_model(path, safe_mode=False)`` on a second model."""
    flip = {"module": "keras.layers", "class_name": "Lambda", "config": {
        "name": "flip", "arguments": {"value": False},
        "function": fn("keras.src.backend.common.global_state", "set_global_attribute",
                       "function")},
        "inbound_nodes": [{"args": [], "kwargs": {"inputs": "safe_mode_saving"}}]}
    load = {"module": "keras.layers", "class_name": "Lambda", "config": {
        "name": "load", "arguments": {"safe_mode": False},
        "function": fn("keras.models", "load_model", "function")},
        "inbound_nodes": [{"args": [], "kwargs": {"inputs": "/tmp/stage2/model.keras"}}]}
    findings = check(kf.sequential(flip, load))
    crit = {(f.location.detail or "").rsplit(": ", 1)[-1] for f in findings
            if f.rule_id == "MT-KRS-005" and f.severity is Severity.CRITICAL}
    assert {".config.layers[1].config.function", ".config.layers[1].inbound_nodes[0].kwargs."
            "inputs", ".config.layers[2].config.arguments.safe_mode"} <= crit
    paths = [f for f in findings if f.rule_id == "MT-KRS-006"]
    assert paths and "/tmp/stage2/model.keras" in paths[0].evidence


def test_absolute_paths_anywhere_are_medium_and_relative_ones_fine() -> None:
    assert worst(check(kf.sequential(kf.dense(note="/home/u/.ssh/id_rsa")))) == {
        "MT-KRS-006": Severity.MEDIUM}
    assert worst(check(kf.sequential(kf.dense(log_dir="/var/log/x")))) == {
        "MT-KRS-006": Severity.HIGH}
    assert check(kf.sequential(kf.dense(note="assets/vocab.txt", other="a/b"))) == []


def test_realistic_functional_configs_are_clean() -> None:
    tensor = {"class_name": "__keras_tensor__", "config": {
        "shape": [None, 4], "dtype": "float32", "keras_history": ["input_layer", 0, 0]}}
    dense = kf.dense()
    dense["inbound_nodes"] = [{"args": [tensor], "kwargs": {}}]
    k3 = {"module": "keras.src.models.functional", "class_name": "Functional",
          "config": {"name": "functional", "trainable": True, "layers": [kf.input_layer(), dense],
                     "input_layers": [["input_layer", 0, 0]],
                     "output_layers": [["dense", 0, 0]]},
          "registered_name": "Functional", "build_config": {"input_shape": None}}
    assert check(k3) == []
    op = {"class_name": "TFOpLambda", "config": {"name": "tf.math.reduce_mean",
                                                 "function": "math.reduce_mean"},
          "inbound_nodes": [["dense", 0, 0, {"axis": -1}]]}
    k2 = {"class_name": "Functional", "config": {"name": "model", "layers": [op]},
          "keras_version": "2.15.0", "backend": "tensorflow"}
    assert check(k2) == []


# --- HDF5 --------------------------------------------------------------------------------


SCANNER = KerasScanner()
EVIL_CFG = json.dumps(kf.sequential_k2(kf.lambda_k2(kf.marker_code_b64())))


def _h5(setup: Any) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        setup(f)
        f.create_dataset("w", data=np.ones(3, "f4"))
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["str", "np.bytes_", "vlen bytes", "latin-1 raw code"])
def test_model_config_text_forms(kind: str) -> None:
    def setup(f: Any) -> None:
        if kind == "str":
            f.attrs["model_config"] = EVIL_CFG
        elif kind == "np.bytes_":
            f.attrs["model_config"] = np.bytes_(EVIL_CFG.encode())
        elif kind == "vlen bytes":
            f.attrs.create("model_config", EVIL_CFG.encode(), dtype=h5py.vlen_dtype(bytes))
        else:
            raw = base64.b64decode(kf.marker_code_b64()).decode("latin-1")
            f.attrs["model_config"] = json.dumps(kf.sequential_k2(kf.lambda_k2(raw)))

    r = run(SCANNER, "m.h5", _h5(setup), Format.HDF5)
    assert r.rules() == ["MT-KRS-001"] and r.findings[0].severity is Severity.CRITICAL
    assert r.result.format is Format.KERAS_H5


@pytest.mark.parametrize(("value", "why"), [
    (np.frombuffer(b'{"class_name": "Sequential"}', "u1"), "dtype uint8"),
    (np.bytes_(b'{"class_name": "\xff"}'), "not UTF-8"),
    (np.int64(7), "int64"),
])
def test_model_config_that_keras_cannot_read_is_malformed(value: Any, why: str) -> None:
    r = run(SCANNER, "m.h5", _h5(lambda f: f.attrs.__setitem__("model_config", value)),
            Format.HDF5)
    hits = r.by_rule("MT-KRS-007")
    assert len(hits) == 1 and why in hits[0].evidence


def test_model_config_array_of_one_string_is_still_checked() -> None:
    def setup(f: Any) -> None:
        f.attrs["model_config"] = np.array([EVIL_CFG], dtype=h5py.string_dtype())

    r = run(SCANNER, "m.h5", _h5(setup), Format.HDF5)
    assert sorted(r.rules()) == ["MT-KRS-001", "MT-KRS-007"]


def test_many_attributes_do_not_hide_model_config() -> None:
    def setup(f: Any) -> None:
        for i in range(4200):
            f.attrs[f"a{i:05d}"] = i
        f.attrs["model_config"] = EVIL_CFG

    buf = io.BytesIO()
    with h5py.File(buf, "w", libver="latest") as f:
        setup(f)
    r = run(SCANNER, "m.h5", buf.getvalue(), Format.HDF5)
    assert sorted(r.rules()) == ["MT-H5-008", "MT-KRS-001"]
    assert r.result.coverage is Coverage.PARTIAL


def test_numeric_attributes_are_not_taken_for_pickles() -> None:
    def setup(f: Any) -> None:
        f.attrs["n"] = np.int64(0x0280)  # little-endian bytes 80 02 ...: a pickle header
        f.attrs["v"] = np.arange(0x0280, 0x0290, dtype="i8")

    assert run(SCANNER, "m.h5", _h5(setup), Format.HDF5).findings == []


def test_soft_link_chain_into_external_link_in_weights() -> None:
    def extra(f: Any) -> None:
        f["layers/dense/vars"]["ext"] = h5py.ExternalLink("/root/.aws/credentials", "/")
        f["alias"] = h5py.SoftLink("/layers/dense/vars/ext/x")
        f["alias2"] = h5py.SoftLink("/alias")

    r = run(SCANNER, "m.keras!model.weights.h5", kf.weights_h5_bytes(extra), Format.HDF5)
    got = sorted(f.location.detail or "" for f in r.by_rule("MT-H5-001"))
    assert got == ["HDF5 link /alias", "HDF5 link /alias2", "HDF5 link /layers/dense/vars/ext"]


def test_external_storage_with_several_files() -> None:
    def extra(f: Any) -> None:
        f["layers/dense/vars"].create_dataset(
            "2", shape=(8,), dtype="u1",
            external=[("../../../etc/passwd", 0, 4), ("/home/u/.netrc", 0, 4)])

    r = run(SCANNER, "m.keras!model.weights.h5", kf.weights_h5_bytes(extra), Format.HDF5)
    hit = r.by_rule("MT-H5-003")
    assert len(hit) == 1 and "/home/u/.netrc" in hit[0].evidence


def test_virtual_dataset_on_its_own_file_is_clean() -> None:
    def setup(f: Any) -> None:
        f.create_dataset("src", data=np.ones(3))
        layout = h5py.VirtualLayout(shape=(3,), dtype="f8")
        layout[:] = h5py.VirtualSource(".", "src", shape=(3,))
        f.create_virtual_dataset("v", layout)

    assert run(SCANNER, "m.h5", _h5(setup), Format.HDF5).findings == []


# --- .keras archives end to end -----------------------------------------------------------


def _zip(members: list[tuple[str, bytes | str]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


META = json.dumps({"keras_version": "3.6.0"})
GOOD = json.dumps(kf.sequential(kf.dense()))


class _Marker:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.system, (kf.MARKER_CMD,)


def _scan(tmp_path: Path, name: str, data: bytes) -> modeltrust.Report:
    path = tmp_path / name
    path.write_bytes(data)
    report = modeltrust.scan(path)
    assert not MARKER.exists()
    return report


@pytest.mark.parametrize("form", ["npz with object array", "npz that is a pickle",
                                  "npz that is a bare .npy"])
def test_keras_npz_weights_pickles_reach_the_pickle_scanner(tmp_path: Path, form: str) -> None:
    npy = io.BytesIO()
    np.save(npy, np.array([_Marker()], dtype=object), allow_pickle=True)
    weights = {"npz with object array": _zip([("0.npy", npy.getvalue())]),
               "npz that is a pickle": pickle.dumps(_Marker(), protocol=2),
               "npz that is a bare .npy": npy.getvalue()}[form]
    report = _scan(tmp_path, "m.keras", _zip([("metadata.json", META), ("config.json", GOOD),
                                               ("model.weights.npz", weights)]))
    hits = [f for f in report.findings if f.rule_id.startswith("MT-PKL")
            and f.severity is Severity.CRITICAL]
    assert hits and "model.weights.npz" in hits[0].path


@pytest.mark.parametrize("evil_first", [True, False])
def test_duplicate_config_members_are_both_checked(tmp_path: Path, evil_first: bool) -> None:
    evil = json.dumps(kf.sequential(kf.lambda_k3(kf.marker_code_b64())))
    configs = [("config.json", evil), ("config.json", GOOD)]
    if not evil_first:
        configs.reverse()
    report = _scan(tmp_path, "m.keras", _zip([("metadata.json", META), *configs,
                                               ("model.weights.h5", kf.weights_h5_bytes())]))
    rules = {f.rule_id for f in report.findings}
    assert {"MT-KRS-001", "MT-ZIP-004"} <= rules


def test_member_path_traversal_and_non_json_config(tmp_path: Path) -> None:
    report = _scan(tmp_path, "m.keras", _zip([("metadata.json", META),
                                               ("config.json", "{not json"),
                                               ("../../.bashrc", "echo hi"),
                                               ("model.weights.h5", kf.weights_h5_bytes())]))
    rules = {f.rule_id for f in report.findings}
    assert "MT-ARC-001" in rules and "MT-CFG-005" in rules


def test_deep_config_does_not_stop_the_weights_scan(tmp_path: Path) -> None:
    deep = '{"class_name":"W","config":{"layer":' * 5000 + "{}" + "}}" * 5000

    def extra(f: Any) -> None:
        f["layers/dense/vars"].create_dataset("2", shape=(4,), dtype="u1",
                                              external=[("/etc/passwd", 0, 4)])

    report = _scan(tmp_path, "m.keras", _zip([("metadata.json", META), ("config.json", deep),
                                               ("model.weights.h5",
                                                kf.weights_h5_bytes(extra))]))
    assert "MT-H5-003" in {f.rule_id for f in report.findings}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_config_json_in_utf16_is_checked(tmp_path: Path, encoding: str) -> None:
    evil = json.dumps(kf.sequential(kf.lambda_k3(kf.marker_code_b64())))
    report = _scan(tmp_path, "m.keras", _zip([("metadata.json", META),
                                               ("config.json", evil.encode(encoding)),
                                               ("model.weights.h5", kf.weights_h5_bytes())]))
    assert "MT-KRS-001" in {f.rule_id for f in report.findings}


def test_config_json_with_encoded_surrogates_is_checked(tmp_path: Path) -> None:
    # json.loads(bytes) (Keras) takes UTF-8-encoded lone surrogates; strict UTF-8 did not
    evil = json.dumps(kf.sequential(kf.lambda_k3(kf.marker_code_b64()))).encode()
    evil = evil[:-1] + b', "note": "\xed\xa0\x80"}'
    assert json.loads(evil)
    report = _scan(tmp_path, "m.keras", _zip([("metadata.json", META), ("config.json", evil),
                                               ("model.weights.h5", kf.weights_h5_bytes())]))
    assert "MT-KRS-001" in {f.rule_id for f in report.findings}


def test_config_json_that_is_a_list_is_still_checked(tmp_path: Path) -> None:
    # Keras deserializes every element of a list config before it fails
    evil = json.dumps([kf.lambda_k3(kf.marker_code_b64())])
    report = _scan(tmp_path, "m.keras", _zip([("metadata.json", META), ("config.json", evil),
                                               ("model.weights.h5", kf.weights_h5_bytes())]))
    rules = {f.rule_id for f in report.findings}
    assert {"MT-KRS-001", "MT-KRS-007"} <= rules


@pytest.mark.parametrize("member", ["config.json", "metadata.json"])
def test_unparseable_keras_member_is_a_keras_finding(tmp_path: Path, member: str) -> None:
    members = {"metadata.json": META, "config.json": GOOD}
    members[member] = '{"keras_version": "3.6.0", '
    report = _scan(tmp_path, "m.keras", _zip([*members.items(),
                                               ("model.weights.h5", kf.weights_h5_bytes())]))
    hits = [f for f in report.findings if f.rule_id == "MT-KRS-007"]
    assert hits and hits[0].path.endswith(f"m.keras!{member}")


def test_deep_utf16_config_does_not_stop_the_scan(tmp_path: Path) -> None:
    deep = ('{"class_name":"W","config":{"layer":' * 5000 + "{}" + "}}" * 5000).encode("utf-16")
    npy = io.BytesIO()
    np.save(npy, np.array([_Marker()], dtype=object), allow_pickle=True)
    report = _scan(tmp_path, "m.keras", _zip([("metadata.json", META), ("config.json", deep),
                                               ("model.weights.npz",
                                                _zip([("0.npy", npy.getvalue())]))]))
    rules = {f.rule_id for f in report.findings}
    assert "MT-GEN-001" not in rules and "MT-CFG-005" in rules and "MT-KRS-007" in rules
    assert any(f.rule_id.startswith("MT-PKL") and f.severity is Severity.CRITICAL
               for f in report.findings)


# --- bad input ----------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["lambda", "function", "raw", None, 3]))
def test_any_lambda_function_string_gives_findings_not_errors(text: str, kind: object) -> None:
    layer = kf.lambda_k2(text, function_type="lambda")
    layer["config"]["function_type"] = kind
    layer["config"]["output_shape"] = text
    layer["config"]["output_shape_type"] = "lambda"
    findings = check(kf.sequential_k2(layer, kf.lambda_k3(text)))
    assert all(f.rule_id.startswith("MT-KRS-") for f in findings)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_function_bytes_then_reader_never_raise_other_errors(data: bytes) -> None:
    for text in (base64.b64encode(b"c" + data).decode(), (b"\xe3" + data).decode("latin-1"),
                 data.decode("latin-1")):
        raw = _marshal.function_bytes(text)
        with contextlib.suppress(_marshal.MarshalError):
            _marshal.read_code(raw)


def test_duplicate_keys_in_model_config_are_all_checked() -> None:
    lam = json.dumps(kf.lambda_k2(kf.marker_code_b64()))
    text = '{"class_name": "Sequential", "config": {"layers": [' + lam + '], "layers": []}}'
    r = run(SCANNER, "m.h5", kf.legacy_h5_bytes(text), Format.HDF5)
    got = {f.rule_id: f for f in r.findings}
    assert got["MT-KRS-001"].severity is Severity.CRITICAL
    assert "(shadowed)" in (got["MT-KRS-001"].location.detail or "")
    assert got["MT-KRS-007"].severity is Severity.LOW and "layers" in got["MT-KRS-007"].evidence
