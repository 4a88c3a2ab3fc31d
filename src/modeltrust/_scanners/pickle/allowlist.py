"""The allowlist: reconstruction callables a legitimate checkpoint may name. Deny by default.

Only what real torch, numpy, joblib, scikit-learn, scipy and pandas saves reference is here,
each entry with the reason it is safe to call while unpickling. Everything else (including
everything *not* listed from these same packages) is graded by :mod:`capabilities`.

Two sources, both data:

* the reviewed table below (functions, value types, dtype and layout objects);
* ``allowlist_data.json``, generated statically from the installed packages' source by
  :mod:`gen_allowlist`: the public ``torch.nn.modules`` classes (whole-module saves), the
  public scikit-learn classes under their defining modules, and scipy's sparse classes.

Names are compared after the same alias normalisation as :mod:`capabilities`
(``__builtin__`` -> ``builtins``, ``numpy.core`` -> ``numpy._core``, ``_codecs`` -> ``codecs``
...). Dotted names (``OrderedDict.fromkeys``, ``dict.get``) are never allowed: they reach an
attribute, not a reconstruction function.

Combinators on the list (``copyreg._reconstructor``, ``torch._tensor._rebuild_from_type_v2``,
``numpy.random._pickle.__bit_generator_ctor``) call or instantiate *another* callable that
the pickle passes in; that callable is itself a global of the stream, which the scanner grades
on its own, so allowing the combinator opens nothing.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path

from modeltrust._scanners.pickle.capabilities import canonical_module

__all__ = ["allowlist_reason", "is_allowed"]

DATA_FILE = "allowlist_data.json"


def _many(module: str, names: str, reason: str) -> dict[tuple[str, str], str]:
    return {(module, n): reason for n in names.split()}


_TORCH_DTYPES = (
    "float32 float float64 double float16 half bfloat16 complex32 chalf complex64 cfloat "
    "complex128 cdouble uint8 uint16 uint32 uint64 int8 int16 short int32 int int64 long bool "
    "quint8 qint8 qint32 quint4x2 quint2x4 float8_e4m3fn float8_e5m2 float8_e4m3fnuz "
    "float8_e5m2fnuz float8_e8m0fnu float4_e2m1fn_x2 bits8 bits16 bits1x8 bits2x4 bits4x2"
)
_TORCH_STORAGES = " ".join(
    f"{t}Storage"
    for t in [
        "Float",
        "Double",
        "Half",
        "BFloat16",
        "Long",
        "Int",
        "Short",
        "Char",
        "Byte",
        "Bool",
        "ComplexFloat",
        "ComplexDouble",
        "QUInt8",
        "QInt8",
        "QInt32",
        "QUInt4x2",
        "QUInt2x4",
    ]
)
_NUMPY_SCALARS = (
    "float16 float32 float64 longdouble float128 half single double complex64 complex128 "
    "complex256 csingle cdouble clongdouble int8 int16 int32 int64 uint8 uint16 uint32 uint64 "
    "intc uintc intp uintp longlong ulonglong short ushort byte ubyte bool_ bool str_ bytes_ "
    "void datetime64 timedelta64 object_ number generic"
)
_PANDAS_TYPES = (
    "DataFrame Series Index RangeIndex MultiIndex DatetimeIndex TimedeltaIndex PeriodIndex "
    "CategoricalIndex IntervalIndex Categorical CategoricalDtype DatetimeTZDtype PeriodDtype "
    "IntervalDtype StringDtype BooleanDtype Int8Dtype Int16Dtype Int32Dtype Int64Dtype "
    "UInt8Dtype UInt16Dtype UInt32Dtype UInt64Dtype Float32Dtype Float64Dtype SparseDtype "
    "Timestamp Timedelta Period Interval NaT"
)
_WHY_PANDAS = "pandas value type (constructor)"

_TABLE: dict[tuple[str, str], str] = {
    # --- torch: tensor, storage and parameter rebuilders (torch._utils / torch._tensor).
    **_many(
        "torch._utils",
        "_rebuild_tensor _rebuild_tensor_v2 _rebuild_tensor_v3 _rebuild_parameter "
        "_rebuild_parameter_with_state _rebuild_qtensor _rebuild_sparse_tensor "
        "_rebuild_nested_tensor _rebuild_device_tensor_from_numpy "
        "_rebuild_device_tensor_from_cpu_tensor _rebuild_meta_tensor_no_storage "
        "_rebuild_wrapper_subclass",
        "torch tensor rebuilder",
    ),
    **_many(
        "torch.jit._pickle",
        "build_intlist build_tensorlist build_doublelist build_boollist build_complexlist "
        "restore_type_tag",
        "TorchScript list/type-tag rebuilder (builds a list from its argument)",
    ),
    ("torch._tensor", "_rebuild_from_type"): "torch tensor subclass rebuilder",
    ("torch._tensor", "_rebuild_from_type_v2"): "torch tensor subclass rebuilder",
    ("torch.serialization", "_get_layout"): "torch layout lookup by name",
    **_many("torch", _TORCH_STORAGES, "torch legacy typed storage class"),
    **_many("torch.cuda", _TORCH_STORAGES, "torch legacy CUDA typed storage class"),
    ("torch.storage", "UntypedStorage"): "torch storage class",
    ("torch.storage", "TypedStorage"): "torch storage class",
    ("torch", "UntypedStorage"): "torch storage class",
    ("torch", "TypedStorage"): "torch storage class",
    ("torch", "Size"): "torch shape tuple",
    ("torch", "device"): "torch device descriptor",
    ("torch", "Tensor"): "torch tensor class (subclass rebuilds)",
    ("torch._tensor", "Tensor"): "torch tensor class (subclass rebuilds)",
    **_many("torch", _TORCH_DTYPES, "torch dtype object"),
    **_many(
        "torch",
        "strided sparse_coo sparse_csr sparse_csc sparse_bsr sparse_bsc _mkldnn jagged",
        "torch layout object",
    ),
    **_many(
        "torch",
        "contiguous_format channels_last channels_last_3d preserve_format",
        "torch memory format object",
    ),
    **_many(
        "torch",
        "per_tensor_affine per_channel_affine per_tensor_symmetric per_channel_symmetric "
        "per_channel_affine_float_qparams",
        "torch quantisation scheme object",
    ),
    **_many(
        "torch.nn.parameter",
        "Parameter Buffer UninitializedParameter UninitializedBuffer",
        "torch parameter/buffer class",
    ),
    # --- numpy (numpy.core is normalised to numpy._core).
    ("numpy._core.multiarray", "_reconstruct"): "numpy ndarray reconstructor",
    ("numpy._core.multiarray", "scalar"): "numpy scalar reconstructor",
    ("numpy._core.numeric", "_frombuffer"): "numpy array from pickle-5 buffer",
    ("numpy", "ndarray"): "numpy array class",
    ("numpy", "dtype"): "numpy dtype class",
    ("numpy", "matrix"): "numpy matrix class",
    ("numpy.matrixlib.defmatrix", "matrix"): "numpy matrix class",
    ("numpy", "recarray"): "numpy record array class",
    ("numpy", "record"): "numpy record scalar class",
    ("numpy._core.records", "recarray"): "numpy record array class",
    ("numpy._core.records", "record"): "numpy record scalar class",
    ("numpy.ma.core", "_mareconstruct"): "numpy masked array reconstructor",
    ("numpy.ma.core", "MaskedArray"): "numpy masked array class",
    ("numpy.ma", "MaskedArray"): "numpy masked array class",
    **_many("numpy", _NUMPY_SCALARS, "numpy scalar type"),
    **_many(
        "numpy.random._pickle",
        "__randomstate_ctor __bit_generator_ctor __generator_ctor",
        "numpy random state constructor (bit generator by name or class)",
    ),
    ("numpy.random", "__RandomState_ctor"): "numpy < 1.17 random state constructor",
    ("numpy.random.mtrand", "RandomState"): "numpy random state class",
    ("numpy.random._generator", "Generator"): "numpy random generator class",
    ("numpy.random._mt19937", "MT19937"): "numpy bit generator class",
    ("numpy.random._pcg64", "PCG64"): "numpy bit generator class",
    ("numpy.random._pcg64", "PCG64DXSM"): "numpy bit generator class",
    ("numpy.random._philox", "Philox"): "numpy bit generator class",
    ("numpy.random._sfc64", "SFC64"): "numpy bit generator class",
    ("numpy.random.bit_generator", "SeedSequence"): "numpy seed sequence class",
    # --- joblib array wrappers (numpy arrays stored beside the pickle).
    ("joblib.numpy_pickle", "NumpyArrayWrapper"): "joblib array wrapper",
    ("joblib.numpy_pickle_compat", "NDArrayWrapper"): "joblib < 0.10 array wrapper",
    ("joblib.numpy_pickle_compat", "ZNDArrayWrapper"): "joblib < 0.10 array wrapper",
    # --- scikit-learn private helper types (reviewed; public classes come from the data).
    ("sklearn.tree._tree", "Tree"): "sklearn tree structure (Cython)",
    **_many("sklearn.neighbors._kd_tree", "KDTree newObj", "sklearn KD tree (Cython)"),
    **_many("sklearn.neighbors._ball_tree", "BallTree newObj", "sklearn ball tree (Cython)"),
    ("sklearn.metrics._dist_metrics", "newObj"): "sklearn distance metric (Cython)",
    ("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper"): "sklearn binner",
    ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor"): "sklearn tree",
    ("sklearn.utils._bunch", "Bunch"): "sklearn attribute dict",
    ("sklearn.compose._column_transformer", "_RemainderColsList"): "sklearn column list",
    ("sklearn.neural_network._stochastic_optimizers", "AdamOptimizer"): "sklearn optimiser",
    ("sklearn.neural_network._stochastic_optimizers", "SGDOptimizer"): "sklearn optimiser",
    ("sklearn.calibration", "_CalibratedClassifier"): "sklearn calibration helper",
    ("sklearn.multiclass", "_ConstantPredictor"): "sklearn constant predictor",
    ("sklearn.tree._export", "Sentinel"): "sklearn sentinel",
    # --- pandas core objects (pandas 3 names them under ``pandas``; pandas 2 by module).
    **_many("pandas", _PANDAS_TYPES, _WHY_PANDAS),
    **_many(
        "pandas.arrays",
        "DatetimeArray TimedeltaArray PeriodArray IntervalArray StringArray BooleanArray "
        "IntegerArray FloatingArray SparseArray NumpyExtensionArray ArrowStringArray",
        "pandas extension array",
    ),
    ("pandas.core.frame", "DataFrame"): _WHY_PANDAS,
    ("pandas.core.series", "Series"): _WHY_PANDAS,
    ("pandas.core.indexes.base", "Index"): _WHY_PANDAS,
    ("pandas.core.indexes.base", "_new_Index"): "pandas index reconstructor",
    ("pandas.core.indexes.range", "RangeIndex"): _WHY_PANDAS,
    ("pandas.core.indexes.multi", "MultiIndex"): _WHY_PANDAS,
    ("pandas.core.indexes.datetimes", "DatetimeIndex"): _WHY_PANDAS,
    ("pandas.core.indexes.datetimes", "_new_DatetimeIndex"): "pandas index reconstructor",
    ("pandas.core.indexes.period", "PeriodIndex"): _WHY_PANDAS,
    ("pandas.core.indexes.period", "_new_PeriodIndex"): "pandas index reconstructor",
    ("pandas.core.indexes.timedeltas", "TimedeltaIndex"): _WHY_PANDAS,
    ("pandas.core.indexes.category", "CategoricalIndex"): _WHY_PANDAS,
    ("pandas.core.indexes.interval", "IntervalIndex"): _WHY_PANDAS,
    ("pandas.core.indexes.numeric", "Int64Index"): _WHY_PANDAS,
    ("pandas.core.indexes.numeric", "Float64Index"): _WHY_PANDAS,
    ("pandas.core.arrays.categorical", "Categorical"): _WHY_PANDAS,
    ("pandas.core.arrays.datetimes", "DatetimeArray"): "pandas extension array",
    ("pandas.core.arrays.timedeltas", "TimedeltaArray"): "pandas extension array",
    ("pandas.core.arrays.period", "PeriodArray"): "pandas extension array",
    ("pandas.core.arrays.string_", "StringArray"): "pandas extension array",
    ("pandas.core.arrays.string_", "StringDtype"): _WHY_PANDAS,
    ("pandas.core.dtypes.dtypes", "CategoricalDtype"): _WHY_PANDAS,
    ("pandas.core.dtypes.dtypes", "DatetimeTZDtype"): _WHY_PANDAS,
    ("pandas.core.dtypes.dtypes", "PeriodDtype"): _WHY_PANDAS,
    ("pandas.core.internals.managers", "BlockManager"): "pandas block manager",
    ("pandas.core.internals.managers", "SingleBlockManager"): "pandas block manager",
    ("pandas.core.internals.blocks", "new_block"): "pandas block reconstructor",
    ("pandas._libs.internals", "_unpickle_block"): "pandas block reconstructor",
    ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"): "pandas timestamp",
    ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"): "pandas timedelta",
    ("pandas._libs.tslibs.nattype", "_nat_unpickle"): "pandas NaT",
    ("pandas._libs.tslibs.nattype", "__nat_unpickle"): "pandas NaT (older spelling)",
    ("pandas._libs.interval", "Interval"): _WHY_PANDAS,
    ("pandas._libs.tslibs.period", "Period"): _WHY_PANDAS,
    ("pandas._libs.tslibs.timestamps", "Timestamp"): _WHY_PANDAS,
    ("pandas._libs.tslibs.timedeltas", "Timedelta"): _WHY_PANDAS,
    # --- standard library value types.
    **_many(
        "builtins",
        "set frozenset bytearray bytes complex slice range xrange object list dict tuple int "
        "float str bool long unicode",
        "builtin value type",
    ),
    ("copyreg", "_reconstructor"): "copyreg object rebuild; the scanner checks its class",
    ("copyreg", "__newobj__"): "cls.__new__(cls, *args); the scanner checks the class",
    ("copyreg", "__newobj_ex__"): "cls.__new__(cls, *args, **kw); the scanner checks the class",
    **_many(
        "collections",
        "OrderedDict defaultdict deque Counter ChainMap",
        "collections container",
    ),
    **_many(
        "datetime",
        "datetime date time timedelta timezone tzinfo",
        "datetime value type",
    ),
    ("decimal", "Decimal"): "decimal number",
    ("fractions", "Fraction"): "rational number",
    ("uuid", "UUID"): "UUID value",
    ("uuid", "SafeUUID"): "UUID safety enum",
    ("codecs", "encode"): (
        "protocol-2 bytes are pickled as _codecs.encode(text, 'latin1'); codec lookup only "
        "imports modules of the encodings package"
    ),
    ("re", "_compile"): "compiled regular expression; no I/O or code, only a pattern",
    **_many(
        "pathlib",
        "Path PosixPath WindowsPath PurePath PurePosixPath PureWindowsPath",
        "path value (construction does no I/O)",
    ),
    ("argparse", "Namespace"): "hyper-parameter namespace in training checkpoints",
    ("types", "SimpleNamespace"): "attribute bag",
    ("ipaddress", "IPv4Address"): "address value",
    ("ipaddress", "IPv6Address"): "address value",
}

# Cython writes ``__pyx_unpickle_<Type>(type, checksum, state)`` helpers that only build the
# named extension type of their own module; accepted inside these reviewed packages.
_PYX_PACKAGES = ("numpy.", "pandas.", "sklearn.", "scipy.")
_DIST_METRIC = re.compile(r"^[A-Z][A-Za-z]*(Distance|DistanceMetric)(32|64)?$")


@functools.cache
def _generated() -> Mapping[tuple[str, str], str]:
    """Load the generated class lists once (an absent file only narrows the allowlist)."""
    try:
        # A plain read: importlib.resources would import tempfile, shutil, bz2 and lzma.
        raw = json.loads(Path(__file__).with_name(DATA_FILE).read_bytes())
    except FileNotFoundError:  # pragma: no cover - broken install
        return {}
    why = {
        "torch": "torch.nn module class (whole-module save)",
        "sklearn": "reviewed scikit-learn class",
        "scipy": "scipy sparse matrix/array class",
    }
    out: dict[tuple[str, str], str] = {}
    for pkg, entry in raw.items():
        for module, names in entry["classes"].items():
            for name in names:
                out[(module, name)] = f"{why.get(pkg, pkg)} ({pkg} {entry['version']})"
    return out


def allowlist_reason(module: str, name: str) -> str | None:
    """Return why ``module.name`` is safe to call while unpickling, or ``None`` if it is not.

    Args:
        module: the module string from the pickle (any alias spelling).
        name: the attribute name; dotted names are never allowed.
    """
    if not name or "." in name or not module:
        return None
    mod = canonical_module(module)
    found = _TABLE.get((mod, name)) or _generated().get((mod, name))
    if found is not None:
        return found
    if mod == "__torch__" or mod.startswith("__torch__."):
        # TorchScript classes: the loader binds them to the archive's own compiled code/
        # (reported separately); Python's unpickler has no such module and cannot import it.
        return "TorchScript class defined by the archive's code (listed as MT-ARC-011)"
    if name.startswith("__pyx_unpickle_") and mod.startswith(_PYX_PACKAGES):
        return "Cython-generated unpickle helper of an extension type"
    if mod == "numpy.dtypes" and name.endswith("DType") and name.isidentifier():
        return "numpy dtype class"
    if (mod, name[:2]) == ("sklearn._loss._loss", "Cy") or (
        mod == "sklearn.metrics._dist_metrics" and _DIST_METRIC.match(name)
    ):
        return "sklearn Cython loss/distance type"
    if mod.startswith("sklearn."):
        # sklearn < 0.22 named modules without the leading underscore.
        head, _, last = mod.rpartition(".")
        legacy = _generated().get((f"{head}._{last}", name))
        if legacy is not None:
            return legacy
    return None


def is_allowed(module: str, name: str) -> bool:
    """Return True only for known reconstruction functions/classes safe to call in unpickling.

    Deny by default: an unknown name, a dotted name or a module spelling not on the list is
    not allowed, and the scanner then grades it by its capabilities.
    """
    return allowlist_reason(module, name) is not None
