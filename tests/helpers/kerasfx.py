"""Keras-shaped configs and files built by hand (no Keras needed), with harmless markers.

The configs mirror what Keras 3 ``model.to_json()`` and Keras 2 (``tf.keras``) legacy
``.h5`` files contain. The malicious Lambda's bytecode is *created* here with
``marshal.dumps(compile(...))``; nothing ever loads it.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import marshal
import zipfile
from typing import Any

MARKER_CMD = "touch /tmp/modeltrust-test-marker-DO-NOT-CREATE"
MARKER_SRC = f"__import__('os').system('{MARKER_CMD}')"


def marker_code_b64() -> str:
    """Base64 of a marshalled code object that *would* run the marker command."""
    code = compile(MARKER_SRC, "<lambda>", "eval")
    return base64.encodebytes(marshal.dumps(code)).decode("ascii")


def benign_code_b64() -> str:
    code = compile("x * 2", "<lambda>", "eval")
    return base64.encodebytes(marshal.dumps(code)).decode("ascii")


def _dtype() -> dict[str, Any]:
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
            "registered_name": None}


def initializer(name: str = "GlorotUniform") -> dict[str, Any]:
    return {"module": "keras.initializers", "class_name": name, "config": {"seed": None},
            "registered_name": None}


def dense(name: str = "dense", units: int = 8, **over: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "name": name, "trainable": True, "dtype": _dtype(), "units": units,
        "activation": "relu", "use_bias": True, "kernel_initializer": initializer(),
        "bias_initializer": initializer("Zeros"), "kernel_regularizer": None,
        "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
    }
    cfg.update(over)
    return {"module": "keras.layers", "class_name": "Dense", "config": cfg,
            "registered_name": None, "build_config": {"input_shape": [None, 4]}}


def input_layer() -> dict[str, Any]:
    return {"class_name": "InputLayer", "config": {"batch_shape": [None, 4],
            "dtype": "float32", "sparse": False, "name": "input_layer"},
            "registered_name": None}


def sequential(*layers: dict[str, Any]) -> dict[str, Any]:
    """A Keras 3 ``Sequential`` config with ``compile_config``."""
    return {
        "module": "keras", "class_name": "Sequential",
        "config": {"name": "sequential", "trainable": True, "dtype": _dtype(),
                   "layers": [input_layer(), *copy.deepcopy(list(layers))]},
        "registered_name": None, "build_config": {"input_shape": [None, 4]},
        "compile_config": {
            "optimizer": {"module": "keras.optimizers", "class_name": "Adam",
                          "config": {"name": "adam", "learning_rate": 0.001},
                          "registered_name": None},
            "loss": "mse", "metrics": ["mae"], "loss_weights": None,
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": False,
        },
    }


def lambda_k3(code_b64: str, name: str = "lambda") -> dict[str, Any]:
    """A Keras 3 Lambda layer (``{"class_name": "__lambda__", "config": {"code": ...}}``)."""
    return {"module": "keras.layers", "class_name": "Lambda", "config": {
        "name": name, "trainable": True, "dtype": _dtype(),
        "function": {"class_name": "__lambda__", "config": {
            "code": code_b64, "defaults": None, "closure": None}},
        "arguments": {}}, "registered_name": None}


def lambda_k2(function: object, function_type: str = "lambda", name: str = "lambda",
              module: str | None = None) -> dict[str, Any]:
    """A Keras 2 (tf.keras) Lambda layer as stored in legacy ``.h5`` files."""
    cfg: dict[str, Any] = {"name": name, "trainable": True, "dtype": "float32",
                           "function": function, "function_type": function_type,
                           "module": module or "__main__", "output_shape": None,
                           "output_shape_type": "raw", "output_shape_module": None,
                           "arguments": {}}
    return {"class_name": "Lambda", "config": cfg}


def sequential_k2(*layers: dict[str, Any]) -> dict[str, Any]:
    return {"class_name": "Sequential", "config": {"name": "sequential",
            "layers": list(layers)}, "keras_version": "2.15.0", "backend": "tensorflow"}


def write_legacy_h5(path_or_buf: Any, config: dict[str, Any] | str, *,
                    training: dict[str, Any] | None = None, extra: Any = None) -> None:
    """A legacy Keras ``.h5``: root attrs plus a ``model_weights`` group with one kernel."""
    import h5py
    import numpy as np

    with h5py.File(path_or_buf, "w") as f:
        f.attrs["model_config"] = config if isinstance(config, str) else json.dumps(config)
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        if training is not None:
            f.attrs["training_config"] = json.dumps(training)
        g = f.create_group("model_weights/dense/dense")
        g.create_dataset("kernel:0", data=np.ones((4, 8), "f4"))
        f["model_weights"].attrs["layer_names"] = [b"dense"]
        if extra is not None:
            extra(f)


def legacy_h5_bytes(config: dict[str, Any] | str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    write_legacy_h5(buf, config, **kw)
    return buf.getvalue()


def weights_h5_bytes(extra: Any = None) -> bytes:
    """A Keras 3 ``model.weights.h5`` (layers/<name>/vars/<i>)."""
    import h5py
    import numpy as np

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        v = f.create_group("layers/dense/vars")
        v.create_dataset("0", data=np.ones((4, 8), "f4"))
        v.create_dataset("1", data=np.zeros((8,), "f4"))
        f.create_group("optimizer/vars")
        if extra is not None:
            extra(f)
    return buf.getvalue()


def keras_zip(config: dict[str, Any], weights: bytes | None = None) -> bytes:
    """A Keras 3 ``.keras`` archive: config.json, metadata.json, model.weights.h5."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.6.0",
                                                 "date_saved": "2024-10-01@12:00:00"}))
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", weights if weights is not None else weights_h5_bytes())
    return buf.getvalue()


