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
    if isinstance(op, str) and "name" in scalars and len(g.nodes) < MAX_NODES:
        line = next(f.line for f in msg.fields if f.name == "op")
        node = Node(str(scalars["name"]), op, scope, line=line)
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
    kind, graph, problem = _best_graph(data, budget)
    stopped = ""
    try:
        json_docs = [(f"offset {f.start:#x}", pb.payload(data, f, MAX_JSON)) for f in
                     pb.iter_strings(data, 0, len(data), budget, prefix=b"{")]
    except pb.LimitError as exc:
        json_docs, stopped = [], str(exc)
        ctx.report(finding(LIMIT, artifact.path, f"embedded-config search stopped: {exc}",
                           Location(offset=exc.offset)))
    _check_json(artifact, ctx, json_docs)
    if problem is not None:
        rule_ = LIMIT if isinstance(problem, pb.LimitError) else MALFORMED
        ctx.report(finding(rule_, artifact.path, f"{kind}: {problem}",
                           Location(offset=problem.offset)))
        stopped = stopped or str(problem)
    _analyse(graph, artifact, ctx)
    detail = f"TensorFlow {kind}: {len(graph.nodes)} nodes, {len(graph.functions)} functions"
    if graph.tags:
        detail += f", tags {sorted(set(graph.tags))}"
    if stopped:
        return Result.partial(stopped, detail, fmt)
    return Result(detail=detail, format=fmt)


def _best_graph(data: Buffer, budget: pb.Budget) -> tuple[str, Graph, pb.WireError | None]:
    """Decode as each root message type; keep the reading that finds the most nodes."""
    best: tuple[str, Graph, pb.WireError | None] | None = None
    for kind, reader in (("SavedModel", _saved_model), ("MetaGraphDef", _meta_graph),
                         ("GraphDef", _graph_def)):
        graph = Graph()
        error: pb.WireError | None = None
        try:
            reader(data, 0, len(data), budget, graph)
        except pb.LimitError as exc:
            error = exc
        except pb.WireError as exc:
            if not graph.nodes:
                continue
            error = exc
        if best is None or len(graph.nodes) > len(best[1].nodes):
            best = (kind, graph, error)
        if isinstance(error, pb.LimitError):
            break
    if best is None:
        return "protobuf", Graph(), pb.WireError("matches no TensorFlow graph message", 0)
    return best


def _sub(data: Buffer, f: pb.Field, budget: pb.Budget) -> list[pb.Field]:
    if f.wire != pb.LEN:
        raise pb.WireError(f"field {f.number} is not a message", f.offset)
    return pb.fields(data, f.start, f.end, budget)


def _saved_model(data: Buffer, start: int, end: int, budget: pb.Budget, g: Graph) -> None:
    for f in pb.fields(data, start, end, budget):
        if f.number == 1 and f.wire != pb.VARINT:
            raise pb.WireError("schema version is not a varint", f.offset)
        if f.number == 2:
            _sub(data, f, budget)
            _meta_graph(data, f.start, f.end, budget, g)


def _meta_graph(data: Buffer, start: int, end: int, budget: pb.Budget, g: Graph) -> None:
    for f in pb.fields(data, start, end, budget):
        if f.number == 1:
            for info in _sub(data, f, budget):
                if info.number == 4 and info.wire == pb.LEN:
                    g.tags.append(pb.text(data, info, 200))
        elif f.number == 2:
            _sub(data, f, budget)
            _graph_def(data, f.start, f.end, budget, g)


def _graph_def(data: Buffer, start: int, end: int, budget: pb.Budget, g: Graph) -> None:
    for f in pb.fields(data, start, end, budget):
        if f.number == 1:
            _node(data, f, budget, g, "graph")
        elif f.number == 2:
            for fn in _sub(data, f, budget):
                if fn.number == 1:
                    _function(data, fn, budget, g)


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
        if part.number == 3:
            _node(data, part, budget, g, f"function {name}")


