"""Build small ONNX models with onnx.helper: benign graphs and hostile variants.

Nothing here loads external data or runs a model; hostile samples only *name* files
(``/etc/passwd``, ``../../secret``) in their external-data entries.
"""

from __future__ import annotations

from typing import Any

import pytest

onnx = pytest.importorskip("onnx")
helper = onnx.helper
TensorProto = onnx.TensorProto


def relu_graph(name: str = "g", nodes: list[Any] | None = None, inits: list[Any] | None = None,
               ) -> Any:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    body = nodes if nodes is not None else [helper.make_node("Relu", ["x"], ["y"])]
    return helper.make_graph(body, name, [x], [y], initializer=inits or [])


def model(nodes: list[Any] | None = None, inits: list[Any] | None = None,
          opsets: list[tuple[str, int]] | None = None, functions: list[Any] | None = None,
          meta: dict[str, str] | None = None, graph: Any = None) -> bytes:
    imports = [helper.make_opsetid(d, v) for d, v in (opsets or [("", 17)])]
    m = helper.make_model(graph if graph is not None else relu_graph(nodes=nodes, inits=inits),
                          opset_imports=imports, functions=functions or [],
                          producer_name="modeltrust-tests", producer_version="1.0")
    if meta:
        helper.set_model_props(m, meta)
    data: bytes = m.SerializeToString()
    return data


def external_tensor(name: str, location: str | None, **extra: str) -> Any:
    """A float tensor whose data lives in an external file named ``location``."""
    t = helper.make_tensor(name, TensorProto.FLOAT, [1], [0.0])
    t.ClearField("float_data")
    t.data_location = TensorProto.EXTERNAL
    entries = ({"location": location} if location is not None else {}) | extra
    for key, value in entries.items():
        e = t.external_data.add()
        e.key, e.value = key, value
    return t


def with_external(location: str | None, **extra: str) -> bytes:
    return model(inits=[external_tensor("w", location, **extra)])


def nested_if(depth: int, leaf: Any = None) -> bytes:
    """A graph whose If nodes nest ``depth`` subgraphs; the innermost holds ``leaf``."""
    inner = relu_graph("leaf", nodes=[leaf] if leaf is not None else None)
    for i in range(depth):
        node = helper.make_node("If", ["c"], ["y"], name=f"if{i}", then_branch=inner,
                                else_branch=relu_graph(f"else{i}"))
        inner = relu_graph(f"level{i}", nodes=[node])
    return model(graph=inner)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def raw_nested_if(depth: int) -> bytes:
    """Hand-encoded ModelProto nesting If subgraphs deeper than onnx.helper can build."""
    graph = b""
    for _ in range(depth):
        attr = _field(1, b"then_branch") + _varint(20 << 3) + _varint(5) + _field(6, graph)
        node = _field(4, b"If") + _field(5, attr)
        graph = _field(1, node)
    return _varint(1 << 3) + _varint(8) + _field(7, graph)