# --- hand-written marshal code objects (one per CPython layout) ----------------------------

_LONGS = {"py2": 4, "py3.7": 5, "py3.8": 6, "py3.11": 5}


def _m_long(n: int) -> bytes:
    return n.to_bytes(4, "little", signed=True)


def _m_obj(value: object, layout: str, interned: list[str]) -> bytes:
    if value is None:
        return b"N"
    if isinstance(value, int):
        return b"i" + _m_long(value)
    if isinstance(value, bytes):
        return b"s" + _m_long(len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        if layout != "py2":
            return b"u" + _m_long(len(raw)) + raw
        if value in interned:  # Python 2 writes repeated interned strings as 'R' references
            return b"R" + _m_long(interned.index(value))
        interned.append(value)
        return b"t" + _m_long(len(raw)) + raw
    if isinstance(value, tuple):
        return b"(" + _m_long(len(value)) + b"".join(_m_obj(v, layout, interned)
                                                      for v in value)
    if isinstance(value, FakeCode):
        return value.dump(layout, interned)
    raise TypeError(type(value))


class FakeCode:
    """A code object written in a chosen CPython marshal layout, without that Python.

    The bytecode itself is a placeholder: only the fields a reader looks at (names,
    constants, file name, nested code) are meaningful. Nothing can run it.
    """

    def __init__(self, names: tuple[str, ...], consts: tuple[object, ...],
                 filename: str = "<lambda>") -> None:
        self.names, self.consts, self.filename = names, consts, filename

    def dump(self, layout: str, interned: list[str] | None = None) -> bytes:
        seen: list[str] = [] if interned is None else interned
        o = lambda v: _m_obj(v, layout, seen)  # noqa: E731
        out = b"c" + b"".join(_m_long(0) for _ in range(_LONGS[layout]))
        out += o(b"\x00" * 4) + o(self.consts) + o(self.names)
        if layout == "py3.11":
            out += o(("x",)) + o(b"\x00") + o(self.filename) + o("<lambda>") + o("<lambda>")
            return out + _m_long(1) + o(b"") + o(b"")
        out += o(("x",)) + o(()) + o(()) + o(self.filename) + o("<lambda>")
        return out + _m_long(1) + o(b"")


def fake_code_b64(layout: str, names: tuple[str, ...] = ("__import__", "system"),
                  consts: tuple[object, ...] = ("os", MARKER_CMD)) -> str:
    """Base64 of a hand-written code object in ``layout`` (py2, py3.7, py3.8, py3.11)."""
    return base64.b64encode(FakeCode(names, consts).dump(layout)).decode("ascii")