def _node(data: Buffer, f: pb.Field, budget: pb.Budget, g: Graph, scope: str) -> None:
    if len(g.nodes) >= MAX_NODES:
        raise pb.LimitError(f"more than {MAX_NODES} nodes", f.offset)
    node = Node("", "", scope, offset=f.offset)
    for part in _sub(data, f, budget):
        if part.number in (1, 2, 3, 4) and part.wire != pb.LEN:
            raise pb.WireError(f"NodeDef field {part.number} is not a string", part.offset)
        if part.number == 1:
            node.name = pb.text(data, part, 512)
        elif part.number == 2:
            node.op = pb.text(data, part, 256)
        elif part.number == 3 and len(node.inputs) < 4096:
            node.inputs.append(pb.text(data, part, 512))
        elif part.number == 5:
            _attr_entry(data, part, budget, node)
    g.nodes.append(node)


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
    consts: dict[tuple[str, str], list[str]] = {}
    for n in graph.nodes:
        if n.op == "Const" and n.strings:
            consts[(n.scope, n.name)] = n.strings
    unknown: dict[str, int] = {}
    deadline = ctx.started + ctx.limits.max_seconds
    for i, n in enumerate(graph.nodes):
        if i % 4096 == 0 and time.monotonic() > deadline:
            ctx.report(finding(LIMIT, artifact.path, f"time budget exhausted after {i} nodes"))
            break
        fed = [s for inp in n.inputs for s in consts.get((n.scope, _input_name(inp)), [])]
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


def _input_name(text: str) -> str:
    return text.lstrip("^").split(":", 1)[0]


# --- op tables -----------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CODE = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc", "PyCall", "LoadLibrary",
                   "LoadOpLibrary", "LoadDynamicKernelLibrary", "LoadPluggableDeviceLibrary",
                   "LoadFileSystemLibrary", "DynamicLoad"})
_WRITE = frozenset({"WriteFile", "DeleteFile", "RecursivelyCreateDir", "CreateDir",
                    "RenameFile", "CopyFile"})
_READ = frozenset({"ReadFile", "MatchingFiles", "MatchingFilesDataset", "FileExists",
                   "GetChildren", "IsDirectory", "Stat", "FileSystemSetConfiguration"})
_NETWORK = frozenset({"Rpc", "TryRpc", "RpcCall", "RpcCheckStatus", "RpcClient",
                      "RpcServer", "RpcServerRegister", "RpcServerStart", "RpcGetValue",
                      "DeleteRpcFutureResource", "BigQueryReader",
                      "GenerateBigQueryReaderPartitions", "GcsConfigureCredentials",
                      "GcsConfigureBlockCache", "CollectiveInitializeCommunicator"})
_ALWAYS_FILE = frozenset({"ImmutableConst", "DebugIdentity", "DebugIdentityV2",
                          "DebugIdentityV3", "DebugNanCount", "DebugNumericSummary",
                          "DebugNumericSummaryV2", "CopyHost", "Copy"})
