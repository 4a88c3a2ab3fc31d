"""Per-tensor digests: each tensor's name, dtype, shape and raw bytes, whatever the file layout.

Two files that hold the same tensors hash to the same records even when their containers
differ (``pytorch_model.bin`` re-saved as ``model.safetensors``), and a changed file can be
explained tensor by tensor. Readers are bounded and never load what they read:

* safetensors: the JSON header (offsets checked against the file size);
* GGUF: an own parse of the header, key/values and tensor infos (counts, lengths and
  dimensions bounded; ``general.alignment`` honoured; no memory map);
* PyTorch zip: ``data.pkl`` is *interpreted* symbolically by
  :class:`modeltrust._scanners.pickle.vm.Interpreter` (never unpickled) to find
  ``torch._utils._rebuild_tensor_v2`` calls with their storage keys, offsets, sizes,
  strides and storage classes; the bytes come from the ``data/<key>`` members.

Dtype names are safetensors' (``F32``, ``BF16``...), GGML types keep their names
(``Q4_K``) and shapes are row-major (GGUF dimensions are reversed to match).
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from modeltrust._integrity.hashing import CHUNK, ModelFile, feed

TENSORS_PREDICATE = "https://modeltrust.dev/tensors/v1"
MAX_TENSORS = 1_000_000
MAX_HEADER = 100 * 1024 * 1024
MAX_PICKLE = 256 * 1024 * 1024
MAX_DIMS = 16
_GGUF_MAX_KV = 1_000_000
_GGUF_MAX_STRING = 64 * 1024 * 1024

_TORCH_DTYPES = {
    "FloatStorage": ("F32", 4), "DoubleStorage": ("F64", 8), "HalfStorage": ("F16", 2),
    "BFloat16Storage": ("BF16", 2), "LongStorage": ("I64", 8), "IntStorage": ("I32", 4),
    "ShortStorage": ("I16", 2), "CharStorage": ("I8", 1), "ByteStorage": ("U8", 1),
    "BoolStorage": ("BOOL", 1), "ComplexFloatStorage": ("C64", 8),
    "ComplexDoubleStorage": ("C128", 16), "Float8_e4m3fnStorage": ("F8_E4M3", 1),
    "Float8_e5m2Storage": ("F8_E5M2", 1),
}
_REBUILDERS = frozenset({("torch._utils", "_rebuild_tensor_v2"),
                         ("torch._utils", "_rebuild_tensor")})
_PARAMETERS = frozenset({("torch._utils", "_rebuild_parameter"),
                         ("torch._utils", "_rebuild_parameter_with_state")})
# GGML type id -> (name, elements per block, bytes per block); from ggml.h / gguf-py.
_GGML = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 40),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
    26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}


class TensorReadError(Exception):
    """The file looks like a tensor container but its structure is broken."""


@dataclass(frozen=True, order=True)
class TensorRecord:
    """One tensor, identified by what it holds, not where it sits."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    digest: str

    def to_json(self) -> dict[str, Any]:
        """JSON form used in the tensor statement."""
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape),
                "digest": self.digest}


