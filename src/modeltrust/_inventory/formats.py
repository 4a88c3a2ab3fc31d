"""The formats modeltrust recognises, identified by content (see :mod:`.sniff`)."""

from __future__ import annotations

import enum


class Format(enum.Enum):
    """A detected file format. The value is the stable name used in reports."""

    PICKLE = "pickle"
    JOBLIB = "joblib"
    TORCH_ZIP = "pytorch-zip"
    TORCHSCRIPT = "torchscript"
    TORCH_LEGACY = "pytorch-legacy"
    TORCH_TAR = "pytorch-legacy-tar"
    NUMPY_NPY = "numpy-npy"
    NUMPY_NPZ = "numpy-npz"
    ZIP = "zip"
    TAR = "tar"
    SEVENZIP = "7z"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    LZMA = "lzma"
    ZLIB = "zlib"
    SAFETENSORS = "safetensors"
    GGUF = "gguf"
    HDF5 = "hdf5"
    KERAS = "keras"
    KERAS_H5 = "keras-h5"
    ONNX = "onnx"
    TF_PROTOBUF = "tensorflow-protobuf"
    TF_PBTXT = "tensorflow-pbtxt"
    TFLITE = "tflite"
    PYTHON = "python"
    TEMPLATE = "jinja-template"
    YAML = "yaml"
    JSON = "json"
    TEXT = "text"
    EMPTY = "empty"
    UNKNOWN = "unknown"


COMPRESSED_STREAMS = frozenset({Format.GZIP, Format.BZIP2, Format.XZ, Format.LZMA, Format.ZLIB})
"""Single-stream compressions: decompressed (bounded) and the content sniffed again."""