_PATH_OPS = _words("""
Save SaveV2 SaveSlices Restore RestoreV2 RestoreSlice ShardedFilename ShardedFilespec
MergeV2Checkpoints PrintV2 Print TFRecordDataset TFRecordDatasetV2 TextLineDataset
FixedLengthRecordDataset FixedLengthRecordDatasetV2 CSVDataset CSVDatasetV2
ExperimentalCSVDataset LMDBDataset ExperimentalLMDBDataset SqlDataset ExperimentalSqlDataset
SaveDataset SaveDatasetV2 LoadDataset ExperimentalLoadDataset DatasetToTFRecord
ExperimentalDatasetToTFRecord SnapshotDataset SnapshotDatasetV2 WholeFileReader
WholeFileReaderV2 TextLineReader TextLineReaderV2 FixedLengthRecordReader
FixedLengthRecordReaderV2 TFRecordReader TFRecordReaderV2 LMDBReader
InitializeTableFromTextFile InitializeTableFromTextFileV2 DecodeProtoV2 EncodeProto
CreateSummaryFileWriter CreateSummaryDbWriter WriteSummary WriteRawProtoSummary
SummaryWriter ExperimentalIgnoreErrorsDataset CacheDataset CacheDatasetV2
""")
KNOWN_OPS = _words("""
Abs Acos Acosh Add AddN AddV2 AdjustContrastv2 AdjustHue AdjustSaturation All Angle Any
ApproximateEqual ArgMax ArgMin AsString Asin Asinh Assert Assign AssignAdd AssignSub
AssignVariableOp AssignAddVariableOp AssignSubVariableOp Atan Atan2 Atanh AudioSpectrogram
AvgPool AvgPool3D AvgPoolGrad BatchMatMul BatchMatMulV2 BatchMatMulV3
BatchNormWithGlobalNormalization
BatchToSpace BatchToSpaceND BiasAdd BiasAddGrad BiasAddV1 Bincount Bitcast BitwiseAnd BitwiseOr
BitwiseXor BroadcastArgs BroadcastGradientArgs BroadcastTo Bucketize Case Cast Ceil CheckNumerics
CheckNumericsV2 Cholesky ClipByValue ComplexAbs Complex Concat ConcatOffset ConcatV2 Conj
ConjugateTranspose Const ControlTrigger Conv Conv2D Conv2DBackpropFilter Conv2DBackpropInput
Conv3D Conv3DBackpropInputV2 Cos Cosh CropAndResize Cross Cumprod Cumsum DataFormatDimMap
DataFormatVecPermute DecodeBase64 DecodeBmp DecodeCSV DecodeGif DecodeImage DecodeJpeg
DecodePng DecodeRaw DecodeWav DeleteSessionTensor DenseBincount DepthToSpace
DepthwiseConv2dNative DepthwiseConv2dNativeBackpropFilter DepthwiseConv2dNativeBackpropInput
Dequantize DestroyResourceOp DeviceIndex Diag DiagPart Digamma Dilation2D DisableCopyOnRead
Div DivNoNan DrawBoundingBoxes DynamicPartition DynamicStitch Einsum Elu EluGrad EmptyTensorList
EncodeBase64 EncodeJpeg EncodePng EncodeWav EnsureShape Enter Equal Erf Erfc Erfinv
EuclideanNorm Exit Exp ExpandDims Expm1 ExtractImagePatches FFT FFT2D FFT3D FIFOQueueV2 Fill
FakeQuantWithMinMaxArgs FakeQuantWithMinMaxVars FakeQuantWithMinMaxVarsPerChannel Fingerprint
Floor FloorDiv FloorMod FusedBatchNorm FusedBatchNormGrad FusedBatchNormGradV3 FusedBatchNormV2
FusedBatchNormV3 FusedPadConv2D FusedResizeAndPadConv2D Gather GatherNd GatherV2 GreaterEqual
Greater GuaranteeConst HashTable HashTableV2 HistogramFixedWidth HistogramSummary IFFT IFFT2D
IRFFT Identity IdentityN If Igamma Igammac Imag ImageSummary InTopK InTopKV2 InitializeTable
InitializeTableV2 InvertPermutation Inv InvGrad IsFinite IsInf IsNan IsVariableInitialized
IteratorGetNext IteratorV2 L2Loss LRN LeakyRelu LeakyReluGrad LeftShift LessEqual Less Lgamma
LinSpace ListDiff Log Log1p LogMatrixDeterminant LogSoftmax LogicalAnd LogicalNot LogicalOr
LookupTableExportV2 LookupTableFindV2 LookupTableImportV2 LookupTableInsertV2 LookupTableSizeV2
LoopCond LowerBound MakeIterator MatMul MatrixBandPart MatrixDeterminant MatrixDiag
MatrixDiagPart MatrixDiagPartV3 MatrixDiagV3 MatrixInverse MatrixSetDiag MatrixSetDiagV3
MatrixSolve MatrixTriangularSolve Max MaxPool MaxPool3D MaxPoolGrad MaxPoolV2 MaxPoolWithArgmax
Maximum Mean Merge MergeSummary Min Minimum MirrorPad Mod Mul MulNoNan Multinomial
MutableDenseHashTableV2 MutableHashTableOfTensorsV2 MutableHashTableV2 Ndtri Neg NextIteration
NoOp NonMaxSuppressionV2 NonMaxSuppressionV3 NonMaxSuppressionV4 NonMaxSuppressionV5 NotEqual
OneHot OnesLike OptionalFromValue OptionalGetValue OptionalHasValue OptionalNone Pack Pad
PadV2 PaddingFIFOQueueV2 ParallelConcat ParallelDynamicStitch ParseExample ParseExampleV2
ParseSingleExample ParseSingleSequenceExample ParseTensor PartitionedCall Placeholder
PlaceholderWithDefault Polygamma PopulationCount Pow PreventGradient Prod Qr QuantizeAndDequantizeV2
QuantizeAndDequantizeV3 QuantizeAndDequantizeV4 QuantizeV2 QueueDequeueV2 QueueEnqueueV2 RFFT
RFFT2D RaggedGather RaggedRange RaggedTensorFromVariant RaggedTensorToSparse RaggedTensorToTensor
RaggedTensorToVariant RandomGamma RandomShuffle RandomStandardNormal RandomUniform
RandomUniformInt Range Rank ReadVariableOp Real RealDiv Reciprocal ReciprocalGrad RefIdentity
RegexFullMatch RegexReplace Relu Relu6 Relu6Grad ReluGrad Reshape ResizeArea ResizeBicubic
ResizeBilinear ResizeBilinearGrad ResizeNearestNeighbor ResizeNearestNeighborGrad
ResourceApplyAdam ResourceApplyGradientDescent ResourceGather ResourceGatherNd
ResourceScatterAdd ResourceScatterUpdate ResourceStridedSliceAssign Reverse ReverseSequence
ReverseV2 RightShift Rint Roll Round Rsqrt RsqrtGrad SampleDistortedBoundingBoxV2 ScalarSummary
ScatterNd ScatterNdUpdate SegmentMax SegmentMean SegmentMin SegmentProd SegmentSum Select
SelectV2 Selu SeluGrad SerializeTensor Shape ShapeN Sigmoid SigmoidGrad Sign Sin Sinh Size
Slice Snapshot Softmax SoftmaxCrossEntropyWithLogits Softplus SoftplusGrad Softsign
SpaceToBatch SpaceToBatchND SpaceToDepth SparseFillEmptyRows SparseReshape SparseSegmentMean
SparseSegmentSqrtN SparseSegmentSum SparseSoftmaxCrossEntropyWithLogits SparseTensorDenseMatMul
SparseToDense Split SplitV Sqrt SqrtGrad Square SquaredDifference Squeeze Stack StackPopV2
StackPushV2 StackV2 StatefulPartitionedCall StatelessIf StatelessRandomNormal
StatelessRandomNormalV2 StatelessRandomUniform StatelessRandomUniformV2 StatelessWhile
StaticRegexFullMatch StaticRegexReplace StopGradient StridedSlice StridedSliceAssign
StridedSliceGrad StringFormat StringJoin StringLength StringLower StringSplit StringSplitV2
StringStrip StringToHashBucket StringToHashBucketFast StringToHashBucketStrong StringToNumber
StringUpper Sub Substr Sum Svd Switch SymbolicGradient TPUPartitionedCall TPUReplicateMetadata
Tan Tanh TanhGrad TemporaryVariable TensorArrayGatherV3 TensorArrayReadV3 TensorArrayScatterV3
TensorArraySizeV3 TensorArrayV3 TensorArrayWriteV3 TensorListFromTensor TensorListGetItem
TensorListLength TensorListPopBack TensorListPushBack TensorListReserve TensorListSetItem
TensorListStack TensorScatterAdd TensorScatterUpdate TensorSummary TensorSummaryV2 Tile TopK
TopKV2 Transpose TruncateDiv TruncateMod TruncatedNormal Unbatch UnicodeDecode
UnicodeDecodeWithOffsets UnicodeEncode UnicodeScript UnicodeTranscode Unique UniqueV2
UniqueWithCounts Unpack UnravelIndex UnsortedSegmentMax UnsortedSegmentMin UnsortedSegmentProd
UnsortedSegmentSum UpperBound VarHandleOp VarIsInitializedOp Variable VariableShape VariableV2
Where While Xdivy Xlog1py Xlogy ZerosLike Zeta _Arg _Retval _Recv _Send _HostRecv _HostSend
_FusedConv2D _FusedMatMul _FusedBatchNormEx SparseMatMul BatchFunction NcclAllReduce
""") | _PATH_OPS
_URLISH = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]{1,15}://")


