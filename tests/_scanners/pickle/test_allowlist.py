"""Allowlist: real checkpoints' globals pass, everything else is denied by default.

Pickles are built here from benign objects with pickle/torch/joblib and only disassembled
with ``pickletools.genops``; nothing is unpickled.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import io
import pathlib
import pickle
import pickletools
import uuid
import zipfile

import pytest

from modeltrust._scanners.pickle.allowlist import allowlist_reason, is_allowed
from modeltrust._scanners.pickle.capabilities import assess

_STRINGS = frozenset(
    {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING",
     "SHORT_BINSTRING"}
)  # fmt: skip


def globals_of(data: bytes, partial: bool = False) -> set[tuple[str, str]]:
    """(module, name) of GLOBAL/INST/STACK_GLOBAL, with a stack model for memo operands.

    ``partial``: joblib writes raw array bytes inside the stream, which ``genops`` cannot
    step over; the globals seen up to there are returned.
    """
    found: set[tuple[str, str]] = set()
    try:
        _walk(data, found)
    except ValueError:
        if not partial:
            raise
    return found


def _walk(data: bytes, found: set[tuple[str, str]]) -> None:
    stack: list[object] = []
    memo: dict[int, object] = {}
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("GLOBAL", "INST"):
            text, _, attr = str(arg).partition(" ")
            found.add((text, attr))
        if op.name == "STACK_GLOBAL":
            top, below = stack.pop(), stack.pop()
            found.add((str(below), str(top)))
            stack.append(None)
        elif op.name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
            memo[len(memo) if op.name == "MEMOIZE" else int(str(arg))] = stack[-1]
        elif op.name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo[int(str(arg))])
        else:
            before = list(op.stack_before)
            if pickletools.stackslice in before:
                while stack[-1] is not pickletools.markobject:
                    stack.pop()
                stack.pop()
                before = [
                    b for b in before if b not in (pickletools.stackslice, pickletools.markobject)
                ]
            del stack[len(stack) - len(before) :]
            if op.name in _STRINGS:
                stack.append(arg)
            elif op.name == "MARK":
                stack.append(pickletools.markobject)
            else:
                stack.extend([None] * len(op.stack_after))


def _assert_all_allowed(found: set[tuple[str, str]]) -> None:
    denied = sorted(g for g in found if not is_allowed(*g))
    assert not denied, f"legitimate globals denied: {denied}"
    assert found, "expected the pickle to reference globals"


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_stdlib_value_types(protocol: int) -> None:
    values = [
        collections.OrderedDict(a=1), collections.defaultdict(list), collections.deque([1]),
        collections.Counter("ab"), datetime.datetime(2024, 1, 2, 3, 4, 5), datetime.date.today(),
        datetime.timedelta(1), datetime.time(1), datetime.UTC, decimal.Decimal("1.5"),
        fractions.Fraction(1, 3), uuid.UUID(int=5), pathlib.PurePosixPath("a/b"),
        complex(1, 2), {1}, frozenset({2}), bytearray(b"x"), slice(1, 2), range(3), b"bytes",
    ]  # fmt: skip
    _assert_all_allowed(globals_of(pickle.dumps(values, protocol=protocol)))


def test_numpy_arrays_and_random_state() -> None:
    np = pytest.importorskip("numpy")
    values = [
        np.arange(3), np.float64(1.0), np.int64(2), np.dtype("f4"),
        np.zeros(2, dtype=[("a", "i4")]), np.random.RandomState(0), np.random.default_rng(0),
        np.ma.masked_array([1, 2], mask=[0, 1]),
    ]  # fmt: skip
    for protocol in (2, 4):
        _assert_all_allowed(globals_of(pickle.dumps(values, protocol=protocol)))


def _torch_pickles(obj: object) -> set[tuple[str, str]]:
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save(obj, buf)
    found: set[tuple[str, str]] = set()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        for member in zf.namelist():
            if member.endswith(".pkl"):
                found |= globals_of(zf.read(member))
    return found


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")
def test_torch_state_dict_and_full_module() -> None:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    model = nn.Sequential(
        nn.Linear(3, 2), nn.ReLU(), nn.Conv2d(1, 1, 3), nn.BatchNorm1d(2), nn.LayerNorm(2),
        nn.Embedding(3, 2), nn.Dropout(), nn.LSTM(2, 2), nn.MultiheadAttention(4, 2),
    )  # fmt: skip
    _assert_all_allowed(_torch_pickles(collections.OrderedDict(model.state_dict())))
    _assert_all_allowed(_torch_pickles(model))
    extras = {
        "bf16": torch.zeros(2, dtype=torch.bfloat16), "size": torch.Size([2]),
        "device": torch.device("cpu"), "dtype": torch.float16,
        "q": torch.quantize_per_tensor(torch.rand(3), 0.1, 0, torch.quint8),
        "sparse": torch.rand(2, 2).to_sparse(), "param": nn.Parameter(torch.zeros(1)),
    }  # fmt: skip
    _assert_all_allowed(_torch_pickles(extras))


def test_torch_table_names_exist() -> None:
    torch = pytest.importorskip("torch")
    for name in ("float32", "bfloat16", "int64", "quint8", "strided", "channels_last"):
        assert is_allowed("torch", name) and hasattr(torch, name)
    assert isinstance(torch.float8_e4m3fn, torch.dtype)
    assert is_allowed("torch._utils", "_rebuild_tensor_v2")
    assert is_allowed("torch.nn.modules.linear", "Linear")
    assert is_allowed("torch.nn.modules.container", "Sequential")
    assert not is_allowed("torch.nn.modules.linear", "NoSuchLayer")
    assert not is_allowed("torch.storage", "_load_from_bytes")


@pytest.mark.slow
def test_sklearn_models_via_pickle_and_joblib() -> None:
    np = pytest.importorskip("numpy")
    joblib = pytest.importorskip("joblib")
    pytest.importorskip("sklearn")
    from sklearn.ensemble import (  # type: ignore[import-untyped]
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.neighbors import KNeighborsClassifier  # type: ignore[import-untyped]
    from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]
    from sklearn.preprocessing import (  # type: ignore[import-untyped]
        OneHotEncoder,
        StandardScaler,
    )

    rng = np.random.RandomState(0)
    x = rng.rand(30, 3)
    y = (x[:, 0] > 0.5).astype(int)
    models = [
        LogisticRegression().fit(x, y),
        RandomForestClassifier(n_estimators=2, random_state=0).fit(x, y),
        Pipeline([("s", StandardScaler()), ("l", LogisticRegression())]).fit(x, y),
        StandardScaler().fit(x),
        HistGradientBoostingClassifier(max_iter=2).fit(x, y),
        KNeighborsClassifier(n_neighbors=3).fit(x, y),
        OneHotEncoder().fit(x[:, :1]),
    ]
    for model in models:
        _assert_all_allowed(globals_of(pickle.dumps(model)))
        buf = io.BytesIO()
        joblib.dump(model, buf)
        _assert_all_allowed(globals_of(buf.getvalue(), partial=True))


def test_scipy_sparse() -> None:
    np = pytest.importorskip("numpy")
    sp = pytest.importorskip("scipy.sparse")
    mats = [sp.csr_matrix(np.eye(2)), sp.csc_array(np.eye(2)), sp.coo_matrix(np.eye(2))]
    _assert_all_allowed(globals_of(pickle.dumps(mats)))


def test_pandas_objects() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": pd.to_datetime(["2020", "2021"])})
    values = [df, df["a"], df.set_index("c"), pd.Timestamp("2020"), pd.Timedelta(1), pd.NaT,
              pd.Categorical(["u", "v"]), pd.RangeIndex(3)]  # fmt: skip
    _assert_all_allowed(globals_of(pickle.dumps(values)))


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("__builtin__", "set"),
        ("copy_reg", "_reconstructor"),
        ("copyreg", "__newobj__"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
        ("codecs", "encode"),
        ("joblib.numpy_pickle", "NumpyArrayWrapper"),
        ("joblib.numpy_pickle_compat", "NDArrayWrapper"),
        ("sklearn.tree._tree", "Tree"),
        ("sklearn.linear_model.logistic", "LogisticRegression"),  # sklearn < 0.22 path
        ("pandas.core.frame", "DataFrame"),
        ("torch", "FloatStorage"),
    ],
)
def test_aliases_and_reasons(module: str, name: str) -> None:
    assert is_allowed(module, name)
    reason = allowlist_reason(module, name)
    assert reason and len(reason) < 200


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("builtins", "getattr"),
        ("builtins", "eval"),
        ("builtins", "type"),
        ("builtins", "dict.get"),
        ("collections", "OrderedDict.fromkeys"),
        ("collections", "namedtuple"),
        ("os", "system"),
        ("posix", "system"),
        ("torch", "load"),
        ("torch.serialization", "load"),
        ("torch._utils", "_rebuild_tensor_v2.__globals__"),
        ("numpy", "load"),
        ("numpy.testing._private.utils", "runstring"),
        ("functools", "partial"),
        ("pickle", "loads"),
        ("_codecs", "decode"),
        ("sklearn.utils", "Bunch"),
        ("sklearn.datasets", "fetch_openml"),
        ("some.unknown", "Thing"),
        ("", ""),
    ],
)
def test_denied_by_default(module: str, name: str) -> None:
    assert not is_allowed(module, name)
    assert allowlist_reason(module, name) is None


def test_allowlisted_constructors_reach_nothing() -> None:
    """An allowlisted callable has no capability; a class may only through its *methods*.

    (``pathlib.Path`` can unlink, but a pickle reaches a method only through a dotted name or
    ``getattr``, which are graded on their own; constructing the path does no I/O.)
    """
    from modeltrust._scanners.pickle import allowlist as al

    for module, name in list(al._TABLE) + list(al._generated()):
        found = assess(module, name)
        if found is None:
            continue
        hops = [h for h in found.via[1:] if h.startswith(f"{module}.")]
        methods = [h.rsplit(".", 1)[1] for h in hops if h.count(".") > module.count(".") + 1]
        assert methods, f"allowlisted {module}.{name} reaches {found}"
        assert not {"__init__", "__new__", "__post_init__"} & set(methods), found


def test_shipped_class_lists_match_installed_packages() -> None:
    """allowlist_data.json is what gen_allowlist computes for the installed versions."""
    import importlib.metadata
    import json

    from modeltrust._scanners.pickle import allowlist as al
    from modeltrust._scanners.pickle import gen_allowlist as gen

    shipped = json.loads((pathlib.Path(al.__file__).parent / al.DATA_FILE).read_text())
    makers = {
        "torch": ("torch", gen.torch_nn_classes),
        "sklearn": ("scikit-learn", gen.sklearn_classes),
        "scipy": ("scipy", gen.scipy_sparse_classes),
    }
    for key, (dist, make) in makers.items():
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        if version != shipped[key]["version"]:
            continue  # data for another version: regenerate with gen_allowlist
        assert make() == shipped[key]["classes"], key
