"""TensorFlow graphs: protobuf decoding without TensorFlow, side-effect ops, text format."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modeltrust
from _scanners.archive_factory import Run, run
from helpers import kerasfx as kf
from helpers import tfproto as tp
from helpers.corpora import copy_sample
from modeltrust._inventory.formats import Format
from modeltrust._inventory.sniff import sniff
from modeltrust._report.model import Coverage
from modeltrust._scanners import _protobuf as pb
from modeltrust._scanners.tensorflow import TensorFlowScanner
from modeltrust.findings import Severity

SCANNER = TensorFlowScanner()


def scan(data: bytes, name: str = "saved_model.pb") -> Run:
    fmt = Format.TF_PBTXT if name.endswith(".pbtxt") else Format.TF_PROTOBUF
    return run(SCANNER, name, data, fmt)


def graph_with(*nodes: bytes, functions: tuple[bytes, ...] = ()) -> bytes:
    return tp.saved_model(tp.meta_graph(tp.graph(nodes, functions)))


def path_const(name: str, *values: str) -> bytes:
    return tp.node(name, "Const", attrs={"dtype": tp.attr_type(7),
                                          "value": tp.attr_strings(values)})


def sev(r: Run) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for f in r.findings:
        out[f.rule_id] = max(out.get(f.rule_id, Severity.INFO), f.severity)
    return out


def test_benign_saved_model_is_clean() -> None:
    r = scan(tp.saved_model(tp.meta_graph(tp.benign_graph())))
    assert r.findings == []
    assert r.result.coverage is Coverage.ANALYSED
    assert r.result.detail == "TensorFlow SavedModel: 5 nodes, 0 functions, tags ['serve']"


def test_pyfunc_is_critical_with_token() -> None:
    r = scan(graph_with(tp.node("x", "Placeholder"),
                        tp.node("evil", "PyFunc", ["x"], {"token": tp.attr_s("pyfunc_0")})))
    hit = r.by_rule("MT-TF-001")
    assert len(hit) == 1 and hit[0].severity is Severity.CRITICAL
    assert "node 'evil' op PyFunc" in hit[0].evidence and "pyfunc_0" in hit[0].evidence
    assert hit[0].location.offset is not None and hit[0].location.detail == "graph"


@pytest.mark.parametrize("op", ["PyFuncStateless", "EagerPyFunc", "PyCall", "LoadLibrary"])
def test_code_ops(op: str) -> None:
    assert sev(scan(graph_with(tp.node("n", op)))) == {"MT-TF-001": Severity.CRITICAL}


def test_ops_inside_function_library() -> None:
    fn = tp.function("__inference_call_123", [tp.node("e", "EagerPyFunc")])
    r = scan(graph_with(tp.node("call", "__inference_call_123"), functions=(fn,)))
    hit = r.by_rule("MT-TF-001")
    assert len(hit) == 1 and hit[0].location.detail == "function __inference_call_123"
    assert r.by_rule("MT-TF-006") == []  # calling a library function is not a custom op


def test_read_and_write_file_with_absolute_paths() -> None:
    r = scan(graph_with(
        path_const("src", "/etc/passwd"), tp.node("read", "ReadFile", ["src"]),
        path_const("dst", "/home/user/.bashrc"), tp.node("write", "WriteFile", ["dst:0",
                                                                                 "read"]),
        tp.node("glob", "MatchingFiles", ["^src"])))
    assert sev(r) == {"MT-TF-002": Severity.HIGH, "MT-TF-003": Severity.HIGH}
    write = r.by_rule("MT-TF-002")[0]
    assert "/home/user/.bashrc" in write.evidence
    reads = sorted(f.evidence for f in r.by_rule("MT-TF-003"))
    assert len(reads) == 2 and all("/etc/passwd" in e for e in reads)


def test_network_op() -> None:
    assert sev(scan(graph_with(tp.node("rpc", "Rpc")))) == {"MT-TF-004": Severity.HIGH}


@pytest.mark.parametrize("path", ["/tmp/../etc/shadow", "../../outside/ckpt",
                                  "gs://attacker/ckpt"])
def test_save_restore_with_outside_path(path: str) -> None:
    r = scan(graph_with(path_const("p", path), tp.node("restore", "RestoreV2", ["p"])))
    assert sev(r) == {"MT-TF-005": Severity.MEDIUM}
    assert path in r.findings[0].evidence


def test_save_with_placeholder_path_is_fine() -> None:
    r = scan(graph_with(path_const("p", "variables/variables"),
                        tp.node("save", "SaveV2", ["p"])))
    assert r.findings == []


def test_dataset_with_absolute_path_and_debug_op() -> None:
    r = scan(graph_with(path_const("files", "/data/secret.tfrecord"),
                        tp.node("ds", "TFRecordDatasetV2", ["files"]),
                        tp.node("dbg", "DebugIdentity"),
                        tp.node("mm", "ImmutableConst",
                                attrs={"memory_region_name": tp.attr_s("/dev/mem")})))
    assert sev(r) == {"MT-TF-005": Severity.MEDIUM}
    assert len(r.findings) == 3


def test_print_to_file() -> None:
    r = scan(graph_with(tp.node("p", "PrintV2",
                                attrs={"output_stream": tp.attr_s("file:///tmp/log")})))
    assert sev(r) == {"MT-TF-005": Severity.MEDIUM}


def test_custom_ops_are_listed_once() -> None:
    r = scan(graph_with(tp.node("a", "MyVendorOp"), tp.node("b", "MyVendorOp"),
                        tp.node("c", "Addons>Gelu")))
    assert [f.rule_id for f in r.findings] == ["MT-TF-006"]
    assert r.findings[0].severity is Severity.LOW
    assert r.findings[0].evidence == "2 non-standard op types: Addons>Gelu x1, MyVendorOp x2"


def test_graphdef_and_metagraphdef_roots() -> None:
    g = tp.graph([tp.node("x", "PyFunc")])
    r = scan(g, "frozen_graph.pb")
    assert sev(r) == {"MT-TF-001": Severity.CRITICAL}
    assert r.result.detail.startswith("TensorFlow GraphDef")
    r = scan(tp.meta_graph(g), "model.ckpt.meta")
    assert sev(r) == {"MT-TF-001": Severity.CRITICAL}
    assert r.result.detail.startswith("TensorFlow MetaGraphDef")


def test_keras_metadata_json_is_checked() -> None:
    config = kf.sequential(kf.lambda_k3(kf.marker_code_b64()))
    meta = tp.ld(1, tp.vi(2, 1) + tp.ld(3, "root") + tp.ld(4, "_tf_keras_sequential")
                 + tp.ld(5, json.dumps(config)))
    r = scan(meta, "keras_metadata.pb")
    hit = r.by_rule("MT-KRS-001")
    assert len(hit) == 1 and hit[0].severity is Severity.CRITICAL
    assert (hit[0].location.detail or "").startswith("embedded Keras config at offset")


def test_saved_object_graph_metadata_is_checked() -> None:
    config = {"class_name": "Dense", "config": {"kernel_initializer": {
        "module": "os", "class_name": "function", "config": "system"}}}
    user_object = tp.ld(4, tp.ld(1, "_tf_keras_layer") + tp.ld(3, json.dumps(config)))
    object_graph = tp.ld(7, tp.ld(1, user_object))
    r = scan(tp.saved_model(tp.meta_graph(tp.benign_graph(), extra=object_graph)))
    assert sev(r) == {"MT-KRS-004": Severity.CRITICAL}


@pytest.mark.parametrize("data", [b"\x08", b"\x08\x01\x12\x10abc", b"\x12\xff\xff\xff\xff\x0f",
                                  b"\x0b\x00", b"\x00\x00"])
def test_malformed_protobuf(data: bytes) -> None:
    r = scan(data)
    assert [f.rule_id for f in r.findings] == ["MT-TF-007"]
    assert r.result.coverage is Coverage.PARTIAL


def test_truncated_saved_model_keeps_what_it_read() -> None:
    data = graph_with(tp.node("evil", "PyFunc"), tp.node("y", "MatMul"))
    r = scan(data[: len(data) - 12])
    assert r.by_rule("MT-TF-007")


def test_field_budget_limit() -> None:
    data = tp.graph([tp.node(f"n{i}", "NoOp") for i in range(50)])
    assert len(pb.fields(data, 0, len(data), pb.Budget())) == 51
    with pytest.raises(pb.LimitError):
        pb.fields(data, 0, len(data), pb.Budget(fields=20))


def test_deeply_nested_messages_stop() -> None:
    data = b"x"
    for _ in range(200):
        data = tp.ld(1, data)
    r = scan(data, "keras_metadata.pb")
    assert r.by_rule("MT-TF-008")


# --- text format --------------------------------------------------------------------------

PBTXT = b"""
# a graph in text format
node {
  name: "c"
  op: "Const"
  attr { key: "value" value { tensor { dtype: DT_STRING string_val: "/etc/pass" "wd" } } }
}
node { name: "r" op: "ReadFile" input: "c" }
node { name: "m" op: "MatMul" input: ["a", "b"] }
library {
  function {
    signature { name: "f1" }
    node_def { name: "p" op: "PyFunc" attr { key: "token" value { s: "pyfunc_1" } } }
  }
}
"""


def test_pbtxt_graph() -> None:
    r = scan(PBTXT, "graph.pbtxt")
    assert sev(r) == {"MT-TF-001": Severity.CRITICAL, "MT-TF-003": Severity.HIGH}
    read = r.by_rule("MT-TF-003")[0]
    assert "/etc/passwd" in read.evidence and read.location.line == 8
    assert r.by_rule("MT-TF-001")[0].location.detail == "function f1"
    assert r.result.coverage is Coverage.ANALYSED


def test_pbtxt_malformed() -> None:
    r = scan(b'node { name: "x" op: "PyFunc" \n node {', "graph.pbtxt")
    assert sev(r)["MT-TF-007"] is Severity.MEDIUM
    assert r.result.coverage is Coverage.PARTIAL


def test_pbtxt_escapes() -> None:
    assert pb.unescape(r'"a\x41\101\n\"q\""') == 'aAA\n"q"'


# --- properties ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_protobuf_decoder_arbitrary_bytes(data: bytes) -> None:
    try:
        for f in pb.iter_fields(data, 0, len(data), pb.Budget(fields=10_000)):
            assert f.end <= len(data)
    except pb.WireError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_scanner_arbitrary_bytes(data: bytes) -> None:
    start = time.monotonic()
    r = scan(b"\x08\x01" + data)
    assert r.result.format is Format.TF_PROTOBUF
    assert time.monotonic() - start < 5


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_scanner_mutated_saved_model(data: st.DataObject) -> None:
    raw = bytearray(graph_with(path_const("p", "/etc/x"), tp.node("r", "ReadFile", ["p"]),
                               functions=(tp.function("f", [tp.node("e", "PyFunc")]),)))
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    r = scan(bytes(raw[: data.draw(st.integers(1, len(raw)))]))
    assert all(f.rule_id.startswith(("MT-TF-", "MT-KRS-")) for f in r.findings)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='node{}op:"\\ name[],<>#\n01xPyFunc', max_size=300))
def test_pbtxt_arbitrary_text(text: str) -> None:
    r = scan(text.encode(), "g.pbtxt")
    assert r.result.format is Format.TF_PBTXT


# --- corpus -------------------------------------------------------------------------------

CORPUS = [("samples/tensorflow/malicious_pyfunc/saved_model.pb", "malicious"),
          ("samples/tensorflow/safe_savedmodel/saved_model.pb", "benign")]


@pytest.mark.parametrize(("rel", "label"), CORPUS)
def test_modelaudit_tensorflow_corpus_scanner(rel: str, label: str, tmp_path: Path) -> None:
    sample = copy_sample("modelaudit", rel, tmp_path)
    r = scan(sample.read_bytes())
    worst = max((f.severity for f in r.findings), default=None)
    if label == "malicious":
        assert worst is not None and worst >= Severity.HIGH
        assert r.by_rule("MT-TF-001")
    else:
        assert worst is None or worst < Severity.HIGH


@pytest.mark.parametrize(("rel", "label"), CORPUS)
def test_modelaudit_tensorflow_corpus_end_to_end(rel: str, label: str, tmp_path: Path) -> None:
    sample = copy_sample("modelaudit", rel, tmp_path)
    if sniff(sample.read_bytes(), ".pb").format is not Format.TF_PROTOBUF:
        pytest.skip("the sniffer does not route this SavedModel to the TensorFlow scanner yet")
    report = modeltrust.scan(sample)
    worst = report.max_severity
    if label == "malicious":
        assert worst is not None and worst >= Severity.HIGH
    else:
        assert worst is None or worst < Severity.HIGH


def test_end_to_end_saved_model_file(tmp_path: Path) -> None:
    path = tmp_path / "saved_model.pb"
    # DT_INVALID (0) puts a NUL byte early, as real graphs' binary content does.
    path.write_bytes(graph_with(tp.node("x", "PyFunc", attrs={"Tin": tp.attr_type(0)})))
    report = modeltrust.scan(path)
    assert [f.rule_id for f in report.findings] == ["MT-TF-001"]
    assert report.files[0].format == "tensorflow-protobuf"


def test_end_to_end_text_like_saved_model(tmp_path: Path) -> None:
    """A SavedModel whose first bytes are all printable must still reach the scanner."""
    data = graph_with(tp.node("x", "PyFunc"))
    if sniff(data, ".pb").format is not Format.TF_PROTOBUF:
        pytest.skip("the sniffer classifies printable protobufs as text (diff proposed)")
    path = tmp_path / "saved_model.pb"
    path.write_bytes(data)
    assert [f.rule_id for f in modeltrust.scan(path).findings] == ["MT-TF-001"]


# --- unseen variants: disguised names, hidden placements, indirect paths ---------------------


@pytest.mark.parametrize(("op", "rule_id"), [
    ("pyfunc", "MT-TF-001"), ("Addons>ReadFile", "MT-TF-003"), ("_WriteFile", "MT-TF-002"),
    ("tf.raw_ops.EagerPyFunc", "MT-TF-001"), ("ExperimentalMatchingFilesDataset", "MT-TF-003"),
    ("Write_File", "MT-TF-002"), ("LOADLIBRARY", "MT-TF-001"),
])
def test_op_names_imitating_side_effect_ops(op: str, rule_id: str) -> None:
    r = scan(graph_with(tp.node("n", op)))
    assert [f.rule_id for f in r.findings] == [rule_id]
    assert "imitates" in r.findings[0].evidence or op == "ExperimentalMatchingFilesDataset"


@pytest.mark.parametrize("op", ["DataServiceDatasetV4", "RegisterDataset"])
def test_data_service_ops_connect(op: str) -> None:
    assert sev(scan(graph_with(tp.node("n", op)))) == {"MT-TF-004": Severity.HIGH}


def test_path_reaching_save_through_identity_and_string_join() -> None:
    r = scan(graph_with(path_const("a", "/tmp/"), path_const("b", "evil"),
                        tp.node("j", "StringJoin", ["a", "b"]),
                        tp.node("i", "Identity", ["j:0"]),
                        tp.node("s", "SaveV2", ["i"])))
    assert [f.rule_id for f in r.findings] == ["MT-TF-005"]
    assert "/tmp/" in r.findings[0].evidence


@pytest.mark.parametrize("stream", ["file:/tmp/x", "FILE:///tmp/x", "file://log.txt"])
def test_print_to_file_variants(stream: str) -> None:
    r = scan(graph_with(tp.node("p", "PrintV2", attrs={"output_stream": tp.attr_s(stream)})))
    assert sev(r) == {"MT-TF-005": Severity.MEDIUM}


def test_print_to_stderr_is_fine() -> None:
    r = scan(graph_with(tp.node("p", "PrintV2", attrs={"output_stream": tp.attr_s("stderr")})))
    assert r.findings == []


def test_vocab_file_attr_with_absolute_path() -> None:
    r = scan(graph_with(tp.node("s", "FixedUnigramCandidateSampler",
                                attrs={"vocab_file": tp.attr_s("/etc/passwd")})))
    assert sev(r) == {"MT-TF-005": Severity.MEDIUM}


def test_mistyped_field_does_not_hide_later_nodes() -> None:
    """Protobuf skips a field of the wrong wire type; so must the scanner."""
    data = tp.ld(1, b"not a varint") + graph_with(tp.node("x", "MatMul") + tp.vi(2, 5),
                                                  tp.node("e", "PyFunc"))
    r = scan(data)
    assert sev(r) == {"MT-TF-001": Severity.CRITICAL}
    assert r.result.coverage is Coverage.ANALYSED


def test_decoy_nodes_under_another_schema_do_not_displace_the_saved_model() -> None:
    decoys = tp.ld(1, b"".join(tp.ld(3, tp.ld(1, f"n{i}") + tp.ld(2, "MatMul"))
                               for i in range(50)))
    data = tp.saved_model(decoys + tp.ld(2, tp.graph([tp.node("e", "PyFunc")])))
    r = scan(data)
    assert r.by_rule("MT-TF-001") and r.result.detail.startswith("TensorFlow SavedModel")


def test_node_in_an_unlisted_message_is_still_found() -> None:
    """A NodeDef-shaped message outside the graph (here in an unknown field) is graded."""
    stray = tp.ld(99, tp.ld(1, tp.node("w", "WriteFile", ["a", "b"])))
    r = scan(tp.saved_model(tp.meta_graph(tp.benign_graph(), extra=stray)))
    hit = r.by_rule("MT-TF-002")
    assert len(hit) == 1 and hit[0].location.detail == "unlisted message"


def test_side_effect_op_in_nested_function_bodies() -> None:
    fns = (tp.function("body", [tp.node("c", "StatefulPartitionedCall",
                                        attrs={"f": tp.ld(10, tp.ld(1, "inner"))})]),
           tp.function("inner", [tp.node("i", "If", attrs={
               "then_branch": tp.ld(10, tp.ld(1, "leaf"))})]),
           tp.function("leaf", [path_const("p", "/root/.ssh/id_rsa"),
                                tp.node("r", "ReadFile", ["p:output:0"])]))
    r = scan(graph_with(tp.node("w", "While", attrs={"body": tp.ld(10, tp.ld(1, "body"))}),
                        functions=fns))
    hit = r.by_rule("MT-TF-003")
    assert len(hit) == 1 and hit[0].location.detail == "function leaf"
    assert "/root/.ssh/id_rsa" in hit[0].evidence
    assert r.by_rule("MT-TF-006") == []


PBTXT_ODD = b"""
node{name:"c"op:"Const"attr{key:"value"value{tensor{string_val:'/etc/'"shadow"}}}}
node < op
 : # the op follows
 "Read" 'File' input: "c" >