def outside_paths(strings: list[str]) -> list[str]:
    """Sorted strings that are absolute paths, ``..`` paths or URLs."""
    out = set()
    for s in strings:
        v = s.strip()
        parts = re.split(r"[\\/]", v)
        if (_URLISH.match(v) or v.startswith(("/", "\\", "~")) or ".." in parts
                or re.match(r"^[A-Za-z]:[\\/]", v)):
            out.add(v)
    return sorted(out)


def grade_op(
    op: str, strings: list[str], fed: list[str]
) -> tuple[str, str, Severity | None] | None:
    """``(kind, reason, severity override)`` for an op with side effects, else None."""
    if op in _CODE:
        return "code", "runs Python or native code chosen by the graph", None
    if op in _WRITE:
        return "write", "writes to the file system", None
    if op in _READ:
        return "read", "reads or lists files on the host", None
    if op in _NETWORK:
        return "network", "connects to a network address", None
    if op in _ALWAYS_FILE:
        return "file", "debug or memory-mapping op not needed for serving", None
    if op in _PATH_OPS:
        bad = outside_paths(strings + fed)
        if bad:
            return "file", f"works on a path outside the model ({bad[0][:200]!r})", None
        if op == "PrintV2" and any(s.startswith("file://") for s in strings):
            return "file", "prints to a file", None
    return None
