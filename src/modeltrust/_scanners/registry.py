"""The list of built-in scanners, plus plugins from the ``modeltrust.scanners`` group.

:func:`load_all` imports every built-in scanner and so registers every built-in rule.
"""

from __future__ import annotations

import importlib
import os
import sys
from functools import cache

from modeltrust._inventory.formats import Format
from modeltrust._scanners.interface import Scanner

F = Format
# (module, class, formats). Modules are imported on first use, so a scan of pickles does not
# pay for importing the ONNX or Keras scanners; tests check the formats match the classes.
BUILTIN: tuple[tuple[str, str, frozenset[Format]], ...] = (
    ("modeltrust._scanners.pickle.scanner", "PickleScanner", frozenset({F.PICKLE})),
    ("modeltrust._scanners.archive", "ArchiveScanner",
     frozenset({F.ZIP, F.TAR, F.SEVENZIP})),
    ("modeltrust._scanners.compressed", "CompressedScanner",
     frozenset({F.GZIP, F.BZIP2, F.XZ, F.LZMA, F.ZLIB})),
    ("modeltrust._scanners.numpy", "NpyScanner", frozenset({F.NUMPY_NPY})),
    ("modeltrust._scanners.safetensors", "SafetensorsScanner", frozenset({F.SAFETENSORS})),
    ("modeltrust._scanners.gguf", "GgufScanner", frozenset({F.GGUF})),
    ("modeltrust._scanners.template", "TemplateScanner", frozenset({F.TEMPLATE})),
    ("modeltrust._scanners.config", "ConfigScanner", frozenset({F.JSON, F.YAML})),
    ("modeltrust._scanners.keras", "KerasScanner", frozenset({F.HDF5})),
    ("modeltrust._scanners.tensorflow", "TensorFlowScanner",
     frozenset({F.TF_PROTOBUF, F.TF_PBTXT})),
    ("modeltrust._scanners.tflite", "TfliteScanner", frozenset({F.TFLITE})),
    ("modeltrust._scanners.onnx", "OnnxScanner", frozenset({F.ONNX})),
    ("modeltrust._scanners.code", "CodeScanner", frozenset({F.PYTHON})),
)
_PIPELINE_RULES = ("modeltrust._scanners.common", "modeltrust._source.rules",
                   "modeltrust._scanners.repository_rules", "modeltrust._scanners.shards",
                   "modeltrust._scanners.pins")


@cache
def _instance(module: str, cls: str) -> Scanner:
    scanner_cls = getattr(importlib.import_module(module), cls)
    instance: Scanner = scanner_cls()
    return instance


def load_all() -> tuple[Scanner, ...]:
    """Import every built-in scanner (registering all rules); used by ``modeltrust rules``."""
    for module in _PIPELINE_RULES:
        importlib.import_module(module)
    return tuple(_instance(m, c) for m, c, _ in BUILTIN)


PLUGIN_GROUP = "modeltrust.scanners"


def _any_plugin_declared() -> bool:
    """Cheap pre-check: does any installed distribution declare our entry-point group?

    ``importlib.metadata`` costs more to import than most scans take; reading the few
    ``entry_points.txt`` files on ``sys.path`` tells whether it is needed at all.
    """
    marker = f"[{PLUGIN_GROUP}]"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(entry or ".", name, "entry_points.txt"),
                          encoding="utf-8", errors="replace") as fh:
                    if marker in fh.read():
                        return True
            except OSError:
                continue
    return False


@cache
def plugin_scanners() -> tuple[Scanner, ...]:
    """Scanners from installed plugins, sorted by entry-point name (read on first need)."""
    if not _any_plugin_declared():
        return ()
    from importlib.metadata import entry_points

    found: list[Scanner] = []
    for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        cls = ep.load()
        if isinstance(cls, type) and issubclass(cls, Scanner):
            found.append(cls())
    return tuple(found)


def scanners() -> tuple[Scanner, ...]:
    """Every scanner: built-ins first, then plugins."""
    return load_all() + plugin_scanners()


def scanner_for(fmt: Format) -> Scanner | None:
    """The built-in scanner for ``fmt``, else the first plugin that takes it, else None."""
    for module, cls, formats in BUILTIN:
        if fmt in formats:
            return _instance(module, cls)
    for s in plugin_scanners():
        if fmt in s.formats:
            return s
    return None
