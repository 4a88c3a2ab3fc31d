"""OnnxScanner: external data, custom/Python operators, metadata, malformed and deep models."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _scanners.archive_factory import run
from helpers.onnx_models import (
    external_tensor,
    helper,
    model,
    nested_if,
    raw_nested_if,
    relu_graph,
    with_external,
)
from modeltrust import scan
from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners.onnx import MAX_GRAPH_DEPTH, PROTOBUF_LIMIT, OnnxScanner
from modeltrust.findings import Severity

SCANNER = OnnxScanner()


def scan_file(folder: Path, data: bytes, name: str = "model.onnx") -> tuple[list, object]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    report = scan(folder)
    entry = next(e for e in report.files if e.path.endswith(name))
    return [f for f in report.findings if f.path.endswith(name)], entry


def ids(findings: list) -> list[str]:
    return sorted(f.rule_id for f in findings)


def test_benign_model_is_clean_and_summarised(tmp_path: Path) -> None:
    found, entry = scan_file(tmp_path, model())
    assert found == []
    assert entry.format == "onnx" and entry.coverage is Coverage.ANALYSED
    props = dict(entry.properties)
    assert props["onnx.opsets"] == "ai.onnx:17"
    assert props["onnx.nodes"] == "1"
    assert props["onnx.producer"] == "modeltrust-tests 1.0"
    assert "onnx.ir_version" in props


def test_microsoft_contrib_ops_are_standard(tmp_path: Path) -> None:
    node = helper.make_node("FusedMatMul", ["x", "x"], ["y"], domain="com.microsoft")
    found, _ = scan_file(tmp_path, model(nodes=[node], opsets=[("", 17), ("com.microsoft", 1)]))
    assert found == []


def test_custom_domain_operator(tmp_path: Path) -> None:
    node = helper.make_node("Frobnicate", ["x"], ["y"], domain="evil.ops")
    found, _ = scan_file(tmp_path, model(nodes=[node], opsets=[("", 17), ("evil.ops", 1)]))
    assert ids(found) == ["MT-ONX-011"]
    assert found[0].severity is Severity.MEDIUM
    assert "Frobnicate x1" in found[0].evidence and "'evil.ops'" in found[0].evidence


def test_unused_custom_opset_import(tmp_path: Path) -> None:
    found, _ = scan_file(tmp_path, model(opsets=[("", 17), ("unused.domain", 1)]))
    assert ids(found) == ["MT-ONX-012"] and found[0].severity is Severity.LOW


def test_pyop_is_critical(tmp_path: Path) -> None:
    node = helper.make_node("PyOp", ["x"], ["y"], domain="pyopdomain", module="os",
                            class_name="system", compute="compute")
    found, _ = scan_file(tmp_path, model(nodes=[node]))
    py = [f for f in found if f.rule_id == "MT-ONX-010"]
    assert len(py) == 1 and py[0].severity is Severity.CRITICAL
    assert "module='os'" in py[0].evidence and "class_name='system'" in py[0].evidence


def test_python_op_registered_by_host_is_high(tmp_path: Path) -> None:
    node = helper.make_node("PythonOp", ["x"], ["y"], domain="com.microsoft", func_name="f")
    found, _ = scan_file(tmp_path, model(nodes=[node]))
    assert ids(found) == ["MT-ONX-010"] and found[0].severity is Severity.HIGH


def test_contrib_domain_from_extensions(tmp_path: Path) -> None:
    node = helper.make_node("GPT2Tokenizer", ["x"], ["y"], domain="ai.onnx.contrib")
    found, _ = scan_file(tmp_path, model(nodes=[node], opsets=[("", 17),
                                                                ("ai.onnx.contrib", 1)]))
    assert ids(found) == ["MT-ONX-011"]


def test_local_functions_listed_and_walked(tmp_path: Path) -> None:
    body = helper.make_node("Hidden", ["a"], ["b"], domain="evil.ops")
    fn = helper.make_function("local.fns", "MyFn", ["a"], ["b"], [body],
                              [helper.make_opsetid("", 17), helper.make_opsetid("evil.ops", 1)])
    call = helper.make_node("MyFn", ["x"], ["y"], domain="local.fns")
    data = model(nodes=[call], functions=[fn], opsets=[("", 17), ("local.fns", 1)])
    found, entry = scan_file(tmp_path, data)
    assert ids(found) == ["MT-ONX-011", "MT-ONX-013"]
    assert "Hidden" in next(f for f in found if f.rule_id == "MT-ONX-011").evidence
    assert dict(entry.properties)["onnx.functions"] == "1"


def test_metadata_that_looks_like_code(tmp_path: Path) -> None:
    meta = {"postprocess": "import os; os.system('touch /tmp/modeltrust-test-marker')",
            "author": "someone", "license": "apache-2.0"}
    found, _ = scan_file(tmp_path, model(meta=meta))
    assert ids(found) == ["MT-ONX-014"]
    assert "'postprocess'" in found[0].evidence


# -- external data ---------------------------------------------------------------------------


def test_external_data_inside_folder_is_clean(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"\x00" * 4)
    found, entry = scan_file(tmp_path, with_external("weights.bin", offset="0", length="4"))
    assert found == []
    assert dict(entry.properties)["onnx.external_tensors"] == "1"


def test_regression_cve_2022_25882_dotdot_traversal(tmp_path: Path) -> None:
    found, _ = scan_file(tmp_path / "m", with_external("../../secret"))
    assert ids(found) == ["MT-ONX-002"]
    assert found[0].severity is Severity.HIGH and found[0].location.tensor == "w"
    assert "'../../secret'" in found[0].evidence


def test_regression_cve_2024_27318_absolute_path(tmp_path: Path) -> None:
    found, _ = scan_file(tmp_path, with_external("/etc/passwd"))
    assert ids(found) == ["MT-ONX-001"] and found[0].severity is Severity.HIGH


def test_regression_cve_2025_51480_nested_traversal_write(tmp_path: Path) -> None:
    """save_external_data writes to base/location: a nested ``..`` escapes the folder."""
    found, _ = scan_file(tmp_path / "m", with_external("subdir/../../target"))
    assert ids(found) == ["MT-ONX-002"] and found[0].severity is Severity.HIGH
    assert "'../target'" in found[0].evidence


def test_regression_cve_2026_34447_symlink_escape(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for the model")
    folder = tmp_path / "model"
    folder.mkdir()
    os.symlink(outside / "secret.txt", folder / "weights.bin")
    found, _ = scan_file(folder, with_external("weights.bin"))
    sym = [f for f in found if f.rule_id == "MT-ONX-003"]
    assert len(sym) == 1 and sym[0].severity is Severity.HIGH
    assert "outside the model folder" in sym[0].evidence


def test_symlinked_directory_escape(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "data").write_bytes(b"x" * 8)
    folder = tmp_path / "model"
    folder.mkdir()
    os.symlink(tmp_path / "outside", folder / "sub")
    found, _ = scan_file(folder, with_external("sub/data"))
    assert "MT-ONX-003" in ids(found)


def test_backslash_and_windows_paths(tmp_path: Path) -> None:
    found, _ = scan_file(tmp_path / "a", with_external("C:\\Windows\\win.ini"))
    assert ids(found) == ["MT-ONX-001"]
    found, _ = scan_file(tmp_path / "b", with_external("..\\..\\secret"))
    assert ids(found) == ["MT-ONX-002"]


def test_dotdot_that_stays_inside_is_medium(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"\x00" * 4)
    found, _ = scan_file(tmp_path, with_external("sub/../w.bin"))
    assert ids(found) == ["MT-ONX-002"] and found[0].severity is Severity.MEDIUM


def test_missing_external_file(tmp_path: Path) -> None:
    found, _ = scan_file(tmp_path, with_external("model.onnx_data"))
    assert ids(found) == ["MT-ONX-004"] and found[0].severity is Severity.MEDIUM


@pytest.mark.parametrize(("location", "extra"), [
    (None, {}),
    ("", {}),
    ("w.bin", {"offset": "-4"}),
    ("w.bin", {"length": "lots"}),
    ("w.bin", {"offset": "2", "length": "100"}),
])
def test_malformed_external_entries(tmp_path: Path, location: str | None,
                                    extra: dict[str, str]) -> None:
    (tmp_path / "w.bin").write_bytes(b"\x00" * 4)
    found, _ = scan_file(tmp_path, with_external(location, **extra))
    assert ids(found) == ["MT-ONX-005"]


def test_hardlinked_external_file(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").write_bytes(b"\x00" * 4)
    folder = tmp_path / "model"
    folder.mkdir()
    os.link(tmp_path / "elsewhere", folder / "w.bin")
    found, _ = scan_file(folder, with_external("w.bin"))
    assert ids(found) == ["MT-ONX-006"] and found[0].severity is Severity.LOW


def test_many_tensors_one_finding_per_location(tmp_path: Path) -> None:
    inits = [external_tensor(f"t{i}", "/etc/passwd") for i in range(5)]
    found, _ = scan_file(tmp_path, model(inits=inits))
    assert ids(found) == ["MT-ONX-001"] and "and 4 more tensors" in found[0].evidence


def test_external_data_in_subgraph_attribute(tmp_path: Path) -> None:
    const = helper.make_node("Constant", [], ["y"], value=external_tensor("c", "../../x"))
    data = nested_if(2, leaf=const)
    found, _ = scan_file(tmp_path / "m", data)
    assert ids(found) == ["MT-ONX-002"]
    assert "graph 'leaf'" in found[0].evidence


def test_hugging_face_cache_links_are_fine(tmp_path: Path) -> None:
    repo = tmp_path / "models--org--name"
    (repo / "blobs").mkdir(parents=True)
    snap = repo / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (repo / "blobs" / "aaa").write_bytes(model(inits=[external_tensor("w", "model.onnx_data")]))
    (repo / "blobs" / "bbb").write_bytes(b"\x00" * 4)
    os.symlink("../../blobs/aaa", snap / "model.onnx")
    os.symlink("../../blobs/bbb", snap / "model.onnx_data")
    report = scan(snap)
    assert [f.rule_id for f in report.findings] == []


def test_member_of_archive_checks_names_only() -> None:
    r = run(SCANNER, "m.zip!model.onnx", with_external("/etc/passwd"), Format.ONNX)
    assert r.rules() == ["MT-ONX-001"]
    r = run(SCANNER, "m.zip!model.onnx", with_external("weights.bin"), Format.ONNX)
    assert r.rules() == [] and "not checked" in r.result.detail


# -- malformed, limits -----------------------------------------------------------------------


def test_malformed_protobuf(tmp_path: Path) -> None:
    found, entry = scan_file(tmp_path, b"\x08\x07\x3a\xff\xff\xff\xff\x0f garbage")
    assert ids(found) == ["MT-ONX-020"] and entry.coverage is Coverage.PARTIAL


def test_model_without_graph() -> None:
    r = run(SCANNER, "x.onnx", b"\x08\x07", Format.ONNX)
    assert r.rules() == ["MT-ONX-020"] and "no graph" in r.findings[0].evidence


def test_subgraphs_nested_past_the_bound(tmp_path: Path) -> None:
    pyop = helper.make_node("PyOp", ["x"], ["y"], module="os", class_name="system")
    found, entry = scan_file(tmp_path, nested_if(MAX_GRAPH_DEPTH + 4, leaf=pyop))
    assert ids(found) == ["MT-ONX-021"]
    assert entry.coverage is Coverage.PARTIAL


def test_nesting_within_the_bound_is_walked(tmp_path: Path) -> None:
    pyop = helper.make_node("PyOp", ["x"], ["y"], module="os", class_name="system")
    found, _ = scan_file(tmp_path, nested_if(MAX_GRAPH_DEPTH - 1, leaf=pyop))
    assert ids(found) == ["MT-ONX-010"]


def test_nesting_past_protobuf_recursion_limit(tmp_path: Path) -> None:
    found, _ = scan_file(tmp_path, raw_nested_if(20))
    assert ids(found) == ["MT-ONX-021"]
    found, _ = scan_file(tmp_path / "deeper", raw_nested_if(200))
    assert ids(found) == ["MT-ONX-020"] and "MaxDepth" in found[0].evidence


class _Huge:
    def __len__(self) -> int:
        return PROTOBUF_LIMIT


def test_over_protobuf_limit_is_refused_before_parsing() -> None:
    from modeltrust._scanners.interface import ScanContext
    from modeltrust._source.interface import Artifact, ExpansionBudget, Limits

    ctx = ScanContext(Limits(), ExpansionBudget(1), lambda a: None)
    huge: Any = _Huge()
    res = SCANNER.scan(Artifact.from_bytes("big.onnx", b"", 0), huge, Format.ONNX, ctx)
    assert res.coverage is Coverage.NOT_ANALYSED
    assert [f.rule_id for f in ctx.findings] == ["MT-ONX-021"]


def test_onnx_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    r = run(SCANNER, "m.onnx", model(), Format.ONNX)
    assert r.rules() == ["MT-ONX-022"] and r.findings[0].severity is Severity.INFO
    assert r.result.coverage is Coverage.NOT_ANALYSED


def test_deterministic(tmp_path: Path) -> None:
    node = helper.make_node("PyOp", ["x"], ["y"], module="m", class_name="c")
    data = model(nodes=[node], inits=[external_tensor("a", "/etc/passwd"),
                                      external_tensor("b", "../x")])
    (tmp_path / "model.onnx").write_bytes(data)
    assert scan(tmp_path).findings == scan(tmp_path).findings


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_protobuf_never_raises(data: st.DataObject) -> None:
    node = helper.make_node("PyOp", ["x"], ["y"], module="m", class_name="c")
    base = bytearray(model(nodes=[node], inits=[external_tensor("w", "../../w")],
                           meta={"k": "v"}))
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(base) - 1))
        base[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(base)))
    r = run(SCANNER, "m.onnx", bytes(base[:cut]), Format.ONNX)
    assert r.result.format is Format.ONNX
    assert all(f.rule_id.startswith("MT-ONX-") for f in r.findings)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    r = run(SCANNER, "m.onnx", b"\x08\x07" + data, Format.ONNX)
    assert all(f.rule_id.startswith("MT-ONX-") for f in r.findings)


def test_invalid_utf8_strings_are_reported_not_raised() -> None:
    node = helper.make_node("PyOp", ["x"], ["y"], domain="dom", module="mod", class_name="c")
    data = model(nodes=[node], inits=[external_tensor("w", "/etc/passwd")], meta={"k": "v"})
    for text in (b"modeltrust-tests", b"etc", b"dom", b"mod"):
        data = data.replace(text, b"\xff" * len(text))
    r = run(SCANNER, "m.onnx", data, Format.ONNX)
    assert r.result.format is Format.ONNX
    assert r.rules() == ["MT-ONX-001", "MT-ONX-010"]
    assert "/\ufffd\ufffd\ufffd/passwd" in r.by_rule("MT-ONX-001")[0].evidence


# -- unseen variants -------------------------------------------------------------------------


@pytest.mark.parametrize(("location", "rule_id", "severity"), [
    ("\\\\server\\share\\weights.bin", "MT-ONX-001", Severity.HIGH),
    ("%2e%2e/%2e%2e/etc/passwd", "MT-ONX-002", Severity.HIGH),
    ("%2Fetc%2Fpasswd", "MT-ONX-001", Severity.HIGH),
    ("file:///etc/passwd", "MT-ONX-001", Severity.HIGH),
    ("https://attacker.example/w.bin", "MT-ONX-001", Severity.HIGH),
    ("./../x", "MT-ONX-002", Severity.HIGH),
    ("~/.ssh/id_rsa", "MT-ONX-001", Severity.MEDIUM),
    ("w.bin\x00../../etc/passwd", "MT-ONX-005", Severity.MEDIUM),
])
def test_disguised_locations(tmp_path: Path, location: str, rule_id: str,
                             severity: Severity) -> None:
    found, _ = scan_file(tmp_path / "m", with_external(location))
    assert ids(found) == [rule_id] and found[0].severity is severity


def test_external_data_in_sparse_initializer(tmp_path: Path) -> None:
    values = external_tensor("sv", "/etc/passwd")
    sparse = helper.make_sparse_tensor(values, helper.make_tensor("i", 7, [1], [0]), [4])
    graph = relu_graph()
    graph.sparse_initializer.append(sparse)
    found, _ = scan_file(tmp_path, model(graph=graph))
    assert ids(found) == ["MT-ONX-001"]


def test_external_data_in_function_body_and_loop_body(tmp_path: Path) -> None:
    const = helper.make_node("Constant", [], ["b"], value=external_tensor("c", "../../f"))
    fn = helper.make_function("local", "F", ["a"], ["b"], [const],
                              [helper.make_opsetid("", 17)])
    body = relu_graph("body", inits=[external_tensor("l", "/etc/shadow")])
    nodes = [helper.make_node("F", ["x"], ["t"], domain="local"),
             helper.make_node("Loop", ["m", "c"], ["y"], body=body)]
    found, _ = scan_file(tmp_path / "m", model(nodes=nodes, functions=[fn],
                                               opsets=[("", 17), ("local", 1)]))
    assert ids(found) == ["MT-ONX-001", "MT-ONX-002", "MT-ONX-013"]
    assert "function local.F" in next(f for f in found if f.rule_id == "MT-ONX-002").evidence


def test_custom_domain_declared_only_in_a_function(tmp_path: Path) -> None:
    fn = helper.make_function("local", "G", ["a"], ["b"], [helper.make_node("Relu", ["a"],
                                                                            ["b"])],
                              [helper.make_opsetid("", 17), helper.make_opsetid("evil.dom", 1)])
    call = helper.make_node("G", ["x"], ["y"], domain="local")
    found, _ = scan_file(tmp_path, model(nodes=[call], functions=[fn],
                                         opsets=[("", 17), ("local", 1)]))
    assert ids(found) == ["MT-ONX-012", "MT-ONX-013"]
    assert "function local.G" in next(f for f in found if f.rule_id == "MT-ONX-012").evidence


@pytest.mark.parametrize("domain", ["Com.Microsoft", "com.microsoft.evil", "ai.onnx "])
def test_domains_imitating_standard_ones(tmp_path: Path, domain: str) -> None:
    node = helper.make_node("X", ["x"], ["y"], domain=domain)
    found, _ = scan_file(tmp_path, model(nodes=[node]))
    assert "MT-ONX-011" in ids(found)


def test_python_op_with_other_case(tmp_path: Path) -> None:
    node = helper.make_node("pyop", ["x"], ["y"], domain="d", module="os", class_name="system")
    found, _ = scan_file(tmp_path, model(nodes=[node]))
    py = [f for f in found if f.rule_id == "MT-ONX-010"]
    assert py and py[0].severity is Severity.CRITICAL and "imitates PyOp" in py[0].evidence


def test_python_op_in_scan_body(tmp_path: Path) -> None:
    pyop = helper.make_node("PyOp", ["x"], ["y"], module="os", class_name="system")
    scan_node = helper.make_node("Scan", ["x"], ["y"], num_scan_inputs=1,
                                 body=relu_graph("body", nodes=[pyop]))
    found, _ = scan_file(tmp_path, model(nodes=[scan_node]))
    assert ids(found) == ["MT-ONX-010"]


@pytest.mark.parametrize("cut", [1, 7, 30, -3])
def test_truncated_models_are_findings(tmp_path: Path, cut: int) -> None:
    data = model(inits=[external_tensor("w", "/etc/passwd")])
    r = run(SCANNER, "m.onnx", data[:cut], Format.ONNX)
    assert r.result.format is Format.ONNX or r.result.coverage is not Coverage.ANALYSED
    assert all(f.rule_id.startswith("MT-ONX-") for f in r.findings)
    assert r.findings  # either malformed, no graph, or the absolute path before the cut


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_any_location_is_classified_without_error(location: str) -> None:
    r = run(SCANNER, "m.zip!model.onnx", with_external(location), Format.ONNX)
    assert all(f.rule_id.startswith("MT-ONX-") for f in r.findings)