@dataclass(frozen=True)
class FileTensors:
    """The tensors of one file (``error`` says why they could not all be read)."""

    name: str
    format: str
    tensors: tuple[TensorRecord, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form used in the tensor statement."""
        out: dict[str, Any] = {"name": self.name, "format": self.format,
                               "tensors": [t.to_json() for t in self.tensors]}
        if self.error:
            out["error"] = self.error
        return out


def sniff(path: Path) -> str | None:
    """``safetensors``, ``gguf``, ``pytorch-zip`` or None, from the first bytes."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if head[:4] == b"GGUF":
        return "gguf"
    if head[:4] == b"PK\x03\x04":
        return "pytorch-zip"
    if len(head) >= 9 and head[8:9] == b"{":
        n = struct.unpack_from("<Q", head)[0]
        if 2 <= n <= MAX_HEADER:
            return "safetensors"
    return None


def read_file(mf: ModelFile) -> FileTensors | None:
    """Per-tensor digests of one file, or None when it is no tensor container we know."""
    kind = sniff(mf.path)
    if kind is None:
        return None
    reader = {"safetensors": _safetensors, "gguf": _gguf, "pytorch-zip": _torch_zip}[kind]
    try:
        records = reader(mf.path)
    except TensorReadError as exc:
        return FileTensors(mf.name, kind, error=str(exc))
    except (OSError, ValueError, struct.error, zipfile.BadZipFile, RecursionError) as exc:
        return FileTensors(mf.name, kind, error=f"unreadable: {exc}")
    if records is None:
        return None
    return FileTensors(mf.name, kind, tuple(sorted(records)))


# ------------------------------------------------------------------------------ safetensors
def _safetensors(path: Path) -> list[TensorRecord]:
    import json

    size = path.stat().st_size
    with path.open("rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        if 8 + n > size:
            raise TensorReadError("safetensors header runs past the end of the file")
        header = json.loads(f.read(n))
    if not isinstance(header, dict) or len(header) > MAX_TENSORS:
        raise TensorReadError("safetensors header is not an object of bounded size")
    base = 8 + n
    out: list[TensorRecord] = []
    fd = os.open(path, os.O_RDONLY)
    try:
        for name, info in header.items():
            if name == "__metadata__":
                continue
            if not isinstance(info, dict):
                raise TensorReadError(f"tensor {name!r} entry is not an object")
            dtype, shape, offs = info.get("dtype"), info.get("shape"), info.get("data_offsets")
            if (not isinstance(dtype, str) or not _int_list(shape) or not _int_list(offs)
                    or len(offs) != 2 or not 0 <= offs[0] <= offs[1]
                    or base + offs[1] > size):
                raise TensorReadError(f"tensor {name!r} has a malformed dtype/shape/offsets")
            out.append(TensorRecord(name, dtype, tuple(shape),
                                    _digest_range(fd, base + offs[0], base + offs[1])))
    finally:
        os.close(fd)
    return out


def _int_list(value: Any) -> TypeGuard[list[int]]:
    return (isinstance(value, list) and len(value) <= MAX_DIMS
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value))


def _digest_range(fd: int, start: int, end: int) -> str:
    h = hashlib.sha256()
    if end > start:
        feed(fd, start, end, h.update)
    return h.hexdigest()


# ------------------------------------------------------------------------------------ GGUF
class _Cursor:
    def __init__(self, buf: bytes, file_size: int) -> None:
        self.buf = buf
        self.file_size = file_size
        self.pos = 0

    def _short(self) -> TensorReadError:
        if len(self.buf) < self.file_size:
            return TensorReadError(f"GGUF metadata is larger than {MAX_HEADER} bytes")
        return TensorReadError("GGUF header is truncated")

    def take(self, fmt: str) -> Any:
        s = struct.calcsize(fmt)
        if self.pos + s > len(self.buf):
            raise self._short()
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += s
        return value

    def string(self) -> str:
        n = self.take("<Q")
        if n > _GGUF_MAX_STRING:
            raise TensorReadError(f"GGUF string of {n} bytes is out of bounds")
        if self.pos + n > len(self.buf):
            raise self._short()
        raw = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return raw.decode("utf-8", "replace")


_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                 10: "<Q", 11: "<q", 12: "<d"}


def _gguf_value(cur: _Cursor, vtype: int, depth: int = 0) -> Any:
    if vtype in _GGUF_SCALARS:
        return cur.take(_GGUF_SCALARS[vtype])
    if vtype == 8:
        return cur.string()
    if vtype == 9 and depth < 4:
        etype, count = cur.take("<I"), cur.take("<Q")
        if etype in _GGUF_SCALARS:  # skip fixed-size arrays in one step
            need = struct.calcsize(_GGUF_SCALARS[etype]) * count
            if cur.pos + need > len(cur.buf):
                raise cur._short()
            cur.pos += need
            return None
        if count > len(cur.buf):
            raise TensorReadError("GGUF array count exceeds the file size")
        for _ in range(count):
            _gguf_value(cur, etype, depth + 1)
        return None
    raise TensorReadError(f"GGUF value type {vtype} is unknown")


