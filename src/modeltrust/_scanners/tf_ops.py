"""The TensorFlow op catalogue: which ops have side effects, and how each is graded.

Kept apart from the graph decoder so the TFLite scanner (Flex ops run TensorFlow ops) grades
ops the same way. Grading is deny by default: ops with side effects are listed by what they
reach (code, writes, reads, network, paths); names that only *imitate* one of them (other
case, a ``Namespace>`` or ``_`` prefix, an ``Experimental`` prefix, a version suffix) are
graded like the op they imitate, since only a custom op library can give them meaning.
Everything else not in :data:`KNOWN_OPS` is reported as non-standard by the caller.
"""

from __future__ import annotations

import re

from modeltrust.findings import Severity

Grade = tuple[str, str, Severity | None]
"""``(kind, reason, severity override)``; kind is code/write/read/network/file."""


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CODE = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc", "PyCall", "LoadLibrary",
                   "LoadOpLibrary", "LoadDynamicKernelLibrary", "LoadPluggableDeviceLibrary",
                   "LoadFileSystemLibrary", "DynamicLoad"})
_WRITE = frozenset({"WriteFile", "DeleteFile", "RecursivelyCreateDir", "CreateDir",
                    "RenameFile", "CopyFile"})
_READ = frozenset({"ReadFile", "MatchingFiles", "MatchingFilesDataset",
                   "ExperimentalMatchingFilesDataset", "FileExists",
                   "GetChildren", "IsDirectory", "Stat", "FileSystemSetConfiguration"})
_NETWORK = frozenset({"Rpc", "TryRpc", "RpcCall", "RpcCheckStatus", "RpcClient",
                      "RpcServer", "RpcServerRegister", "RpcServerStart", "RpcGetValue",
                      "DeleteRpcFutureResource", "BigQueryReader",
                      "GenerateBigQueryReaderPartitions", "GcsConfigureCredentials",
                      "GcsConfigureBlockCache", "CollectiveInitializeCommunicator",
                      "DataServiceDataset",
                      "DataServiceDatasetV2", "DataServiceDatasetV3", "DataServiceDatasetV4",
                      "RegisterDataset", "RegisterDatasetV2", "DistributedSave"})
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
FixedUnigramCandidateSampler GenerateVocabRemapping LoadAndRemapMatrix SaveDatasetV2
CheckpointedLoad ExperimentalSaveDataset
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
_URLISH = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]{1,15}://|file:)", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def outside_paths(strings: list[str]) -> list[str]:
    """Sorted strings that are absolute paths, ``..`` paths, URLs or home-relative paths."""
    out = set()
    for s in strings:
        v = s.strip()
        parts = re.split(r"[\\/]", v)
        if (_URLISH.match(v) or v.startswith(("/", "\\", "~")) or ".." in parts
                or _DRIVE.match(v)):
            out.add(v)
    return sorted(out)


def canonical(op: str) -> str:
    """The op name stripped of what only disguises it: case, namespace, prefixes, version."""
    name = re.split(r"[>./:]", op)[-1].casefold()
    name = re.sub(r"[^a-z0-9]", "", name)
    name = name.removeprefix("experimental")
    return re.sub(r"v[0-9]+$", "", name)


def _exact(op: str, strings: list[str], fed: list[str]) -> Grade | None:
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
        if op.startswith("Print") and any(s.strip().casefold().startswith("file:")
                                           for s in strings):
            return "file", "prints to a file", None
    return None


_SIDE_EFFECT_OPS = _CODE | _WRITE | _READ | _NETWORK | _ALWAYS_FILE | _PATH_OPS
_BY_CANONICAL = {canonical(op): op for op in sorted(_SIDE_EFFECT_OPS, reverse=True)}


def imitated(op: str) -> str | None:
    """The side-effect op that ``op`` imitates (not itself a standard op), if any."""
    if op in KNOWN_OPS or op in _SIDE_EFFECT_OPS:
        return None
    return _BY_CANONICAL.get(canonical(op))


def grade_op(op: str, strings: list[str], fed: list[str]) -> Grade | None:
    """``(kind, reason, severity override)`` for an op with side effects, else None."""
    graded = _exact(op, strings, fed)
    if graded is not None:
        return graded
    target = imitated(op)
    if target is None:
        return None
    graded = _exact(target, strings, fed)
    if graded is None:
        return None
    kind, why, severity = graded
    return kind, f"name imitates {target}, which {why.replace('runs', 'would run')}", severity


def needs_inputs(op: str) -> bool:
    """Whether grading ``op`` looks at the constants feeding it (path-taking ops)."""
    return op in _PATH_OPS or op not in KNOWN_OPS
