"""A minimal forward-layout FlatBuffer writer for TFLite models in tests.

Field indices follow tensorflow/lite/schema/schema.fbs: Model{version 0, operator_codes 1,
subgraphs 2, description 3, buffers 4, metadata 6}, OperatorCode{deprecated_builtin_code 0,
custom_code 1, version 2, builtin_code 3}, SubGraph{tensors 0, inputs 1, outputs 2,
operators 3, name 4}, Operator{opcode_index 0, inputs 1, outputs 2}, Tensor{shape 0, type 1,
buffer 2, name 3}, Buffer{data 0, offset 1, size 2}.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

Scalar = tuple[str, int]  # (struct format, value)


@dataclass
class Table:
    """Fields by index: a scalar ``(fmt, value)``, ``str``, ``bytes``, ``Table``,
    ``list[Table]`` or ``list[int]`` (uint32 vector)."""

    fields: dict[int, object] = field(default_factory=dict)


def _align(buf: bytearray, n: int = 4) -> None:
    while len(buf) % n:
        buf.append(0)


def _write_table(buf: bytearray, t: Table) -> int:
    nfields = max(t.fields, default=-1) + 1
    _align(buf)
    vt = len(buf)
    buf += b"\0" * (4 + 2 * nfields)
    if len(buf) % 4:
        buf += b"\0\0"
    tpos = len(buf)
    buf += struct.pack("<i", tpos - vt)
    offsets: dict[int, int] = {}
    refs: list[tuple[int, object]] = []
    for idx in sorted(t.fields):
        value = t.fields[idx]
        offsets[idx] = len(buf) - tpos
        if isinstance(value, tuple):
            buf += struct.pack(value[0], value[1])
        else:
            refs.append((len(buf), value))
            buf += b"\0\0\0\0"
    tsize = len(buf) - tpos
    struct.pack_into("<HH", buf, vt, 4 + 2 * nfields, tsize)
    for idx, off in offsets.items():
        struct.pack_into("<H", buf, vt + 4 + 2 * idx, off)
    for at, value in refs:
        target = _write_ref(buf, value)
        struct.pack_into("<I", buf, at, target - at)
    return tpos


def _write_ref(buf: bytearray, value: object) -> int:
    _align(buf)
    if isinstance(value, Table):
        return _write_table(buf, value)
    if isinstance(value, str | bytes):
        raw = value.encode() if isinstance(value, str) else value
        pos = len(buf)
        buf += struct.pack("<I", len(raw)) + raw + (b"\0" if isinstance(value, str) else b"")
        return pos
    assert isinstance(value, list)
    pos = len(buf)
    buf += struct.pack("<I", len(value))
    if value and isinstance(value[0], Table):
        slots = []
        for _ in value:
            slots.append(len(buf))
            buf += b"\0\0\0\0"
        for slot, item in zip(slots, value, strict=True):
            target = _write_ref(buf, item)
            struct.pack_into("<I", buf, slot, target - slot)
    else:
        for item in value:
            buf += struct.pack("<i", item)
    return pos


def finish(root: Table, ident: bytes = b"TFL3") -> bytes:
    buf = bytearray(8)
    buf[4:8] = ident
    pos = _write_table(buf, root)
    struct.pack_into("<I", buf, 0, pos)
    return bytes(buf)


def opcode(builtin: int, custom: str | None = None) -> Table:
    f: dict[int, object] = {0: ("<b", min(builtin, 127)), 2: ("<i", 1), 3: ("<i", builtin)}
    if custom is not None:
        f[1] = custom
    return Table(f)


def model(codes: list[Table], ops: list[int], buffers: int = 2,
          description: str = "MLIR Converted.") -> bytes:
    tensors = [Table({1: ("<b", 0), 2: ("<I", i % buffers), 3: f"t{i}"}) for i in range(2)]
    operators = [Table({0: ("<I", idx), 1: [0], 2: [1]}) for idx in ops]
    sub = Table({0: tensors, 1: [0], 2: [1], 3: operators, 4: "main"})
    bufs = [Table({}) for _ in range(buffers)]
    return finish(Table({0: ("<I", 3), 1: codes, 2: [sub], 3: description, 4: bufs}))


ADD, CONV_2D, CUSTOM = 0, 3, 32


def benign() -> bytes:
    return model([opcode(ADD), opcode(CONV_2D)], [0, 1, 0])


def with_custom_and_flex() -> bytes:
    return model([opcode(ADD), opcode(CUSTOM, "MyVendorOp"), opcode(CUSTOM, "FlexReadFile"),
                  opcode(CUSTOM, "FlexMatMul")], [0, 1, 2, 3])


def flex_options(op: str, node_def: bytes) -> bytes:
    """Custom options of a Flex op: the flexbuffer vector ``[op, NodeDef]`` TensorFlow writes.

    Written with the flatbuffers project's builder; a NodeDef that is not UTF-8 goes in as a
    blob, since that builder only writes text strings.
    """
    from flatbuffers import flexbuffers

    fbb = flexbuffers.Builder()
    with fbb.Vector():
        fbb.String(op)
        try:
            fbb.String(node_def.decode("utf-8"))
        except UnicodeDecodeError:
            fbb.Blob(node_def)
    return bytes(fbb.Finish())


def model_with_operators(codes: list[Table], operators: list[Table], tensors: int = 2,
                         ) -> bytes:
    """A model whose operators are given as tables (custom options, tensor indices...)."""
    ts = [Table({1: ("<b", 0), 2: ("<I", 0), 3: f"t{i}"}) for i in range(tensors)]
    sub = Table({0: ts, 1: [0], 2: [tensors - 1], 3: operators, 4: "main"})
    return finish(Table({0: ("<I", 3), 1: codes, 2: [sub], 3: "x", 4: [Table({})]}))


def operator(index: int, inputs: list[int] | None = None, outputs: list[int] | None = None,
             custom_options: bytes | None = None) -> Table:
    f: dict[int, object] = {0: ("<I", index), 1: inputs if inputs is not None else [0],
                            2: outputs if outputs is not None else [1]}
    if custom_options is not None:
        f[5] = custom_options
    return Table(f)
