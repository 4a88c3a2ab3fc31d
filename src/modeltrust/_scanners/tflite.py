"""TFLite flatbuffers: bounds-checked structure, custom ops and Flex (TensorFlow) ops.

A ``.tflite`` model is a FlatBuffer (schema ``tensorflow/lite/schema/schema.fbs``): offsets
everywhere, which a hostile file can point anywhere. Every table, vtable, vector and string
is checked against the buffer before it is read, and counts are bounded. What matters for
safety is which ops run: builtin ops are TFLite's own kernels, ``CUSTOM`` ops need code
registered by the application, and ``Flex*`` custom ops run full TensorFlow ops through the
Flex delegate, including ones that read files or call Python; those are graded with the
TensorFlow op table.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from modeltrust._inventory.formats import Format
from modeltrust._scanners import _protobuf as pb
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._scanners.tf_ops import grade_op
from modeltrust._source.interface import Artifact, Buffer
from modeltrust.findings import Location, Severity
from modeltrust.rules import finding, rule

FLEX_OPS = rule(
    "MT-TFL-001", "TFLite model runs TensorFlow ops through the Flex delegate", Severity.MEDIUM,
    """
    Custom ops named ``Flex<Op>`` run the TensorFlow op ``<Op>`` (the Flex delegate links
    the TensorFlow runtime). That widens what the model can do from TFLite kernels to all
    of TensorFlow; Flex ops that read or write files, open connections or run Python are
    raised to the TensorFlow severity (high or critical).
    """,
    fix="Convert the model with builtin ops only, or review every Flex op listed.",
    cwe=749,
)
CUSTOM_OPS = rule(
    "MT-TFL-002", "TFLite model uses custom ops", Severity.LOW,
    """
    The model needs ops that are not TFLite builtins; the application must register native
    code for them, whose behaviour was not reviewed. Well-known custom ops (detection
    post-processing) are info.
    """,
    fix="Check where the custom op implementations come from.",
)
MALFORMED = rule(
    "MT-TFL-003", "TFLite flatbuffer is malformed", Severity.MEDIUM,
    """
    An offset, vtable, vector or string of the flatbuffer points outside the file, or an
    index (operator code, buffer) is out of range. Such files crash or confuse readers and
    cannot be vouched for.
    """,
    fix="Re-convert the model with the TFLite converter.", cwe=20,
)
LIMIT = rule(
    "MT-TFL-004", "TFLite analysis stopped at a limit", Severity.MEDIUM,
    """
    The model has more operators, tensors or subgraphs than the scanner walks; the rest
    was not examined.
    """,
    fix="Scan with larger limits.", cwe=400,
)

CUSTOM = 32
MAX_ITEMS = 2_000_000
_KNOWN_CUSTOM = frozenset({"TFLite_Detection_PostProcess", "Convolution2DTransposeBias",
                           "MaxPoolingWithArgmax2D", "MaxUnpooling2D", "Landmarks2TransformMatrix",
                           "TransformLandmarks", "TransformTensorBilinear", "AudioSpectrogram",
                           "Mfcc", "RandomStandardNormal", "RandomUniform", "Multinomial"})


class FlatbufferError(Exception):
    """A structural problem, with the offset where it was found."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at offset {offset:#x}")
        self.offset = offset


@dataclass
class _Reader:
    data: Buffer
    items: int = field(default_factory=lambda: MAX_ITEMS)
    deadline: float = float("inf")

    def unpack(self, fmt: str, pos: int) -> int:
        size = struct.calcsize(fmt)
        if pos < 0 or pos + size > len(self.data):
            raise FlatbufferError(f"{size}-byte read outside the file", pos)
        value: int = struct.unpack_from(fmt, self.data, pos)[0]
        return value

    def table(self, pos: int) -> _Table:
        vtable = pos - self.unpack("<i", pos)
        vsize = self.unpack("<H", vtable)
        tsize = self.unpack("<H", vtable + 2)
        if vsize < 4 or vsize % 2 or vtable + vsize > len(self.data):
            raise FlatbufferError(f"bad vtable (size {vsize})", vtable)
        if tsize < 4 or pos + tsize > len(self.data):
            raise FlatbufferError(f"table of {tsize} bytes runs past the end", pos)
        return _Table(self, pos, vtable, vsize, tsize)

    def deref(self, pos: int) -> int:
        target = pos + self.unpack("<I", pos)
        if target >= len(self.data):
            raise FlatbufferError("offset points past the end of the file", pos)
        return target

    def spend(self, n: int, pos: int) -> None:
        self.items -= n
        if self.items < 0:
            raise FlatbufferError(f"more than {MAX_ITEMS} items", pos)
        if time.monotonic() > self.deadline:
            raise FlatbufferError("more than the time budget allows", pos)


