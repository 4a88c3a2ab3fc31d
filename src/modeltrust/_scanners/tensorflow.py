"""TensorFlow graphs (SavedModel, MetaGraphDef, GraphDef, ``.pbtxt``): ops with side effects.

A SavedModel is a protobuf graph whose nodes name TensorFlow ops; loading and serving it
runs them. Most ops are maths, but some run Python (``PyFunc``, ``EagerPyFunc``), read or
write files (``ReadFile``, ``WriteFile``, ``MatchingFiles``), open network connections
(``Rpc``) or save/restore checkpoints at a path the graph chooses. The graph is decoded with
:mod:`._protobuf` (no TensorFlow): SavedModel → MetaGraphDef → GraphDef → NodeDef, plus the
function library's FunctionDefs; text graphs are read with a bounded tokenizer. String
constants feeding an op are resolved so the evidence shows the path it touches. Keras JSON
configs embedded in the protobuf (``keras_metadata.pb``, SavedUserObject metadata) are
checked with :func:`.keras.check_keras_config`.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

from modeltrust._inventory.formats import Format
from modeltrust._scanners import _protobuf as pb
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._scanners.keras import check_keras_config
from modeltrust._scanners.tf_ops import KNOWN_OPS, grade_op, needs_inputs, outside_paths
from modeltrust._source.interface import Artifact, Buffer
from modeltrust.findings import Location, Rule, Severity
from modeltrust.rules import finding, rule

_FIX = "Do not load or serve the model; re-export it from source code you trust."
CODE_OP = rule(
    "MT-TF-001", "TensorFlow graph runs Python code or loads a native library",
    Severity.CRITICAL,
    """
    The graph contains ``PyFunc``, ``PyFuncStateless``, ``EagerPyFunc``, ``PyCall`` or a
    library-loading op. These call back into Python (or native code) chosen by whoever
    built the graph, so running the model runs that code.
    """,
    fix=_FIX, cwe=94,
)
WRITE_OP = rule(
    "MT-TF-002", "TensorFlow graph writes files", Severity.HIGH,
    """
    ``WriteFile`` (and similar ops) write arbitrary bytes to a path when the graph runs: a
    model can drop files, overwrite configuration or plant code. The path is in the evidence
    when it is a constant.
    """,
    fix=_FIX, cwe=73,
)
READ_OP = rule(
    "MT-TF-003", "TensorFlow graph reads or lists files", Severity.HIGH,
    """
    ``ReadFile``/``MatchingFiles`` read or list files on the serving host; their content can
    end up in the model's outputs (exfiltration of keys, credentials, configuration).
    """,
    fix=_FIX, cwe=73,
)
NETWORK_OP = rule(
    "MT-TF-004", "TensorFlow graph opens network connections", Severity.HIGH,
    """
    RPC and remote-reader ops connect to a network address when the graph runs (data
    exfiltration, server-side request forgery).
    """,
    fix=_FIX, cwe=918,
)
FILE_OP = rule(
    "MT-TF-005", "TensorFlow op touches a path outside the model", Severity.MEDIUM,
    """
    A save/restore, dataset, reader, lookup-table, print, debug or memory-mapping op works on
    an absolute path, a ``..`` path or a URL, or an op (debug, ``ImmutableConst``) is one that
    serving graphs do not need. Checkpoint ops of a SavedModel normally take their path from
    a placeholder, never from a constant.
    """,
    fix=_FIX, cwe=73,
)
CUSTOM_OP = rule(
    "MT-TF-006", "TensorFlow graph uses ops that are not standard TensorFlow", Severity.LOW,
    """
    Ops not in TensorFlow's standard set need a custom op library to run; loading one runs
    its native code, and the op itself was not reviewed.
    """,
    fix="Check where the custom op library comes from before installing it.",
)
MALFORMED = rule(
    "MT-TF-007", "TensorFlow protobuf is malformed", Severity.MEDIUM,
    """
    The file does not decode as a SavedModel, MetaGraphDef or GraphDef (or as text format),
    so what it would run cannot be vouched for. Malformed protobufs also target parsers.
    """,
    fix="Re-export the model with TensorFlow.",
)
LIMIT = rule(
    "MT-TF-008", "TensorFlow graph analysis stopped at a limit", Severity.MEDIUM,
    """
    The graph has more fields or nesting than the scanner decodes, or the time budget ran
    out; the rest was not examined.
    """,
    fix="Scan with larger limits, or inspect the graph with TensorFlow tools offline.", cwe=400,
)
_RULES: dict[str, Rule] = {"code": CODE_OP, "write": WRITE_OP, "read": READ_OP,
                           "network": NETWORK_OP, "file": FILE_OP}
MAX_NODES = 1_000_000
MAX_JSON = 64 * 1024 * 1024
MAX_TEXT = 256 * 1024 * 1024


@dataclass
class Node:
    """One NodeDef: what it runs and every string it carries (attrs, tensors)."""

    name: str
    op: str
    scope: str
    inputs: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    offset: int | None = None
    line: int | None = None


@dataclass
class Graph:
    """The nodes of every graph and function in a file, and the names of the functions."""

    nodes: list[Node] = field(default_factory=list)
    functions: set[str] = field(default_factory=set)
    tags: list[str] = field(default_factory=list)


class TensorFlowScanner(Scanner):
    """SavedModel/MetaGraphDef/GraphDef protobufs and text graphs: dangerous and custom ops."""

    name = "tensorflow"
    formats = frozenset({Format.TF_PROTOBUF, Format.TF_PBTXT})
    rules = (CODE_OP, WRITE_OP, READ_OP, NETWORK_OP, FILE_OP, CUSTOM_OP, MALFORMED, LIMIT)

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Decode the graph (binary or text), then grade every op it contains."""
        budget = pb.Budget(deadline=ctx.started + ctx.limits.max_seconds)
        if fmt is Format.TF_PBTXT:
            return _scan_text(artifact, data, fmt, ctx)
        return _scan_binary(artifact, data, fmt, ctx, budget)


