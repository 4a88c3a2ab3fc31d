"""NpyScanner: header parsing, object arrays (pickles) handed on, size checks."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _scanners.archive_factory import PICKLE, Run, make_zip, npy_header, npy_object_array, run
from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners.archive import ArchiveScanner
from modeltrust._scanners.numpy import NpyScanner, has_object, itemsize
from modeltrust.findings import Severity

SCANNER = NpyScanner()


def scan(data: bytes, name: str = "a.npy") -> Run:
    return run(SCANNER, name, data, Format.NUMPY_NPY)


def np_save(arr: object) -> bytes:
    np = pytest.importorskip("numpy")
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def test_object_array_hands_the_pickle() -> None:
    r = scan(npy_object_array())
    obj = r.by_rule("MT-NPY-001")
    assert len(obj) == 1 and obj[0].severity is Severity.MEDIUM
    assert r.child_data("a.npy!@pickle") == PICKLE
    assert r.result.format is Format.NUMPY_NPY


def test_real_numpy_object_array() -> None:
    np = pytest.importorskip("numpy")
    data = np_save(np.array([{"marker": 1}, None], dtype=object))
    r = scan(data)
    assert r.by_rule("MT-NPY-001")
    assert r.child_data("@pickle").startswith(b"\x80")


def test_structured_dtype_with_object_field() -> None:
    np = pytest.importorskip("numpy")
    data = np_save(np.zeros(2, dtype=[("a", "<i4"), ("b", "O")]))
    assert scan(data).by_rule("MT-NPY-001")


@pytest.mark.parametrize("dtype", ["<f4", "<i8", "|b1", "<U5", "|S3", "<c16", "<M8[ns]"])
def test_plain_arrays_are_clean(dtype: str) -> None:
    np = pytest.importorskip("numpy")
    r = scan(np_save(np.zeros((3, 4), dtype=dtype)))
    assert r.findings == [] and r.children == []
    assert r.result.coverage is Coverage.ANALYSED
    assert "shape (3, 4)" in r.result.detail


def test_structured_plain_array_size() -> None:
    np = pytest.importorskip("numpy")
    dt = np.dtype({"names": ["a", "b"], "formats": ["<i2", "<f8"], "offsets": [0, 8],
                   "itemsize": 24})
    r = scan(np_save(np.zeros(5, dtype=dt)))
    assert r.findings == []


def test_truncated_and_trailing() -> None:
    np = pytest.importorskip("numpy")
    data = np_save(np.zeros(100, dtype="<f8"))
    r = scan(data[:-80])
    t = r.by_rule("MT-NPY-003")
    assert len(t) == 1 and t[0].severity is Severity.MEDIUM and "truncated" in t[0].evidence
    r = scan(data + b"extra")
    t = r.by_rule("MT-NPY-003")
    assert len(t) == 1 and t[0].severity is Severity.LOW


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x93NUMPY\x01", "too short"),
        (b"\x93NUMPY\x09\x00\x10\x00" + b" " * 16, "version"),
        (b"\x93NUMPY\x01\x00\xff\xff{}", "runs past"),
        (npy_header("{'descr': '<f4', 'shape': (2,)}"), "keys"),
        (npy_header("__import__('os').system('x')"), "literal"),
        (npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}"), "shape"),
        (npy_header("{'descr': '<f4', 'fortran_order': 1, 'shape': ()}"), "fortran_order"),
        (npy_header("[1, 2]"), "not a dict"),
        (npy_header("(" * 500 + ")" * 500), "literal"),
    ],
)
def test_bad_headers(data: bytes, reason: str) -> None:
    r = scan(data)
    bad = r.by_rule("MT-NPY-002")
    assert len(bad) == 1 and reason in bad[0].evidence, bad
    assert r.result.coverage is Coverage.PARTIAL


def test_version_3_header() -> None:
    hdr = npy_header("{'descr': '<i2', 'fortran_order': True, 'shape': (2,), }", (3, 0))
    r = scan(hdr + b"\0" * 4)
    assert r.findings == [] and "v3.0" in r.result.detail


def test_oversized_header_is_reported() -> None:
    hdr = npy_header("{'descr': '<i2', 'fortran_order': False, 'shape': (1,), }"
                     + " " * 20_000, (2, 0))
    r = scan(hdr + b"\0\0")
    assert any("longer than numpy accepts" in f.evidence for f in r.by_rule("MT-NPY-002"))


def test_helpers() -> None:
    assert has_object("|O") and has_object([("a", "<i4"), ("b", [("c", "|O")])])
    assert not has_object("<f4") and not has_object(None)
    assert itemsize("<U3") == 12 and itemsize("|b1") == 1 and itemsize("?") == 1
    assert itemsize([("a", "<i4", (2, 3))]) == 24
    assert itemsize("weird") is None


def test_npz_with_object_member_goes_through_archive() -> None:
    data = make_zip([("arr_0.npy", npy_object_array())])
    r = run(ArchiveScanner(), "x.npz", data)
    assert r.result.format is Format.NUMPY_NPZ
    member = r.child("x.npz!arr_0.npy")
    inner = scan(member._data or b"", member.path)
    assert inner.child("x.npz!arr_0.npy!@pickle")._data == PICKLE


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(blob: bytes) -> None:
    scan(b"\x93NUMPY" + blob)
    scan(b"\x93NUMPY\x01\x00" + len(blob).to_bytes(2, "little") + blob)


# --- Python 2 headers and unreadable headers over a pickle ------------------------------------


def _py2_object_npy(shape: str = "(1L,)", version: tuple[int, int] = (1, 0)) -> bytes:
    return npy_header(f"{{'descr': '|O', 'fortran_order': False, 'shape': {shape}, }}",
                      version) + PICKLE


@pytest.mark.parametrize("shape", ["(1L,)", "(2L, 3L)", "(0L,)"])
@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_python2_long_shape_object_array_hands_the_pickle(
        shape: str, version: tuple[int, int]) -> None:
    r = scan(_py2_object_npy(shape, version))
    assert r.rules() == ["MT-NPY-001"]
    assert r.child_data("a.npy!@pickle") == PICKLE
    assert r.result.coverage is Coverage.ANALYSED


def test_python2_header_matches_what_numpy_reads() -> None:
    np = pytest.importorskip("numpy")
    hdr = npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2L,), }")
    data = hdr + np.ones(2).tobytes()
    with pytest.warns(UserWarning):  # the premise: numpy loads it (after its own filter)
        assert np.load(io.BytesIO(data)).tolist() == [1.0, 1.0]
    r = scan(data)
    assert r.findings == [] and "shape (2,)" in r.result.detail


def test_numpys_own_python2_file_is_clean() -> None:
    np = pytest.importorskip("numpy")
    from pathlib import Path

    path = Path(np.__file__).parent / "lib" / "tests" / "data" / "win64python2.npy"
    if not path.is_file():
        pytest.skip("numpy ships no python 2 test file")
    r = scan(path.read_bytes())
    assert r.findings == [] and r.result.coverage is Coverage.ANALYSED


def test_version_3_header_gets_no_python2_filter_but_its_pickle_is_scanned() -> None:
    r = scan(_py2_object_npy("(1L,)", (3, 0)))  # numpy refuses it; a lax reader may not
    assert r.rules() == ["MT-NPY-001", "MT-NPY-002"]
    assert r.child_data("a.npy!@pickle") == PICKLE


@pytest.mark.parametrize("header", [
    "{'descr': '|O', 'fortran_order': False, 'shape': (1,), 'x': 1}",  # extra key
    "{'descr': 'object', 'fortran_order': False, 'shape': [1]}",  # list shape
    "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }  junk",  # not a literal
    "{'descr': \"O8\", 'fortran_order': False, 'shape': (1 if 1 else 2,), }",
])
def test_unparsable_header_naming_object_still_hands_the_pickle(header: str) -> None:
    r = scan(npy_header(header) + PICKLE)
    assert r.rules() == ["MT-NPY-001", "MT-NPY-002"]
    assert r.child_data("a.npy!@pickle") == PICKLE
    assert r.result.coverage is Coverage.PARTIAL


def test_unparsable_header_over_a_proto_opcode_hands_the_pickle() -> None:
    r = scan(npy_header("{'descr': '<f4', 'shape': (1,), }") + PICKLE)
    assert r.rules() == ["MT-NPY-001", "MT-NPY-002"]
    assert "PROTO" in r.by_rule("MT-NPY-001")[0].evidence
    assert r.child_data("a.npy!@pickle") == PICKLE


def test_unparsable_plain_header_hands_nothing() -> None:
    r = scan(npy_header("{'descr': '<f4', 'shape': (1,), }") + b"\0" * 4)
    assert r.rules() == ["MT-NPY-002"] and r.children == []


def test_python2_filter_is_bounded() -> None:
    huge = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + "1L, " * 60_000 + "), }"
    r = scan(npy_header(huge, (2, 0)))
    assert r.by_rule("MT-NPY-002")