def _gguf(path: Path) -> list[TensorRecord]:
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(min(size, MAX_HEADER))  # metadata only: tensors are hashed by range
    cur = _Cursor(head, size)
    cur.pos = 4
    version = cur.take("<I")
    if version not in (2, 3):
        raise TensorReadError(f"GGUF version {version} is not supported")
    n_tensors, n_kv = cur.take("<Q"), cur.take("<Q")
    if n_tensors > MAX_TENSORS or n_kv > _GGUF_MAX_KV:
        raise TensorReadError(f"GGUF declares {n_tensors} tensors and {n_kv} keys")
    alignment = 32
    for _ in range(n_kv):
        key, vtype = cur.string(), cur.take("<I")
        value = _gguf_value(cur, vtype)
        if key == "general.alignment" and isinstance(value, int) and value > 0:
            alignment = value
    infos = [_gguf_info(cur) for _ in range(n_tensors)]
    data = -(-cur.pos // alignment) * alignment
    out: list[TensorRecord] = []
    fd = os.open(path, os.O_RDONLY)
    try:
        for name, shape, gtype, offset in infos:
            kind, block, nbytes_block = _GGML[gtype]
            count = math.prod(shape)
            if count % block:
                raise TensorReadError(f"tensor {name!r} is not a whole number of blocks")
            start, end = data + offset, data + offset + count // block * nbytes_block
            if end > size:
                raise TensorReadError(f"tensor {name!r} data runs past the end of the file")
            out.append(TensorRecord(name, kind, tuple(reversed(shape)),
                                    _digest_range(fd, start, end)))
    finally:
        os.close(fd)
    return out


def _gguf_info(cur: _Cursor) -> tuple[str, tuple[int, ...], int, int]:
    name, n_dims = cur.string(), cur.take("<I")
    if n_dims > MAX_DIMS:
        raise TensorReadError(f"tensor {name!r} has {n_dims} dimensions")
    shape = tuple(cur.take("<Q") for _ in range(n_dims))
    gtype, offset = cur.take("<I"), cur.take("<Q")
    if gtype not in _GGML:
        raise TensorReadError(f"tensor {name!r} has unknown GGML type {gtype}")
    return name, shape, gtype, offset


# ----------------------------------------------------------------------------- PyTorch zip
@dataclass
class _TorchTensor:
    name: str
    key: str
    dtype: str
    itemsize: int
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


@dataclass
class _Collector:
    found: list[_TorchTensor] = field(default_factory=list)
    names: set[str] = field(default_factory=set)


def _torch_zip(path: Path) -> list[TensorRecord] | None:
    with zipfile.ZipFile(path) as zf:
        pkls = [i for i in zf.infolist() if i.filename.endswith("/data.pkl")
                or i.filename == "data.pkl"]
        if len(pkls) != 1:
            return None
        info = pkls[0]
        if info.file_size > MAX_PICKLE:
            raise TensorReadError(f"data.pkl is larger than {MAX_PICKLE} bytes")
        prefix = info.filename[: -len("data.pkl")]
        tensors = _interpret(zf.read(info))
        members = {i.filename: i for i in zf.infolist()}
        return [_torch_record(zf, members, prefix, t) for t in tensors]


def _interpret(data: bytes) -> list[_TorchTensor]:
    from modeltrust._scanners.pickle.vm import Interpreter
    from modeltrust._source.interface import Limits

    collector = _Collector()

    class _VM(Interpreter):
        def _setitems(self, items: list[Any]) -> None:
            super()._setitems(items)
            for k, v in zip(items[::2], items[1::2], strict=True):
                t = _tensor_of(k, v)
                if t is not None and t.name not in collector.names:
                    if len(collector.found) >= MAX_TENSORS:
                        raise TensorReadError(f"more than {MAX_TENSORS} tensors")
                    collector.names.add(t.name)
                    collector.found.append(t)

    limits = Limits()
    res = _VM(data, limits, time.monotonic() + limits.max_seconds).run(0)
    if res.error or res.limit:
        raise TensorReadError(f"data.pkl could not be interpreted: {res.error or res.limit}")
    return collector.found


def _tensor_of(key: Any, value: Any) -> _TorchTensor | None:
    from modeltrust._scanners.pickle.values import Call, Global, PersistentRef

    if not isinstance(key, str) or not isinstance(value, Call):
        return None
    func = value.func
    if not isinstance(func, Global):
        return None
    args = value.args if isinstance(value.args, tuple) else ()
    if (func.module, func.name) in _PARAMETERS and args:
        return _tensor_of(key, args[0])
    if (func.module, func.name) not in _REBUILDERS or len(args) < 4:
        return None
    storage, offset, size, stride = args[:4]
    if not isinstance(storage, PersistentRef) or not isinstance(storage.pid, tuple):
        return None
    pid = storage.pid
    if len(pid) < 3 or not isinstance(pid[1], Global) or not isinstance(pid[2], str):
        return None
    dtype = _TORCH_DTYPES.get(pid[1].name)
    ints = all(isinstance(v, int) for v in (*size, *stride)) if (
        isinstance(size, tuple) and isinstance(stride, tuple)) else False
    if dtype is None or not isinstance(offset, int) or not ints or len(size) != len(stride):
        raise TensorReadError(f"tensor {key!r} has a storage or layout we cannot read")
    return _TorchTensor(key, pid[2], dtype[0], dtype[1], offset, tuple(size), tuple(stride))


def _torch_record(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], prefix: str,
                  t: _TorchTensor) -> TensorRecord:
    info = members.get(f"{prefix}data/{t.key}")
    if info is None:
        raise TensorReadError(f"tensor {t.name!r}: storage data/{t.key} is missing")
    count = math.prod(t.size)
    if count == 0:
        return TensorRecord(t.name, t.dtype, t.size, hashlib.sha256().hexdigest())
    span = 1 + sum((n - 1) * s for n, s in zip(t.size, t.stride, strict=True))
    first, last = t.offset * t.itemsize, (t.offset + span) * t.itemsize
    if t.offset < 0 or any(s < 0 for s in t.stride) or last > info.file_size:
        raise TensorReadError(f"tensor {t.name!r} lies outside its storage")
    with zf.open(info) as f:
        f.seek(first)
        if _contiguous(t.size, t.stride):
            h = hashlib.sha256()
            left = last - first
            while left:
                chunk = f.read(min(CHUNK, left))
                if not chunk:
                    raise TensorReadError(f"tensor {t.name!r}: storage is truncated")
                h.update(chunk)
                left -= len(chunk)
            return TensorRecord(t.name, t.dtype, t.size, h.hexdigest())
        raw = f.read(last - first)
    return TensorRecord(t.name, t.dtype, t.size, _strided_digest(raw, t))


def _contiguous(size: tuple[int, ...], stride: tuple[int, ...]) -> bool:
    expected = 1
    for n, s in zip(reversed(size), reversed(stride), strict=True):
        if n != 1 and s != expected:
            return False
        expected *= n
    return True


def _strided_digest(raw: bytes, t: _TorchTensor) -> str:
    try:
        import numpy as np
    except ImportError:
        raise TensorReadError(f"tensor {t.name!r} is not contiguous; reading it needs "
                              "numpy") from None
    base = np.frombuffer(raw, dtype=np.dtype(f"V{t.itemsize}"))
    view = np.lib.stride_tricks.as_strided(
        base, shape=t.size, strides=tuple(s * t.itemsize for s in t.stride), writeable=False)
    return hashlib.sha256(np.ascontiguousarray(view).tobytes()).hexdigest()