def _scan_text(artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
    if len(data) > MAX_TEXT:
        ctx.report(finding(LIMIT, artifact.path, f"text graph of {len(data)} bytes: only the "
                           f"first {MAX_TEXT} were parsed"))
    text = bytes(data[:MAX_TEXT]).decode("utf-8", "replace")
    root, error = pb.parse_text(text)
    if error is not None:
        ctx.report(finding(MALFORMED, artifact.path, f"not protobuf text format: {error}",
                           Location(line=error.line or None)))
    graph = Graph()
    docs: list[tuple[str, bytes]] = []
    _text_nodes(root, "graph", graph, docs, 0)
    _check_json(artifact, ctx, docs)
    _analyse(graph, artifact, ctx)
    detail = f"TensorFlow text graph: {len(graph.nodes)} nodes, {len(graph.functions)} functions"
    if error is not None:
        return Result.partial(f"text format error: {error}", detail, fmt)
    return Result(detail=detail, format=fmt)


def _text_nodes(msg: pb.TextMessage, scope: str, g: Graph, docs: list[tuple[str, bytes]],
                depth: int) -> None:
    """Every message with an ``op`` string is a NodeDef; ``function`` messages set scope."""
    if depth > pb.MAX_DEPTH:
        return
    scalars = {f.name: f.value for f in msg.fields if isinstance(f.value, str)}
    op = scalars.get("op")
    if isinstance(op, str) and len(g.nodes) < MAX_NODES:
        line = next(f.line for f in msg.fields if f.name == "op")
        node = Node(str(scalars.get("name", "")), op, scope, line=line)
        node.inputs = [f.value for f in msg.fields if f.name == "input" and isinstance(
            f.value, str)]
        for f in msg.fields:
            if f.name == "attr" and isinstance(f.value, pb.TextMessage):
                _text_strings(f.value, node.strings, 0)
        g.nodes.append(node)
    for f in msg.fields:
        if isinstance(f.value, str):
            if f.quoted and f.value.startswith("{"):
                docs.append((f"line {f.line}", f.value.encode("utf-8")))
            continue
        inner = scope
        if f.name == "function":
            sig = next((s.value for s in f.value.fields if s.name == "signature"), None)
            if isinstance(sig, pb.TextMessage):
                name = next((str(n.value) for n in sig.fields if n.name == "name"), "?")
                g.functions.add(name)
                inner = f"function {name}"
        _text_nodes(f.value, inner, g, docs, depth + 1)


def _text_strings(msg: pb.TextMessage, out: list[str], depth: int) -> None:
    if depth > 8:
        return
    for f in msg.fields:
        if isinstance(f.value, pb.TextMessage):
            _text_strings(f.value, out, depth + 1)
        elif f.quoted and f.name in ("s", "string_val", "name") and len(out) < 4096:
            out.append(f.value)


def _scan_binary(artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext,
                 budget: pb.Budget) -> Result:
    try:
        pb.fields(data, 0, len(data), budget)
    except pb.WireError as exc:
        rule_ = LIMIT if isinstance(exc, pb.LimitError) else MALFORMED
        ctx.report(finding(rule_, artifact.path, f"not a protobuf message: {exc}",
                           Location(offset=exc.offset)))
        return Result.partial(f"undecodable protobuf: {exc}", format=fmt)
    kind, graph, problem = _best_graph(data, budget, _root_hint(artifact.path))
    stopped = ""
    sweep = _Sweep()
    try:
        sweep.walk(data, budget)
    except pb.LimitError as exc:
        stopped = str(exc)
        ctx.report(finding(LIMIT, artifact.path, f"search for embedded configs and nodes "
                           f"stopped: {exc}", Location(offset=exc.offset)))
    _check_json(artifact, ctx, sweep.docs)
    if problem is not None:
        rule_ = LIMIT if isinstance(problem, pb.LimitError) else MALFORMED
        ctx.report(finding(rule_, artifact.path, f"{kind}: {problem}",
                           Location(offset=problem.offset)))
        stopped = stopped or str(problem)
    seen = {n.offset for n in graph.nodes}
    graph.nodes.extend(n for n in sweep.nodes if n.offset not in seen)
    _analyse(graph, artifact, ctx)
    detail = f"TensorFlow {kind}: {len(graph.nodes)} nodes, {len(graph.functions)} functions"
    if graph.tags:
        detail += f", tags {sorted(set(graph.tags))}"
    if stopped:
        return Result.partial(stopped, detail, fmt)
    return Result(detail=detail, format=fmt)


def _root_hint(path: str) -> str:
    """The root message TensorFlow itself would parse a file with that name as."""
    name = path.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1].lower()
    if name.startswith("saved_model"):
        return "SavedModel"
    if name.endswith(".meta"):
        return "MetaGraphDef"
    return ""