@dataclass
class _Table:
    r: _Reader
    pos: int
    vtable: int
    vsize: int
    tsize: int

    def field(self, index: int) -> int | None:
        slot = 4 + 2 * index
        if slot >= self.vsize:
            return None
        off = self.r.unpack("<H", self.vtable + slot)
        if off == 0:
            return None
        if off >= self.tsize:
            raise FlatbufferError(f"field {index} lies outside its table", self.vtable + slot)
        return self.pos + off

    def scalar(self, index: int, fmt: str, default: int = 0) -> int:
        at = self.field(index)
        return default if at is None else self.r.unpack(fmt, at)

    def vector(self, index: int, elem: int) -> tuple[int, int]:
        at = self.field(index)
        if at is None:
            return 0, 0
        target = self.r.deref(at)
        count = self.r.unpack("<I", target)
        if target + 4 + count * elem > len(self.r.data):
            raise FlatbufferError(f"vector of {count} items runs past the end", target)
        self.r.spend(count if elem > 1 else 1, target)
        return target + 4, count

    def string(self, index: int, limit: int = 4096) -> str | None:
        at = self.field(index)
        if at is None:
            return None
        start, count = self.vector(index, 1)
        raw = bytes(self.r.data[start : start + min(count, limit)])
        return raw.decode("utf-8", "replace")

    def tables(self, index: int) -> Iterator[_Table]:
        """The tables of a vector, one at a time (a huge vector is never held in memory)."""
        start, count = self.vector(index, 4)
        for i in range(count):
            yield self.r.table(self.r.deref(start + 4 * i))

    def count(self, index: int, elem: int = 4) -> int:
        """The length of a vector field (bounds-checked)."""
        return self.vector(index, elem)[1]

    def ints(self, index: int) -> Iterator[int]:
        """The items of an int32 vector."""
        start, count = self.vector(index, 4)
        for i in range(count):
            yield self.r.unpack("<i", start + 4 * i)

    def blob(self, index: int, limit: int) -> bytes:
        """A ubyte vector, cut at ``limit``."""
        start, count = self.vector(index, 1)
        return bytes(self.r.data[start : start + min(count, limit)])


@dataclass
class _Model:
    version: int = 0
    opcodes: list[tuple[int, str | None]] = field(default_factory=list)
    uses: dict[int, int] = field(default_factory=dict)
    operators: int = 0
    subgraphs: int = 0
    description: str = ""
    flex_nodes: list[tuple[int, str, list[str]]] = field(default_factory=list)
    """``(op code index, TensorFlow op, attr strings)`` decoded from Flex custom options."""


def read_model(data: Buffer, deadline: float = float("inf")
               ) -> tuple[_Model, FlatbufferError | None]:
    """Decode what the checks need; on a structural error, what was read and the error."""
    model = _Model()
    r = _Reader(data, deadline=deadline)
    try:
        if len(data) < 8 or bytes(data[4:8]) != b"TFL3":
            raise FlatbufferError("missing 'TFL3' file identifier", 4)
        root = r.table(r.deref(0))
        model.version = root.scalar(0, "<I")
        for code in root.tables(1):
            builtin = max(code.scalar(0, "<b"), code.scalar(3, "<i"))
            model.opcodes.append((builtin, code.string(1)))
        model.description = root.string(3, 200) or ""
        buffers = _check_buffers(r, root)
        for sub in root.tables(2):
            model.subgraphs += 1
            _check_subgraph(sub, model, buffers)
        for meta in root.tables(6):
            idx = meta.scalar(1, "<I")
            if idx >= buffers:
                raise FlatbufferError(f"metadata buffer index {idx} of {buffers}", meta.pos)
    except FlatbufferError as exc:
        return model, exc
    return model, None