library { function { signature { name: "f" }
  node_def { op: "\\x50yFunc" }  # no name at all
} }
"""


def test_pbtxt_odd_spacing_comments_and_nameless_nodes() -> None:
    r = scan(PBTXT_ODD, "saved_model.pbtxt")
    assert sev(r) == {"MT-TF-001": Severity.CRITICAL, "MT-TF-003": Severity.HIGH}
    assert "/etc/shadow" in r.by_rule("MT-TF-003")[0].evidence


def test_huge_node_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from modeltrust._scanners import tensorflow

    monkeypatch.setattr(tensorflow, "MAX_NODES", 10)
    r = scan(graph_with(*[tp.node(f"n{i}", "NoOp") for i in range(30)]))
    assert r.by_rule("MT-TF-008") and r.result.coverage is Coverage.PARTIAL


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["PyFunc", "ReadFile", "MatMul", "pyfunc", "X>WriteFile",
                                 "Const", "SaveV2", "Rpc"]), max_size=8),
       st.binary(max_size=40))
def test_any_graph_with_a_side_effect_op_is_flagged(ops: list[str], noise: bytes) -> None:
    r = scan(graph_with(*[tp.node(f"n{i}", op) for i, op in enumerate(ops)]) + tp.ld(50, noise))
    dangerous = {"PyFunc", "ReadFile", "pyfunc", "X>WriteFile", "Rpc"} & set(ops)
    assert bool(dangerous) == any(f.severity >= Severity.HIGH for f in r.findings)