_READERS = ("SavedModel", "MetaGraphDef", "GraphDef")


def _best_graph(data: Buffer, budget: pb.Budget, hint: str
                ) -> tuple[str, Graph, pb.WireError | None]:
    """Decode as the root type the name implies; otherwise keep the reading with most nodes.

    A file that decodes cleanly as its own type is never judged by another reading, so
    decoy fields that read as many nodes under another schema cannot displace it.
    """
    best: tuple[str, Graph, pb.WireError | None] | None = None
    for kind in sorted(_READERS, key=lambda k: k != hint):
        graph = Graph()
        error: pb.WireError | None = None
        try:
            _ROOTS[kind](data, 0, len(data), budget, graph)
        except pb.LimitError as exc:
            error = exc
        except pb.WireError as exc:
            if not graph.nodes:
                continue
            error = exc
        if kind == hint and error is None:
            return kind, graph, None
        if best is None or len(graph.nodes) > len(best[1].nodes):
            best = (kind, graph, error)
        if isinstance(error, pb.LimitError):
            break
    if best is None:
        return "protobuf", Graph(), pb.WireError("matches no TensorFlow graph message", 0)
    return best


def _sub(data: Buffer, f: pb.Field, budget: pb.Budget) -> list[pb.Field]:
    """A sub-message's fields; [] for another wire type: protobuf skips it as unknown.

    Raising instead would let one mistyped field hide every node after it.
    """
    if f.wire != pb.LEN:
        return []
    return pb.fields(data, f.start, f.end, budget)


def _saved_model(data: Buffer, start: int, end: int, budget: pb.Budget, g: Graph) -> None:
    for f in pb.fields(data, start, end, budget):
        if f.number == 2 and f.wire == pb.LEN:
            _meta_graph(data, f.start, f.end, budget, g)


def _meta_graph(data: Buffer, start: int, end: int, budget: pb.Budget, g: Graph) -> None:
    for f in pb.fields(data, start, end, budget):
        if f.number == 1:
            for info in _sub(data, f, budget):
                if info.number == 4 and info.wire == pb.LEN:
                    g.tags.append(pb.text(data, info, 200))
        elif f.number == 2 and f.wire == pb.LEN:
            _graph_def(data, f.start, f.end, budget, g)