def _check_buffers(r: _Reader, root: _Table) -> int:
    for buf in root.tables(4):
        buf.vector(0, 1)
        offset, size = buf.scalar(1, "<Q"), buf.scalar(2, "<Q")
        if offset > 1 and offset + size > len(r.data):
            raise FlatbufferError(f"buffer data at {offset}+{size} lies past the end", buf.pos)
    return root.count(4)


def _check_subgraph(sub: _Table, model: _Model, buffers: int) -> None:
    for tensor in sub.tables(0):
        idx = tensor.scalar(2, "<I")
        if idx >= max(buffers, 1):
            raise FlatbufferError(f"tensor buffer index {idx} of {buffers}", tensor.pos)
    tensors = sub.count(0)
    _check_indices(sub, (1, 2), tensors, "subgraph")
    for op in sub.tables(3):
        idx = op.scalar(0, "<I")
        if idx >= len(model.opcodes):
            raise FlatbufferError(f"operator code index {idx} of {len(model.opcodes)}",
                                  op.pos)
        _check_indices(op, (1, 2, 8), tensors, "operator")
        model.uses[idx] = model.uses.get(idx, 0) + 1
        model.operators += 1
        builtin, name = model.opcodes[idx]
        if builtin == CUSTOM:
            _custom_options(op, idx, model)


def _check_indices(table: _Table, fields: tuple[int, ...], tensors: int, what: str) -> None:
    """Tensor indices (inputs, outputs...) must name a tensor; -1 marks an omitted input."""
    for index in fields:
        for t in table.ints(index):
            if t < -1 or t >= tensors:
                raise FlatbufferError(f"{what} tensor index {t} of {tensors}", table.pos)


def _custom_options(op: _Table, idx: int, model: _Model) -> None:
    """Decode the TensorFlow NodeDef a Flex op carries.

    The delegate runs the NodeDef's op, which need not match the ``Flex<Op>`` name.
    """
    large_at, large_size = op.scalar(9, "<Q"), op.scalar(10, "<Q")
    if large_at and large_at + large_size > len(op.r.data):
        raise FlatbufferError(f"custom options at {large_at}+{large_size} lie past the end",
                              op.pos)
    raw = op.blob(5, MAX_OPTIONS)
    if large_at:
        raw = bytes(op.r.data[large_at : large_at + min(large_size, MAX_OPTIONS)])
    for name, strings in embedded_nodes(raw):
        model.flex_nodes.append((idx, name, strings))


MAX_OPTIONS = 1 << 20
"""Custom options bytes examined per operator."""
_FLEX_ITEMS = 8
"""A Flex op's options vector holds two strings (op name, NodeDef); more is not read."""
_FLEX_ERRORS = (IndexError, KeyError, TypeError, ValueError, OverflowError, struct.error)
"""What the flexbuffers reader raises on hostile bytes (it indexes without bounds checks)."""


def embedded_nodes(raw: bytes) -> list[tuple[str, list[str]]]:
    """TensorFlow NodeDefs a Flex op carries in its custom options.

    The options are a flexbuffer vector ``[op name, serialized NodeDef]``, read with the
    flatbuffers project's own ``flexbuffers`` module; each string or blob item is then
    decoded with the bounded protobuf reader and kept when it names an op. Options that are
    not a flexbuffer give nothing (the ``Flex<Op>`` name is still reported), and so does a
    missing ``flatbuffers`` package (installed with ``modeltrust[formats]``).
    """
    try:
        from flatbuffers import flexbuffers
    except ImportError:
        return []
    from modeltrust._scanners.tensorflow import read_node

    try:
        root = flexbuffers.GetRoot(bytearray(raw[:MAX_OPTIONS]))
        if not root.IsVector:
            return []
        vector = root.AsVector
        items = [vector[i] for i in range(min(len(vector), _FLEX_ITEMS))]
        payloads = [bytes(i.AsStringBytes if i.IsString else i.AsBlob)
                    for i in items if i.IsString or i.IsBlob]
    except _FLEX_ERRORS:
        return []
    found: list[tuple[str, list[str]]] = []
    budget = pb.Budget(fields=100_000)
    for payload in payloads:
        try:
            node = read_node(payload, pb.Field(0, pb.LEN, 0, len(payload), 0), budget, "flex")
        except pb.LimitError:
            break
        except pb.WireError:
            continue
        if node.op:
            found.append((node.op, node.strings))
    return found


