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
