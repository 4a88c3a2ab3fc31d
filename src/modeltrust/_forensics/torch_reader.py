"""PyTorch zip checkpoints read without unpickling.

The file is first scanned with :func:`modeltrust.scan`; only a checkpoint with no high or
critical finding is read further. Then ``data.pkl`` is walked by the symbolic pickle
interpreter, and every ``torch._utils._rebuild_tensor_v2`` call it *would* make is recorded
with its persistent storage id (storage key, storage class), offset, size and stride. The
values come straight from the ``data/<key>`` zip members, which ``torch.save`` stores
uncompressed, so each tensor is a memory map of its storage.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modeltrust._forensics.tensors import (
    ByteArray,
    FloatArray,
    ForensicsError,
    TensorRef,
    map_range,
    to_float32,
)
from modeltrust._scanners.pickle.values import Call, Global, PersistentRef
from modeltrust._scanners.pickle.vm import Interpreter
from modeltrust._source.interface import Limits
from modeltrust.findings import Severity

MAX_PICKLE_BYTES = 512 * 1024 * 1024
"""Largest ``data.pkl`` interpreted."""

STORAGE_DTYPES = {
    "FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16",
    "DoubleStorage": "F64", "LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16",
    "CharStorage": "I8", "ByteStorage": "U8", "BoolStorage": "BOOL",
    "Float8_e4m3fnStorage": "F8_E4M3", "Float8_e5m2Storage": "F8_E5M2",
}
"""torch storage classes (``torch.FloatStorage``...) to safetensors dtype names."""

_REBUILD = ("torch._utils", "_rebuild_tensor_v2")
_PARAMETER = ("torch._utils", "_rebuild_parameter")


@dataclass(frozen=True)
class TensorRecord:
    """What one ``_rebuild_tensor_v2`` call says about a tensor."""

    name: str
    key: str
    dtype: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


class _Collector(Interpreter):
    """The symbolic interpreter, noting tensor rebuild calls and the dict keys they get."""

    def run_collect(self) -> tuple[list[tuple[str | None, Call]], str | None]:
        self.calls: list[Call] = []
        self.named: dict[int, str] = {}
        res = self.run(0)
        problem = res.error or res.limit
        return [(self.named.get(id(c)), c) for c in self.calls], problem

    def _call(self, func: Any, args: Any, opcode: str) -> Call:
        call = super()._call(func, args, opcode)
        if isinstance(func, Global) and (func.module, func.name) == _REBUILD:
            self.calls.append(call)
        return call

    def _setitems(self, items: list[Any]) -> None:
        super()._setitems(items)
        for key, value in zip(items[::2], items[1::2], strict=True):
            if not isinstance(key, str) or not isinstance(value, Call):
                continue
            func = value.func
            if isinstance(func, Global) and (func.module, func.name) == _PARAMETER and \
                    isinstance(value.args, tuple) and value.args and \
                    isinstance(value.args[0], Call):
                value = value.args[0]
            self.named.setdefault(id(value), key)


def records(pickle_bytes: bytes, problems: list[str], shown: str) -> list[TensorRecord]:
    """Tensor records from a ``data.pkl``; anything malformed becomes a problem string."""
    calls, problem = _Collector(pickle_bytes, Limits()).run_collect()
    if problem:
        problems.append(f"{shown}: data.pkl: {problem}")
    out: list[TensorRecord] = []
    seen: set[str] = set()
    for i, (name, call) in enumerate(calls):
        rec = _record(name or f"tensor.{i}", call)
        if rec is None:
            problems.append(f"{shown}: tensor {name or i} has rebuild arguments that are not "
                            "a plain storage/offset/size/stride")
            continue
        if rec.name in seen:
            rec = TensorRecord(f"{rec.name}#{i}", rec.key, rec.dtype, rec.offset, rec.shape,
                               rec.stride)
        seen.add(rec.name)
        out.append(rec)
    return out


def _record(name: str, call: Call) -> TensorRecord | None:
    args = call.args
    if not isinstance(args, tuple) or len(args) < 4:
        return None
    storage, offset, size, stride = args[:4]
    if not isinstance(storage, PersistentRef) or not isinstance(storage.pid, tuple):
        return None
    pid = storage.pid
    if len(pid) < 3 or pid[0] != "storage" or not isinstance(pid[1], Global):
        return None
    dtype = STORAGE_DTYPES.get(pid[1].name) if pid[1].module == "torch" else None
    if dtype is None or not isinstance(pid[2], str) or not _ints(size) or not _ints(stride) \
            or not isinstance(offset, int) or len(size) != len(stride) or offset < 0:
        return None
    return TensorRecord(name, pid[2], dtype, offset, tuple(size), tuple(stride))


def _ints(value: Any) -> bool:
    return isinstance(value, tuple) and all(isinstance(v, int) and v >= 0 for v in value)


def _refuse_unless_clean(path: Path, shown: str) -> None:
    import modeltrust

    report = modeltrust.scan(path)
    bad = [f for f in report.findings if f.severity >= Severity.HIGH]
    if bad:
        first = bad[0]
        raise ForensicsError(
            f"{shown}: refusing to read tensors from a pickle that did not scan clean "
            f"({len(bad)} high/critical findings, first {first.rule_id}: {first.title}); "
            f"run 'modeltrust scan {shown}'")


def read_torch_zip(path: Path, shown: str, problems: list[str]) -> list[TensorRef]:
    """The tensors of a ``torch.save`` zip checkpoint (only if it scans clean).

    Raises:
        ForensicsError: the pickle has high or critical findings.
    """
    _refuse_unless_clean(path, shown)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        problems.append(f"{shown}: not a PyTorch zip checkpoint ({exc}); legacy pickle "
                        "checkpoints are not read")
        return []
    try:
        with zf:
            return _read_members(zf, path, shown, problems)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
            zlib.error) as exc:
        problems.append(f"{shown}: damaged zip checkpoint ({type(exc).__name__}: {exc})")
        return []


def _read_members(
    zf: zipfile.ZipFile, path: Path, shown: str, problems: list[str]
) -> list[TensorRef]:
    pkl = [i for i in zf.infolist() if i.filename.endswith("data.pkl")
           and i.filename.count("/") == 1]
    if not pkl or pkl[0].file_size > MAX_PICKLE_BYTES:
        problems.append(f"{shown}: no readable data.pkl in the zip")
        return []
    prefix = pkl[0].filename[: -len("data.pkl")]
    recs = records(zf.read(pkl[0]), problems, shown)
    members = {i.filename: i for i in zf.infolist()}
    out: list[TensorRef] = []
    for rec in recs:
        info = members.get(f"{prefix}data/{rec.key}")
        span = _data_span(path, info) if info is not None else None
        if span is None:
            problems.append(f"{shown}: tensor {rec.name!r}: storage {rec.key} is missing "
                            "or compressed")
            continue
        ref = _ref(path, shown, rec, span)
        if ref is None:
            problems.append(f"{shown}: tensor {rec.name!r} reaches past its storage")
            continue
        out.append(ref)
    return out


def _data_span(path: Path, info: zipfile.ZipInfo) -> tuple[int, int] | None:
    """File offset and length of a stored (uncompressed) member's bytes."""
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with path.open("rb") as fh:
        fh.seek(info.header_offset)
        head = fh.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        return None
    name_len, extra_len = struct.unpack_from("<HH", head, 26)
    start = info.header_offset + 30 + name_len + extra_len
    if start + info.file_size > path.stat().st_size:
        return None
    return start, info.file_size


def _ref(path: Path, shown: str, rec: TensorRecord, span: tuple[int, int]) -> TensorRef | None:
    from modeltrust._forensics.tensors import BYTES_PER

    item = BYTES_PER[rec.dtype]
    numel = span[1] // item
    extent = rec.offset + sum((s - 1) * st for s, st in zip(rec.shape, rec.stride, strict=True)) \
        if all(rec.shape) else rec.offset
    if extent >= numel and all(rec.shape):
        return None
    n = int(np.prod(rec.shape, dtype=np.int64)) if rec.shape else 1

    def storage() -> ByteArray:
        return map_range(path, span[0], numel * item)

    def raw() -> ByteArray:
        if n == 0:
            return np.zeros(0, dtype=np.uint8)
        base = storage()
        elems = base.view(np.dtype(f"V{item}"))
        view = np.lib.stride_tricks.as_strided(
            elems[rec.offset:], shape=rec.shape, strides=tuple(s * item for s in rec.stride))
        return np.ascontiguousarray(view).view(np.uint8).reshape(-1)

    def decode(data: ByteArray) -> FloatArray:
        return to_float32(data, rec.dtype, rec.shape)

    return TensorRef(rec.name, rec.dtype, rec.shape, shown, raw, decode)
