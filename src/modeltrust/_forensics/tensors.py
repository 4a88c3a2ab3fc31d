"""Streaming tensor readers that execute nothing: safetensors, PyTorch zip checkpoints, GGUF.

A model is opened as a list of :class:`TensorRef` — name, stored dtype, shape, a lazy loader
of the stored bytes and a decoder of those bytes to float32. Nothing is read until ``raw`` is
called, and it maps only its own tensor's byte range, so comparing two models holds a few
tensors in memory at a time whatever the models' size. Reading (``raw``) and decoding are
separate so that one thread can read the next tensor while another computes on this one.
Conversions (bf16, fp8 E4M3/E5M2, integers) are done with numpy per tensor; float32 is a
view of the mapping, not a copy.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from modeltrust.errors import Error

FloatArray = npt.NDArray[np.float32]
ByteArray = npt.NDArray[np.uint8]

MAX_INDEX_BYTES = 64 * 1024 * 1024
"""Largest ``*.safetensors.index.json`` read."""
MAX_CARD_BYTES = 256 * 1024
"""Bytes of README.md read to find the card's front matter."""
MAX_TENSORS = 1_000_000
"""Tensors read from one model."""

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf")


class ForensicsError(Error):
    """A model cannot be compared at all (nothing readable, or refused as unsafe)."""


@dataclass(frozen=True)
class TensorRef:
    """One tensor of a model, not yet read."""

    name: str
    dtype: str
    """Stored dtype in safetensors spelling (``F32``, ``BF16``, ``F8_E4M3``) or a GGUF type."""
    shape: tuple[int, ...]
    source: str
    """The file it lives in, relative to the model root."""
    raw: Callable[[], ByteArray] = field(repr=False, compare=False)
    """The stored bytes (for byte identity and quantisation grids), read when called."""
    decode: Callable[[ByteArray], FloatArray] = field(repr=False, compare=False)
    """Stored bytes (what ``raw`` returned) to the values as float32 of ``shape``."""

    def load(self) -> FloatArray:
        """The values as a float32 array of ``shape``."""
        return self.decode(self.raw())

    @property
    def size(self) -> int:
        """Number of elements."""
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass
class Model:
    """The tensors of one model and what could not be read."""

    path: str
    format: str
    files: list[str]
    tensors: list[TensorRef]
    problems: list[str] = field(default_factory=list)
    base_model_claim: tuple[str, ...] = ()
    """The card's ``base_model`` entries (README.md front matter), if any."""


