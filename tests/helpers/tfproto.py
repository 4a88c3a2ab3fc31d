"""A tiny protobuf encoder for TensorFlow graphs in tests (no TensorFlow needed).

Field numbers follow tensorflow/core/protobuf/saved_model.proto, meta_graph.proto and
core/framework/{graph,node_def,function,attr_value,tensor}.proto.
"""

from __future__ import annotations

from collections.abc import Iterable


def varint(n: int) -> bytes:
    out = bytearray()
    n &= 0xFFFFFFFFFFFFFFFF
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def ld(number: int, payload: bytes | str) -> bytes:
    """A length-delimited field."""
    raw = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def vi(number: int, value: int) -> bytes:
    """A varint field."""
    return varint(number << 3) + varint(value)


def attr_s(value: bytes | str) -> bytes:
    """AttrValue{s}."""
    return ld(2, value)


def attr_strings(values: Iterable[bytes | str]) -> bytes:
    """AttrValue{tensor: TensorProto{dtype: DT_STRING, string_val...}} as a Const holds."""
    tensor = vi(1, 7) + b"".join(ld(8, v) for v in values)
    return ld(8, tensor)


def attr_type(dtype: int) -> bytes:
    return vi(6, dtype)


def node(name: str, op: str, inputs: Iterable[str] = (),
         attrs: dict[str, bytes] | None = None) -> bytes:
    """A NodeDef."""
    body = ld(1, name) + ld(2, op) + b"".join(ld(3, i) for i in inputs)
    for key, value in sorted((attrs or {}).items()):
        body += ld(5, ld(1, key) + ld(2, value))
    return body


def function(name: str, nodes: Iterable[bytes]) -> bytes:
    """A FunctionDef with signature {name} and node_def entries."""
    return ld(1, ld(1, name)) + b"".join(ld(3, n) for n in nodes)


def graph(nodes: Iterable[bytes], functions: Iterable[bytes] = ()) -> bytes:
    """A GraphDef: nodes, then a FunctionDefLibrary when functions are given."""
    body = b"".join(ld(1, n) for n in nodes)
    fns = b"".join(ld(1, f) for f in functions)
    if fns:
        body += ld(2, fns)
    return body + ld(4, vi(1, 1087))


def meta_graph(graph_def: bytes, tags: Iterable[str] = ("serve",), extra: bytes = b"") -> bytes:
    """A MetaGraphDef with MetaInfoDef{tags} and the graph."""
    info = b"".join(ld(4, t) for t in tags) + ld(5, "2.15.0")
    return ld(1, info) + ld(2, graph_def) + extra


def saved_model(*metas: bytes) -> bytes:
    """A SavedModel: schema version 1 and the meta graphs."""
    return vi(1, 1) + b"".join(ld(2, m) for m in metas)


def benign_graph() -> bytes:
    return graph([
        node("x", "Placeholder", attrs={"dtype": attr_type(1)}),
        node("w", "Const", attrs={"dtype": attr_type(1)}),
        node("y", "MatMul", ["x", "w"]),
        node("saver_filename", "Placeholder", attrs={"dtype": attr_type(7)}),
        node("save", "SaveV2", ["saver_filename", "names", "slices", "w"]),
    ])
