"""The interpreter mirrors CPython's unpickler stack/memo semantics without side effects."""

from __future__ import annotations

import io
import pickle
import pickletools

import pytest

from helpers import pickles as b
from modeltrust._scanners.pickle import handlers
from modeltrust._scanners.pickle.values import Call, Global
from modeltrust._scanners.pickle.vm import Interpreter
from modeltrust._source.interface import Limits

INLINE = {0x4B, 0x47, 0x4A, 0x4D, 0x71, 0x94, 0x28, 0x65, 0x75, 0x68, 0x8C, 0x2E}


def run(data: bytes, start: int = 0, **limits: int):
    return Interpreter(data, Limits(**limits)).run(start)


def refs(res) -> dict[str, bool]:
    return {f"{m}.{n}": r.invoked for (m, n), r in res.refs.items()}


def test_every_pickletools_opcode_is_handled() -> None:
    codes = {ord(op.code) for op in pickletools.opcodes}
    missing = codes - INLINE - set(handlers.HANDLERS)
    assert not missing, [hex(c) for c in missing]


@pytest.mark.parametrize("protocol", range(6))
def test_benign_values_all_protocols(protocol: int) -> None:
    value = {"a": [1, 2.5, -3, 2**40, "x" * 300, b"y" * 300, None, True], "t": (1, (2, 3)),
             "s": {1, 2}, "f": frozenset({3}), "big": 10**50, "ba": bytearray(b"z")}
    res = run(pickle.dumps(value, protocol=protocol))
    assert res.stopped and res.error is None
    assert res.end == len(pickle.dumps(value, protocol=protocol))


def test_protocol0_global_without_proto() -> None:
    res = run(b.system_call_p0())
    assert res.stopped
    assert refs(res) == {"os.system": True}
    assert res.refs[("os", "system")].call_args == (b.MARKER_CMD,)


def test_stack_global_operands_from_memo() -> None:
    data = (b.proto(4) + b.sbu("os") + b.binput(5) + b.POP + b.sbu("system")
            + b.binput(6) + b.POP + b.binget(5) + b.binget(6) + b"\x93"
            + b.sbu(b.MARKER_CMD) + b"\x85R.")
    res = run(data)
    assert refs(res) == {"os.system": True}


def test_memoize_uses_len_memo_not_put_index() -> None:
    # PUT 5 then MEMOIZE stores at len(memo) == 1, not 6: GET 1 must be the 2nd string.
    data = (b.proto(4) + b.sbu("os") + b.binput(5) + b.POP + b.sbu("system") + b.MEMOIZE
            + b.POP + b.binget(5) + b.binget(1) + b"\x93" + b.sbu("x") + b"\x85R.")
    res = run(data)
    assert refs(res) == {"os.system": True}


def test_get_of_unset_memo_key_stops_after_payload() -> None:
    data = b.system_call_p4()[:-1] + b.binget(9) + b"."
    res = run(data)
    assert not res.stopped
    assert "memo key 9" in (res.error or "")
    assert refs(res) == {"os.system": True}


def test_pop_can_pop_a_mark() -> None:
    res = run(b.proto(2) + b.MARK + b.POP + b.NONE + b".")
    assert res.stopped and res.value is None


def test_underflow_below_mark_is_an_error() -> None:
    res = run(b.proto(2) + b.NONE + b.MARK + b.POP + b.POP + b".")
    assert res.error and "underflow" in res.error


def test_dotted_name_in_stack_global() -> None:
    res = run(b.proto(4) + b.stack_global("pathlib", "os.system") + b.sbu("x") + b"\x85R.")
    assert refs(res) == {"pathlib.os.system": True}


def test_inst_obj_newobj_ex_all_record_calls() -> None:
    inst = b"(" + b.string0(b.MARKER_CMD) + b"ios\nsystem\n."
    assert refs(run(inst)) == {"os.system": True}
    obj = b.proto(2) + b"(" + b.global0("os", "system") + b.string0("x") + b"o."
    assert refs(run(obj)) == {"os.system": True}
    newobj_ex = b.proto(4) + b.stack_global("subprocess", "Popen") + b")" + b"}" + b"\x92."
    assert refs(run(newobj_ex)) == {"subprocess.Popen": True}


def test_ext_opcodes_are_recorded() -> None:
    res = run(b.proto(2) + b"\x82\x07" + b")R.")
    assert [a.kind for a in res.anomalies] == ["extension-code"]


def test_computed_stack_global_operands_flagged() -> None:
    # module name is the result of a call, not a literal
    data = (b.proto(4) + b.stack_global("builtins", "str") + b.sbu("os") + b"\x85R"
            + b.sbu("system") + b"\x93" + b.sbu("x") + b"\x85R.")
    res = run(data)
    assert "computed-global" in [a.kind for a in res.anomalies]


def test_build_on_global_is_a_mutation() -> None:
    data = (b.proto(4) + b.stack_global("torch", "_utils") + b"}" + b.sbu("_rebuild_tensor")
            + b.stack_global("builtins", "eval") + b"sb.")
    res = run(data)
    assert [a.kind for a in res.anomalies] == ["mutate-global"]


def _escape_nl(raw: bytes) -> bytes:
    text = raw.decode("latin-1").replace("\\", "\\u005c").replace("\n", "\\u000a")
    return text.encode("latin-1")


def test_nested_loads_payload_recovered_through_codecs_encode() -> None:
    inner = b.system_call_p0()
    data = (b.global0("pickle", "loads") + b"(" + b.global0("_codecs", "encode") + b"("
            + b"V" + _escape_nl(inner) + b"\n"
            + b.string0("latin1") + b"tRtR.")
    res = run(data)
    assert res.stopped, res.error
    assert [n.payload for n in res.nested] == [inner]


def test_truncated_stream_reports_error() -> None:
    data = pickle.dumps(list(range(100)), protocol=4)[:-10]
    res = run(data)
    assert not res.stopped and res.error


def test_opcode_limit() -> None:
    res = run(pickle.dumps(list(range(200_000)), protocol=4), max_opcodes=70_000)
    assert res.limit and "opcodes" in res.limit


def test_joblib_inline_arrays_are_skipped() -> None:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    buf = io.BytesIO()
    joblib.dump({"a": np.arange(1000.0), "b": np.array([1, "x"], dtype=object),
                 "c": np.zeros((3, 4), dtype="<U7")}, buf)
    res = run(buf.getvalue())
    assert res.stopped and res.error is None, res.error
    assert res.end == len(buf.getvalue())
    assert res.joblib_arrays == 3


def test_values_are_symbolic() -> None:
    res = run(b.system_call_p4())
    assert isinstance(res.value, Call) and isinstance(res.value.func, Global)


@pytest.mark.parametrize("opcode", [b"\x8e", b"\x96", b"\x8d"])
def test_payload_after_an_operand_over_the_limit_is_still_seen(opcode: bytes) -> None:
    """A big operand (tensor data in real pickles: BINBYTES8, BYTEARRAY8, BINUNICODE8) is
    stepped over, not a place to stop."""
    import struct

    big = opcode + struct.pack("<Q", 4096) + b"A" * 4096 + b"0"  # the operand, then POP
    res = run(b.proto(4) + big + b.system_call_p4()[2:], max_string=1024)
    assert res.error is None and refs(res) == {"os.system": True}


def test_operand_over_the_limit_past_the_end_is_truncation() -> None:
    import struct

    res = run(b.proto(4) + b"\x8e" + struct.pack("<Q", 1 << 40) + b"xx", max_string=1024)
    assert res.error is not None