# --------------------------------------------------------------------------- dtypes
_NUMPY: dict[str, str] = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
    "I8": "i1", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "u1",
}
_SPECIAL = {"BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1}
BYTES_PER: dict[str, int] = {**{k: np.dtype(v).itemsize for k, v in _NUMPY.items()}, **_SPECIAL}
"""Bytes per element of every dtype :func:`to_float32` converts."""


def _e4m3_table() -> FloatArray:
    """All 256 float8 E4M3FN values (bias 7, no infinities, 0x7f/0xff are NaN)."""
    codes = np.arange(256, dtype=np.int32)
    sign = np.where(codes & 0x80, -1.0, 1.0)
    exp = (codes >> 3) & 0xF
    man = (codes & 0x7).astype(np.float64)
    normal = (1.0 + man / 8.0) * np.exp2(exp.astype(np.float64) - 7.0)
    sub = (man / 8.0) * 2.0**-6
    out = sign * np.where(exp == 0, sub, normal)
    out[(codes & 0x7F) == 0x7F] = np.nan
    return out.astype(np.float32)


_E4M3 = _e4m3_table()


def to_float32(raw: ByteArray, dtype: str, shape: tuple[int, ...]) -> FloatArray:
    """Convert stored little-endian bytes of a safetensors dtype to float32 of ``shape``.

    float32 data is returned as a view (no copy); everything else is converted once.

    Raises:
        ForensicsError: the dtype is unknown or the byte count does not match the shape.
    """
    if dtype not in BYTES_PER:
        raise ForensicsError(f"dtype {dtype} cannot be converted")
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if raw.size != n * BYTES_PER[dtype]:
        raise ForensicsError(f"{raw.size} bytes do not hold {n} {dtype} values")
    if dtype == "BF16":
        out = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
    elif dtype == "F8_E5M2":  # the high byte of an IEEE half
        out = (raw.astype(np.uint16) << 8).view(np.float16).astype(np.float32)
    elif dtype == "F8_E4M3":
        out = _E4M3[raw]
    elif dtype == "F32":
        out = raw.view("<f4")
    else:
        out = raw.view(_NUMPY[dtype]).astype(np.float32)
    return out.reshape(shape)


def map_range(path: Path, offset: int, length: int) -> ByteArray:
    """Map ``length`` bytes of ``path`` at ``offset`` read-only; unmapped when released.

    The returned array keeps the mapping alive; when the last reference goes, the pages
    are unmapped, which is what keeps resident memory at a few tensors. The OS is told the
    whole range will be read, so it starts reading it in large sequential requests rather
    than page fault by page fault.
    """
    if length == 0:
        return np.zeros(0, dtype=np.uint8)
    start = offset - offset % mmap.ALLOCATIONGRANULARITY
    with path.open("rb") as fh:
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fh.fileno(), offset, length, os.POSIX_FADV_WILLNEED)
        mm = mmap.mmap(fh.fileno(), length + (offset - start), access=mmap.ACCESS_READ,
                       offset=start)
    return np.frombuffer(mm, dtype=np.uint8, count=length, offset=offset - start)


PAGE = mmap.PAGESIZE
TOUCH_STEP = 1 << 25
"""Bytes touched per numpy call (the GIL is released inside each call)."""


def touch(raw: ByteArray) -> None:
    """Read one byte of every page of ``raw``, so that its pages are read and mapped now.

    Called from a reader thread: the thread waits for the storage and takes the page
    faults, and the thread computing finds the pages in place. numpy releases the GIL in
    the reduction, so the computing thread runs meanwhile (``MAP_POPULATE`` and
    ``mmap.madvise`` would hold the GIL for the whole read).
    """
    for s in range(0, raw.size, TOUCH_STEP):
        np.bitwise_or.reduce(raw[s:s + TOUCH_STEP:PAGE])


# --------------------------------------------------------------------------- safetensors
def read_safetensors(path: Path, shown: str, problems: list[str]) -> list[TensorRef]:
    """The tensors of one safetensors file, validated by the safetensors scanner's parser."""
    from modeltrust._scanners.safetensors import MAX_HEADER, SafetensorsHeaderError, read_header

    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else 0
        head += fh.read(min(n, MAX_HEADER))
    try:
        header = read_header(head, size)
    except SafetensorsHeaderError as exc:
        problems.append(f"{shown}: unreadable safetensors header: {exc.reason}")
        return []
    for p in header.problems:
        problems.append(f"{shown}: {p.evidence}")
    out: list[TensorRef] = []
    for info in header.tensors:
        if info.dtype not in BYTES_PER:
            problems.append(f"{shown}: tensor {info.name!r} has dtype {info.dtype} "
                            "that forensics does not convert")
            continue
        if info.end - info.begin != info.elements * BYTES_PER[info.dtype] or \
                header.data_start + info.end > size:
            problems.append(f"{shown}: tensor {info.name!r} byte range does not match its shape")
            continue
        out.append(_st_ref(path, shown, info.name, info.dtype, info.shape,
                           header.data_start + info.begin, info.end - info.begin))
    return out


def _st_ref(path: Path, shown: str, name: str, dtype: str, shape: tuple[int, ...],
            offset: int, length: int) -> TensorRef:
    def raw() -> ByteArray:
        return map_range(path, offset, length)

    def decode(data: ByteArray) -> FloatArray:
        return to_float32(data, dtype, shape)

    return TensorRef(name, dtype, shape, shown, raw, decode)


