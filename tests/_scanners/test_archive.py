"""ArchiveScanner: zip (as torch reads it), tar, 7z; anomalies, limits, and members handed on."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _scanners.archive_factory import (
    MARKER,
    PICKLE,
    Run,
    corrupt_crc,
    local_offsets,
    make_7z,
    make_tar,
    make_zip,
    npy_header,
    npy_object_array,
    patch,
    rename_local,
    run,
    set_central_flags,
    set_local_flags,
    strip_central,
    torch_zip,
)
from helpers.corpora import corpus_dir
from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners.archive import ArchiveScanner, classify_zip, unsafe_name
from modeltrust._source.interface import Artifact, Limits
from modeltrust.findings import Severity

SCANNER = ArchiveScanner()


def scan(name: str, data: bytes, **kw: object) -> Run:
    return run(SCANNER, name, data, **kw)  # type: ignore[arg-type]


# --- zip: classification and hand-over ----------------------------------------------------


def test_torch_zip_hands_pickles_not_storages() -> None:
    r = scan("model.pt", torch_zip(storages=3))
    assert r.result.format is Format.TORCH_ZIP
    assert r.result.coverage is Coverage.ANALYSED
    assert "archive/data.pkl" in r.names()
    assert not any("/data/" in n for n in r.names())
    assert "1 pickle" in r.result.detail and "3 storages" in r.result.detail
    assert r.child_data("archive/data.pkl") == PICKLE
    assert r.findings == []


def test_torch_zip_without_extension_is_recognised() -> None:
    r = scan("checkpoint", torch_zip())
    assert r.result.format is Format.TORCH_ZIP
    assert r.child("checkpoint!archive/data.pkl").path == "checkpoint!archive/data.pkl"


def test_deflated_member_is_inflated() -> None:
    r = scan("model.bin", torch_zip(method=zipfile.ZIP_DEFLATED))
    assert r.child_data("archive/data.pkl") == PICKLE
    assert r.findings == []


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_bzip2_and_lzma_members(method: int) -> None:
    r = scan("a.zip", make_zip([("x.pkl", PICKLE * 10)], method))
    assert r.child_data("x.pkl") == PICKLE * 10


def test_torchscript_lists_code_and_hands_pickles() -> None:
    data = make_zip([("m/constants.pkl", PICKLE), ("m/data.pkl", PICKLE),
                     ("m/code/__torch__.py", b"def forward(self): pass\n"),
                     ("m/constants/0", b"\0" * 8)])
    r = scan("m.pt", data)
    assert r.result.format is Format.TORCHSCRIPT
    code = r.by_rule("MT-ARC-011")
    assert len(code) == 1 and "m/code/__torch__.py" in code[0].evidence
    assert {"m/constants.pkl", "m/data.pkl"} <= set(r.names())
    assert "m/constants/0" not in r.names()


def test_npz_classified() -> None:
    r = scan("a.npz", make_zip([("a.npy", b"\x93NUMPY"), ("b.npy", b"\x93NUMPY")]))
    assert r.result.format is Format.NUMPY_NPZ
    assert r.names() == ["a.npy", "b.npy"]


def test_classify_zip() -> None:
    assert classify_zip(["data.pkl"]) is Format.TORCH_ZIP
    assert classify_zip(["x/y.txt"]) is Format.ZIP
    assert classify_zip([]) is Format.ZIP


def test_generic_zip_hands_every_member() -> None:
    r = scan("a.zip", make_zip([("dir/", b""), ("a.txt", b"hi"), ("b/c.bin", b"\x01\x02")]))
    assert r.result.format is Format.ZIP
    assert r.names() == ["a.txt", "b/c.bin"]


# --- zip: parser differentials ------------------------------------------------------------


def test_crc_error_is_high_in_torch_zip_and_member_still_read() -> None:
    r = scan("model.pt", corrupt_crc(torch_zip(), 0))
    crc = r.by_rule("MT-ZIP-001")
    assert len(crc) == 1 and crc[0].severity is Severity.HIGH
    assert crc[0].location.member == "archive/data.pkl"
    assert r.child_data("archive/data.pkl") == PICKLE


def test_crc_error_is_medium_in_generic_zip() -> None:
    r = scan("a.zip", corrupt_crc(make_zip([("a.txt", b"hello")]), 0))
    assert [f.severity for f in r.by_rule("MT-ZIP-001")] == [Severity.MEDIUM]


def test_local_central_name_mismatch_reads_by_central_name() -> None:
    data = rename_local(torch_zip(), 0, b"archive/datap.kl")
    r = scan("model.pt", data)
    mism = r.by_rule("MT-ZIP-002")
    assert len(mism) == 1 and mism[0].severity is Severity.HIGH
    assert "archive/datap.kl" in mism[0].evidence
    assert r.child_data("archive/data.pkl") == PICKLE


@pytest.mark.parametrize("flag", [0x1, 0x20, 0x40])
def test_local_flag_bits_are_reported_and_ignored(flag: int) -> None:
    data = set_local_flags(torch_zip(), 0, flag)
    r = scan("model.pt", data)
    flags = r.by_rule("MT-ZIP-003")
    assert flags and flags[0].severity is Severity.HIGH
    assert f"{flag:#06x}" in flags[0].evidence
    assert r.child_data("archive/data.pkl") == PICKLE


def test_encrypted_flag_on_plain_data_is_read_like_torch() -> None:
    data = set_central_flags(set_local_flags(make_zip([("config.pkl", PICKLE)]), 0, 1), 0, 1)
    r = scan("a.zip", data)
    assert r.child_data("config.pkl") == PICKLE
    assert r.by_rule("MT-ZIP-003") and not r.by_rule("MT-ARC-006")


def test_really_encrypted_member_is_not_analysed_and_not_high() -> None:
    body = b"\x11" * 12 + b"secret"
    data = make_zip([("secret.txt", body)])
    data = set_central_flags(set_local_flags(data, 0, 1), 0, 1)
    # Declare the plain size: 12 bytes less than stored, as ZipCrypto does.
    co = data.find(b"PK\x01\x02")
    data = patch(patch(data, co + 24, "<I", len(body) - 12), local_offsets(data)[0] + 22, "<I",
                 len(body) - 12)
    r = scan("a.zip", data)
    assert r.children == []
    enc = r.by_rule("MT-ARC-006")
    assert len(enc) == 1 and enc[0].severity < Severity.HIGH
    assert r.result.coverage is Coverage.PARTIAL
    assert all(f.severity < Severity.HIGH for f in r.findings)


def test_duplicate_names_both_delivered() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, pytest.warns(UserWarning):
        zf.writestr("archive/data.pkl", b"first")
        zf.writestr("archive/data.pkl", PICKLE)
    r = scan("m.pt", buf.getvalue())
    dup = r.by_rule("MT-ZIP-004")
    assert len(dup) == 1 and dup[0].severity is Severity.HIGH
    assert r.names() == ["archive/data.pkl", "archive/data.pkl#2"]


def test_corrupt_first_member_does_not_stop_the_rest() -> None:
    data = make_zip([("a.pkl", PICKLE), ("b.pkl", PICKLE)], zipfile.ZIP_DEFLATED)
    start = local_offsets(data)[0] + 30 + len("a.pkl")
    data = data[:start] + b"\xff" * 8 + data[start + 8 :]
    r = scan("a.zip", data)
    assert r.child_data("b.pkl") == PICKLE
    assert r.by_rule("MT-ARC-008")


def test_first_local_header_destroyed() -> None:
    data = make_zip([("a.pkl", PICKLE), ("b.pkl", PICKLE)])
    data = b"XXXX" + data[4:]
    r = scan("a.zip", data, fmt=Format.ZIP)
    assert r.child_data("b.pkl") == PICKLE
    assert r.by_rule("MT-ZIP-008")


def test_missing_central_directory_recovered_from_local_headers() -> None:
    data = strip_central(torch_zip(method=zipfile.ZIP_DEFLATED))
    r = scan("model.pt", data)
    assert r.by_rule("MT-ZIP-009")
    assert r.result.format is Format.TORCH_ZIP
    assert r.child_data("archive/data.pkl") == PICKLE
    assert "recovered" in r.result.detail


def test_hidden_local_entry_is_delivered() -> None:
    visible = make_zip([("a.txt", b"hello")])
    hidden = strip_central(make_zip([("evil.pkl", PICKLE)]))
    cut = visible.find(b"PK\x01\x02")
    # Insert a local entry between the data and the central directory; fix the cd offset.
    data = visible[:cut] + hidden + visible[cut:]
    eocd = data.rfind(b"PK\x05\x06")
    data = patch(data, eocd + 16, "<I", cut + len(hidden))
    r = scan("a.zip", data)
    assert r.by_rule("MT-ZIP-010")
    assert r.child_data("evil.pkl") == PICKLE


def test_pickle_prefix_polyglot_hands_prefix() -> None:
    data = PICKLE + make_zip([("archive/data.pkl", PICKLE)])
    r = scan("poly.pt", data, fmt=Format.ZIP)
    pre = r.by_rule("MT-ZIP-005")
    assert len(pre) == 1 and pre[0].severity is Severity.LOW
    assert r.child_data("@prefix") == PICKLE
    assert r.child_data("archive/data.pkl") == PICKLE


def test_pickle_ending_with_zip_end_record_is_still_handed_on() -> None:
    data = PICKLE + b"PK\x05\x06" + b"\0" * 18
    r = scan("x.pkl", data, fmt=Format.ZIP)
    assert r.child_data("@prefix") == PICKLE


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/etc/passwd", "C:/Windows/x.dll", "a\\..\\..\\b", "\\abs"]
)
def test_zip_slip_names(name: str) -> None:
    r = scan("a.zip", make_zip([(name, b"x")]))
    slip = r.by_rule("MT-ARC-001")
    assert len(slip) == 1 and slip[0].severity is Severity.HIGH
    assert slip[0].location.member == name
    assert len(r.children) == 1  # analysed, never extracted


def test_unsafe_name() -> None:
    assert unsafe_name("a/b..c/d") is None
    assert unsafe_name("a/../b") is not None


# --- zip: limits --------------------------------------------------------------------------


def test_zip_bomb_ratio() -> None:
    data = make_zip([("zeros.bin", b"\0" * (8 * 1024 * 1024))], zipfile.ZIP_DEFLATED)
    r = scan("bomb.zip", data)
    bomb = r.by_rule("MT-ARC-002")
    assert len(bomb) == 1 and bomb[0].severity is Severity.MEDIUM
    assert r.children == []
    assert r.result.coverage is Coverage.PARTIAL


def test_zip_bomb_with_lying_declared_size() -> None:
    data = make_zip([("zeros.bin", b"\0" * (8 * 1024 * 1024))], zipfile.ZIP_DEFLATED)
    co = data.find(b"PK\x01\x02")
    data = patch(data, co + 24, "<I", 10)  # claim 10 bytes
    r = scan("bomb.zip", data)
    assert r.by_rule("MT-ARC-002")


def test_member_size_limit() -> None:
    data = make_zip([("big.bin", b"\1" * 5000)], zipfile.ZIP_DEFLATED)
    r = scan("a.zip", data, limits=Limits(max_member_size=1000))
    assert r.by_rule("MT-ARC-003") and r.children == []


def test_shared_budget() -> None:
    data = make_zip([(f"{i}.bin", bytes(range(256)) * 8) for i in range(4)],
                    zipfile.ZIP_DEFLATED)
    r = scan("a.zip", data, budget=5000)
    assert len(r.children) == 2
    assert r.by_rule("MT-ARC-004")


def test_member_count_limit() -> None:
    data = make_zip([(f"{i}.txt", b"x") for i in range(20)])
    r = scan("a.zip", data, limits=Limits(max_members=5))
    assert len(r.children) == 5
    cap = r.by_rule("MT-ARC-005")
    assert len(cap) == 1 and cap[0].severity is Severity.HIGH
    assert "15 members were not analysed" in cap[0].evidence
    assert r.result.coverage is Coverage.PARTIAL
    assert not r.by_rule("MT-ZIP-008")


def test_nested_zip_depth_is_bounded() -> None:
    """Drive children recursively like the engine: depth stops the recursion."""
    data = make_zip([("data.pkl", PICKLE)])
    for i in range(8):
        data = make_zip([(f"level{i}.zip", data)])
    limits = Limits(max_depth=3)
    seen: list[Artifact] = []
    todo = [Artifact.from_bytes("outer.zip", data, 0)]
    while todo:
        art = todo.pop()
        seen.append(art)
        if art.depth > limits.max_depth:
            continue
        assert art._data is not None
        r = run(SCANNER, art.path, art._data, limits=limits)
        todo += [Artifact.from_bytes(c.path, c._data or b"", art.depth + 1) for c in r.children]
    assert max(a.depth for a in seen) == limits.max_depth + 1
    assert seen[-1].path.count("!") == limits.max_depth + 1


# --- tar ----------------------------------------------------------------------------------


def test_tar_members_delivered() -> None:
    r = scan("a.tar", make_tar([("model/data.pkl", PICKLE), ("README", b"hi")]))
    assert r.result.format is Format.TAR
    assert r.names() == ["model/data.pkl", "README"]
    assert r.child_data("model/data.pkl") == PICKLE


def test_legacy_torch_tar() -> None:
    members = [(n, PICKLE) for n in ("sys_info", "pickle", "storages", "tensors")]
    r = scan("old.pt", make_tar(members))
    assert r.result.format is Format.TORCH_TAR
    assert r.names() == ["sys_info", "pickle", "storages", "tensors"]


def test_tar_links_and_traversal() -> None:
    import tarfile

    data = make_tar([("../evil.pkl", PICKLE)],
                    links=[("link", "/etc/passwd", tarfile.SYMTYPE),
                           ("hard", "model.pkl", tarfile.LNKTYPE)])
    r = scan("a.tar", data)
    assert r.by_rule("MT-ARC-001")[0].location.member == "../evil.pkl"
    links = sorted(r.by_rule("MT-ARC-009"), key=lambda f: f.evidence)
    assert [f.severity for f in links] == [Severity.MEDIUM, Severity.HIGH]
    assert r.names() == ["../evil.pkl"]


def test_tar_member_limits() -> None:
    data = make_tar([(f"{i}", b"x" * 100) for i in range(5)])
    r = scan("a.tar", data, limits=Limits(max_members=3, max_member_size=50))
    assert r.by_rule("MT-ARC-005") and len(r.by_rule("MT-ARC-003")) == 3


def test_truncated_tar() -> None:
    data = make_tar([("a.pkl", PICKLE * 100), ("b.pkl", PICKLE)])
    r = scan("a.tar", data[:1200], fmt=Format.TAR)
    assert r.by_rule("MT-ARC-008")


# --- 7z -----------------------------------------------------------------------------------


def test_7z_members_in_memory() -> None:
    r = scan("a.7z", make_7z([("data.pkl", PICKLE), ("dir/readme.txt", b"hello")]))
    assert r.result.format is Format.SEVENZIP
    assert r.child_data("data.pkl") == PICKLE
    assert r.child_data("dir/readme.txt") == b"hello"
    assert r.findings == []


def test_7z_encrypted() -> None:
    for header in (False, True):
        r = scan("a.7z", make_7z([("data.pkl", PICKLE)], "pw", header_encryption=header))
        enc = r.by_rule("MT-ARC-006")
        assert enc and enc[0].severity is Severity.LOW
        assert r.children == []


def test_7z_declared_size_limit_checked_first() -> None:
    r = scan("a.7z", make_7z([("big.bin", b"\1" * 5000)]), limits=Limits(max_member_size=100))
    assert r.by_rule("MT-ARC-003") and r.children == []


def test_7z_bomb() -> None:
    r = scan("a.7z", make_7z([("zeros.bin", b"\0" * (4 * 1024 * 1024))]))
    assert r.by_rule("MT-ARC-002") and r.children == []


def test_7z_corrupt() -> None:
    data = make_7z([("data.pkl", PICKLE)])
    r = scan("a.7z", data[:40], fmt=Format.SEVENZIP)
    assert r.by_rule("MT-ARC-008")


def test_7z_missing_py7zr(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    data = make_7z([("data.pkl", PICKLE)])
    monkeypatch.setitem(sys.modules, "py7zr", None)
    monkeypatch.setitem(sys.modules, "py7zr.io", None)
    r = scan("a.7z", data)
    assert r.result.coverage is Coverage.NOT_ANALYSED
    assert "modeltrust[archives]" in r.result.reason
    assert r.rules() == ["MT-ARC-010"]


# --- real corpora (read-only; nothing is loaded) ------------------------------------------


@pytest.mark.parametrize(
    ("name", "member", "rule"),
    [
        ("picklescan/data/malicious1.zip", "data.pkl", None),
        ("picklescan/data/malicious1_0x1.zip", "model/config.pkl", "MT-ZIP-003"),
        ("picklescan/data/malicious1_0x20.zip", "model/config.pkl", "MT-ZIP-003"),
        ("picklescan/data/malicious1_0x40.zip", "model/config.pkl", "MT-ZIP-003"),
        ("picklescan/data/malicious1_central_directory.zip", "data.pkl", "MT-ZIP-002"),
        ("picklescan/data/malicious1_wrong_ext.zip", "data.txt", None),
        ("picklescan/data/malicious1.7z", "data.pkl", None),
        ("modelaudit/samples/archives/path_traversal.zip", "model/malicious.pkl", "MT-ARC-001"),
        ("modelaudit/samples/archives/safe_model.zip", "model/weights.txt", None),
    ],
)
def test_corpus_members_delivered(name: str, member: str, rule: str | None) -> None:
    corpus, rel = name.split("/", 1)
    path = corpus_dir(corpus) / rel
    r = scan(path.name, path.read_bytes())
    assert member in r.names()
    assert r.child_data(member).startswith(b"\x80") or not member.endswith(".pkl")
    if rule:
        assert rule in r.rules()
    if "safe" in name:
        assert r.findings == []


def test_corpus_password_protected_is_benign() -> None:
    path = corpus_dir("picklescan") / "data/benign_password_protected.zip"
    r = scan(path.name, path.read_bytes())
    assert r.rules() == ["MT-ARC-006"]
    assert all(f.severity < Severity.HIGH for f in r.findings)


# --- properties: any bytes in, findings out, never an exception ---------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_as_zip(blob: bytes) -> None:
    start = time.monotonic()
    scan("x.zip", blob, fmt=Format.ZIP)
    scan("x.zip", b"PK\x03\x04" + blob, fmt=Format.ZIP)
    scan("x.tar", blob, fmt=Format.TAR)
    assert time.monotonic() - start < 5


_VALID = make_zip([("archive/data.pkl", PICKLE), ("archive/data/0", b"\0" * 64),
                   ("archive/version", b"3\n")], zipfile.ZIP_DEFLATED)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), max_size=12))
def test_mutated_zip(mutations: list[tuple[int, int]]) -> None:
    data = bytearray(_VALID)
    for pos, value in mutations:
        data[pos] = value
    start = time.monotonic()
    r = scan("m.pt", bytes(data), fmt=Format.ZIP)
    assert time.monotonic() - start < 5
    assert all(MARKER in c._data or True for c in r.children if c._data is not None)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_as_7z(blob: bytes) -> None:
    scan("x.7z", b"7z\xbc\xaf\x27\x1c" + blob, fmt=Format.SEVENZIP)


# --- padding past the member limit (a payload behind thousands of harmless members) ----------


def _npy(dtype: str = "<f4") -> bytes:
    return npy_header(f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': (1,), }}") + \
        b"\0" * 4


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_npz_object_array_past_the_limit_is_analysed(method: int) -> None:
    pads = [(f"arr_{i}.npy", _npy()) for i in range(8)]
    data = make_zip([*pads, ("x.npy", npy_object_array()), ("y.npy", _npy("<i8"))], method)
    r = scan("f.npz", data, limits=Limits(max_members=5))
    assert r.result.format is Format.NUMPY_NPZ
    assert r.child_data("f.npz!x.npy") == npy_object_array()
    assert "f.npz!y.npy" not in [c.path for c in r.children]  # numeric: header checked only
    cap = r.by_rule("MT-ARC-005")
    assert len(cap) == 1 and cap[0].severity is Severity.MEDIUM, cap
    assert "0 members were not analysed" in cap[0].evidence
    assert not r.by_rule("MT-ZIP-008")


def test_npz_padding_at_the_default_limit() -> None:
    pads = [(f"a{i}.npy", _npy()) for i in range(Limits().max_members)]
    r = scan("f.npz", make_zip([*pads, ("x.npy", npy_object_array())]))
    assert r.child_data("f.npz!x.npy") == npy_object_array()
    assert r.rules() == ["MT-ARC-005"]


def test_torch_zip_with_data_pkl_past_the_limit() -> None:
    data = make_zip([*[(f"archive/data/{i}", b"\0" * 8) for i in range(12)],
                     ("archive/byteorder", b"little"), ("archive/data.pkl", PICKLE)])
    r = scan("z.pt", data, limits=Limits(max_members=5))
    assert r.result.format is Format.TORCH_ZIP
    assert r.child_data("z.pt!archive/data.pkl") == PICKLE
    cap = r.by_rule("MT-ARC-005")
    assert len(cap) == 1 and "1 members were not analysed" in cap[0].evidence  # byteorder
    assert cap[0].severity is Severity.HIGH
    assert not r.by_rule("MT-ZIP-008")


def test_torchscript_code_past_the_limit_is_handed() -> None:
    data = make_zip([*[(f"m/data/{i}", b"\0") for i in range(6)], ("m/data.pkl", PICKLE),
                     ("m/constants.pkl", PICKLE), ("m/code/__torch__/m.py", b"def f(): pass"),
                     ("m/code/__torch__/m.py.debug_pkl", PICKLE)])
    r = scan("s.pt", data, limits=Limits(max_members=4))
    assert r.result.format is Format.TORCHSCRIPT
    assert {c.path.split("!", 1)[1] for c in r.children} >= {
        "m/data.pkl", "m/constants.pkl", "m/code/__torch__/m.py",
        "m/code/__torch__/m.py.debug_pkl"}


def test_members_past_the_limit_keep_their_name_checks() -> None:
    data = make_zip([*[(f"{i}.txt", b"x") for i in range(6)], ("../../evil.pkl", PICKLE)])
    r = scan("a.zip", data, limits=Limits(max_members=3))
    assert r.by_rule("MT-ARC-001") and r.child_data("../../evil.pkl") == PICKLE


def test_members_past_the_limit_share_the_expansion_budget() -> None:
    big = bytes(range(256)) * 64
    data = make_zip([*[(f"{i}.txt", b"x") for i in range(4)],
                     *[(f"{i}.pkl", big) for i in range(4)]], zipfile.ZIP_DEFLATED)
    r = scan("a.zip", data, limits=Limits(max_members=3), budget=len(big) * 2 + 10)
    assert r.by_rule("MT-ARC-004") and r.result.coverage is Coverage.PARTIAL


def test_tar_pickle_past_the_limit_is_analysed() -> None:
    data = make_tar([*[(f"{i}.txt", b"x") for i in range(6)], ("model.pkl", PICKLE)])
    r = scan("a.tar", data, limits=Limits(max_members=3))
    assert r.child_data("a.tar!model.pkl") == PICKLE
    cap = r.by_rule("MT-ARC-005")
    assert len(cap) == 1 and cap[0].severity is Severity.HIGH
    assert "3 members were not analysed" in cap[0].evidence
    assert not r.by_rule("MT-ARC-008")