def _graph_def(data: Buffer, start: int, end: int, budget: pb.Budget, g: Graph) -> None:
    for f in pb.fields(data, start, end, budget):
        if f.number == 1 and f.wire == pb.LEN:
            _node(data, f, budget, g, "graph")
        elif f.number == 2:
            for fn in _sub(data, f, budget):
                if fn.number == 1 and fn.wire == pb.LEN:
                    _function(data, fn, budget, g)


_ROOTS = {"SavedModel": _saved_model, "MetaGraphDef": _meta_graph, "GraphDef": _graph_def}


def _function(data: Buffer, f: pb.Field, budget: pb.Budget, g: Graph) -> None:
    body = _sub(data, f, budget)
    name = "?"
    for part in body:
        if part.number == 1:
            for sig in _sub(data, part, budget):
                if sig.number == 1 and sig.wire == pb.LEN:
                    name = pb.text(data, sig, 512)
    g.functions.add(name)
    for part in body:
        if part.number == 3 and part.wire == pb.LEN:
            _node(data, part, budget, g, f"function {name}")


def _node(data: Buffer, f: pb.Field, budget: pb.Budget, g: Graph, scope: str) -> None:
    if len(g.nodes) >= MAX_NODES:
        raise pb.LimitError(f"more than {MAX_NODES} nodes", f.offset)
    g.nodes.append(read_node(data, f, budget, scope))


def read_node(data: Buffer, f: pb.Field, budget: pb.Budget, scope: str) -> Node:
    """A NodeDef (name 1, op 2, input 3, attr 5); fields of another wire type are skipped."""
    node = Node("", "", scope, offset=f.offset)
    for part in _sub(data, f, budget):
        if part.wire != pb.LEN:
            continue
        if part.number == 1:
            node.name = pb.text(data, part, 512)
        elif part.number == 2:
            node.op = pb.text(data, part, 256)
        elif part.number == 3 and len(node.inputs) < 4096:
            node.inputs.append(pb.text(data, part, 512))
        elif part.number == 5:
            _attr_entry(data, part, budget, node)
    return node


_NAME = re.compile(r"[A-Za-z0-9_.>/\-]{1,256}")


class _Sweep:
    """Schema-free pass over every nested message: embedded JSON, stray side-effect nodes.

    NodeDef-shaped messages with side-effect ops are collected wherever they sit, so no
    choice of root schema (or decoy field) hides a node.
    """

    def __init__(self) -> None:
        self.docs: list[tuple[str, bytes]] = []
        self.nodes: list[Node] = []

    def walk(self, data: Buffer, budget: pb.Budget) -> None:
        stack = [(0, len(data), 0, -1)]
        while stack:
            start, end, depth, at = stack.pop()
            if depth > budget.depth:
                raise pb.LimitError(f"nesting deeper than {budget.depth}", start)
            try:
                found = pb.fields(data, start, end, budget)
            except pb.LimitError:
                raise
            except pb.WireError:
                continue
            if at >= 0:
                self._maybe_node(data, found, pb.Field(0, pb.LEN, start, end, at), budget)
            for f in reversed(found):
                if f.wire != pb.LEN or f.end == f.start:
                    continue
                if data[f.start] == 0x7B:  # "{"
                    self.docs.append((f"offset {f.start:#x}", pb.payload(data, f, MAX_JSON)))
                elif data[f.start] & 7 in (pb.VARINT, pb.I64, pb.LEN, pb.I32):
                    stack.append((f.start, f.end, depth + 1, f.offset))

    def _maybe_node(self, data: Buffer, found: list[pb.Field], f: pb.Field,
                    budget: pb.Budget) -> None:
        ops = [p for p in found if p.number == 2 and p.wire == pb.LEN]
        if not ops or any(p.number > 7 for p in found) or len(self.nodes) >= MAX_NODES:
            return
        op = pb.text(data, ops[-1], 256)
        if not _NAME.fullmatch(op) or grade_op(op, [], ["/"]) is None:
            return
        self.nodes.append(read_node(data, f, budget, "unlisted message"))