class TfliteScanner(Scanner):
    """TFLite models: structure bounds, custom ops and Flex ops."""

    name = "tflite"
    formats = frozenset({Format.TFLITE})
    rules = (FLEX_OPS, CUSTOM_OPS, MALFORMED, LIMIT)

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Walk the flatbuffer; report custom and Flex ops; malformed structure is a finding."""
        model, error = read_model(data, ctx.started + ctx.limits.max_seconds)
        if error is not None:
            r = LIMIT if "more than" in str(error) else MALFORMED
            ctx.report(finding(r, artifact.path, str(error), Location(offset=error.offset)))
        _report_ops(artifact, model, ctx)
        detail = (f"TFLite v{model.version}: {model.subgraphs} subgraphs, {model.operators} "
                  f"operators, {len(model.opcodes)} op codes")
        if error is not None:
            return Result.partial(f"malformed flatbuffer: {error}", detail, Format.TFLITE)
        return Result(detail=detail, format=Format.TFLITE)


def _report_ops(artifact: Artifact, model: _Model, ctx: ScanContext) -> None:
    flex: list[str] = []
    custom: list[str] = []
    for index, (builtin, name) in enumerate(model.opcodes):
        if builtin != CUSTOM:
            continue
        label = name if name is not None else "<unnamed>"
        uses = model.uses.get(index, 0)
        is_flex = label.startswith("Flex")
        (flex if is_flex else custom).append(f"{label} x{uses}" if is_flex else label)
        tf_op = label[4:] if label[:4].casefold() == "flex" else label
        _grade(artifact, ctx, index, f"{label} runs TensorFlow {tf_op}" if is_flex else
               f"custom op {label!r} is named like TensorFlow {tf_op}", tf_op, [])
    for index, op, strings in model.flex_nodes:
        label = model.opcodes[index][1] or "<unnamed>"
        claimed = label[4:] if label[:4].casefold() == "flex" else label
        what = (f"{label} carries a NodeDef for TensorFlow {op}" if op == claimed else
                f"{label} carries a NodeDef for a different TensorFlow op, {op}")
        if op != claimed:
            ctx.report(finding(FLEX_OPS, artifact.path, f"op code {index}: {what}",
                               Location(detail=f"operator_codes[{index}] custom_options"),
                               severity=Severity.HIGH))
        _grade(artifact, ctx, index, what, op, strings)
    if flex:
        ctx.report(finding(FLEX_OPS, artifact.path, f"{len(flex)} Flex ops: "
                           f"{', '.join(sorted(flex)[:50])}"))
    if custom:
        known = all(c in _KNOWN_CUSTOM for c in custom)
        ctx.report(finding(CUSTOM_OPS, artifact.path, f"{len(custom)} custom ops: "
                           f"{', '.join(sorted(custom)[:50])}",
                           severity=Severity.INFO if known else None))


def _grade(artifact: Artifact, ctx: ScanContext, index: int, what: str, op: str,
           strings: list[str]) -> None:
    """Grade a TensorFlow op a TFLite model would run, with the TensorFlow op catalogue."""
    graded = grade_op(op, strings, [])
    if graded is None:
        return
    kind, why = graded[0], graded[1]
    sev = Severity.CRITICAL if kind == "code" else (
        Severity.MEDIUM if kind == "file" else Severity.HIGH)
    ctx.report(finding(FLEX_OPS, artifact.path, f"op code {index}: {what}, which {why}",
                       Location(detail=f"operator_codes[{index}]"), severity=sev))