# --------------------------------------------------------------------------- opening
def open_model(target: str | os.PathLike[str]) -> Model:
    """Open a model file or folder (safetensors, sharded safetensors, PyTorch zip, GGUF).

    In a folder, safetensors files are preferred over pickles, and pickles over GGUF, as
    loaders do; only one format is read per model.

    Raises:
        SourceError: the target does not exist.
        ForensicsError: the target holds no weights, or a pickle that did not scan clean.
    """
    from modeltrust.errors import SourceError

    root = Path(target)
    if not root.exists():
        raise SourceError(str(target), "no such file or folder")
    files = _weight_files(root)
    if not files:
        raise ForensicsError(f"{target}: no weight files (safetensors, PyTorch zip, GGUF) found")
    fmt = _format_of(files[0])
    problems: list[str] = []
    tensors: list[TensorRef] = []
    base = root if root.is_dir() else root.parent
    for f in files:
        shown = f.relative_to(base).as_posix()
        tensors.extend(_read(f, fmt, shown, problems))
        if len(tensors) > MAX_TENSORS:
            problems.append(f"more than {MAX_TENSORS} tensors: the rest were not read")
            del tensors[MAX_TENSORS:]
            break
    claim = read_card_claim(base) if root.is_dir() else ()
    return Model(str(target), fmt, [f.relative_to(base).as_posix() for f in files],
                 tensors, problems, claim)


def _read(f: Path, fmt: str, shown: str, problems: list[str]) -> list[TensorRef]:
    if fmt == "safetensors":
        return read_safetensors(f, shown, problems)
    if fmt == "gguf":
        from modeltrust._forensics.gguf_reader import read_gguf

        return read_gguf(f, shown, problems)
    from modeltrust._forensics.torch_reader import read_torch_zip

    return read_torch_zip(f, shown, problems)


def _format_of(f: Path) -> str:
    if f.suffix == ".safetensors":
        return "safetensors"
    if f.suffix == ".gguf":
        return "gguf"
    return "pytorch"


def _weight_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    found = sorted(p for p in root.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES
                   and not p.name.startswith("."))
    for suffix in (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf"):
        chosen = [p for p in found if p.suffix == suffix]
        if chosen:
            return _indexed(root, chosen) if suffix == ".safetensors" else chosen
    return []


def _indexed(root: Path, files: list[Path]) -> list[Path]:
    """For sharded safetensors, the shards the index names (all files when no index)."""
    index = root / "model.safetensors.index.json"
    if not index.is_file() or index.stat().st_size > MAX_INDEX_BYTES:
        return files
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
    except (ValueError, UnicodeDecodeError, AttributeError):
        return files
    if not isinstance(weight_map, dict):
        return files
    named = {str(v) for v in weight_map.values()}
    chosen = [p for p in files if p.name in named]
    return chosen or files


def read_card_claim(folder: Path) -> tuple[str, ...]:
    """The ``base_model`` entries of ``README.md`` front matter (bounded, ``safe_load``)."""
    card = folder / "README.md"
    if not card.is_file():
        return ()
    with card.open("rb") as fh:
        text = fh.read(MAX_CARD_BYTES).decode("utf-8", "replace")
    from modeltrust._assess.card import split_front_matter
    from modeltrust._assess.yamlsafe import load_yaml_mapping

    front, _body, _line = split_front_matter(text)  # the same reading openness does
    if front is None:
        return ()
    meta, _problem = load_yaml_mapping(front)
    claim = meta.get("base_model") if isinstance(meta, dict) else None
    if isinstance(claim, str):
        return (claim,)
    if isinstance(claim, list):
        return tuple(sorted(str(c) for c in claim if isinstance(c, str)))
    return ()