def _attr_entry(data: Buffer, f: pb.Field, budget: pb.Budget, node: Node) -> None:
    """An ``attr`` map entry; a value that does not decode is skipped, not fatal."""
    try:
        for part in _sub(data, f, budget):
            if part.number == 2 and part.wire == pb.LEN:
                _attr_value(data, part, budget, node, 0)
    except pb.LimitError:
        raise
    except pb.WireError:
        return


# AttrValue: s=2, list=1, tensor=8, func=10; ListValue: s=2, tensor=8, func=9;
# TensorProto: string_val=8; NameAttrList: name=1.
_ATTR_VALUE = {2: "s", 1: "list", 8: "tensor", 10: "func"}
_LIST_VALUE = {2: "s", 8: "tensor", 9: "func"}


def _attr_value(data: Buffer, f: pb.Field, budget: pb.Budget, node: Node, depth: int,
                schema: dict[int, str] = _ATTR_VALUE) -> None:
    """Collect strings of an AttrValue: ``s``, ``list.s``, tensors' ``string_val``, funcs."""
    if depth > 8:
        return
    for part in _sub(data, f, budget):
        kind = schema.get(part.number)
        if part.wire != pb.LEN or kind is None or len(node.strings) > 4096:
            continue
        if kind == "s":
            node.strings.append(pb.text(data, part, 4096))
        elif kind == "list":
            _attr_value(data, part, budget, node, depth + 1, _LIST_VALUE)
        elif kind == "tensor":
            node.strings.extend(pb.text(data, sv, 4096) for sv in _sub(data, part, budget)
                                if sv.number == 8 and sv.wire == pb.LEN)
        else:
            node.strings.extend(pb.text(data, sub, 512) for sub in _sub(data, part, budget)
                                if sub.number == 1 and sub.wire == pb.LEN)


def _check_json(artifact: Artifact, ctx: ScanContext, docs: list[tuple[str, bytes]]) -> None:
    for where, raw in docs:
        if b'"class_name"' not in raw:
            continue
        try:
            config = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if isinstance(config, dict):
            check_keras_config(config, artifact, ctx, f"embedded Keras config at {where}")


def _analyse(graph: Graph, artifact: Artifact, ctx: ScanContext) -> None:
    by_name = {(n.scope, n.name): n for n in graph.nodes}
    unknown: dict[str, int] = {}
    deadline = ctx.started + ctx.limits.max_seconds
    for i, n in enumerate(graph.nodes):
        if i % 4096 == 0 and time.monotonic() > deadline:
            ctx.report(finding(LIMIT, artifact.path, f"time budget exhausted after {i} nodes"))
            break
        fed = _fed_strings(n, by_name) if needs_inputs(n.op) else []
        grade = grade_op(n.op, n.strings, fed)
        if grade is not None:
            kind, why, severity = grade
            strings = outside_paths(n.strings + fed) or sorted(set(n.strings + fed))[:5]
            shown = f"; strings {[s[:200] for s in strings[:8]]}" if strings else ""
            ev = f"node {n.name!r} op {n.op} in {n.scope}: {why}{shown}"
            ctx.report(finding(_RULES[kind], artifact.path, ev,
                               Location(offset=n.offset, line=n.line, detail=n.scope),
                               severity=severity))
        elif n.op and n.op not in KNOWN_OPS and n.op not in graph.functions:
            unknown[n.op] = unknown.get(n.op, 0) + 1
    if unknown:
        listed = ", ".join(f"{op} x{count}" for op, count in sorted(unknown.items())[:50])
        ctx.report(finding(CUSTOM_OP, artifact.path, f"{len(unknown)} non-standard op types: "
                           f"{listed}"))


_FED_NODES = 64
"""Upstream nodes followed to find the strings (paths) an op receives."""


def _fed_strings(node: Node, by_name: dict[tuple[str, str], Node]) -> list[str]:
    """Strings of the ``Const`` nodes upstream of ``node`` (through Identity, StringJoin...).

    A path built or forwarded before it reaches a file op is still seen.
    """
    out: list[str] = []
    seen: set[str] = set()
    queue = [_input_name(i) for i in node.inputs]
    while queue and len(seen) < _FED_NODES:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.add(name)
        up = by_name.get((node.scope, name))
        if up is None:
            continue
        if up.op == "Const":
            out.extend(up.strings)
        else:
            queue.extend(_input_name(i) for i in up.inputs[:16])
    return out


def _input_name(text: str) -> str:
    return text.lstrip("^").split(":", 1)[0]
