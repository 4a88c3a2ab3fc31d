"""The HDF5 scanner: legacy Keras models (``.h5``), ``model.weights.h5`` and any HDF5 file.

HDF5 files are walked by :mod:`._hdf5` (links, external storage, hidden data); the Keras
configs found in their root attributes (``model_config``, ``training_config``) are parsed
and handed to :func:`.keras_config.check_keras_config`, which is re-exported here for the
config and TensorFlow scanners. The checks live in :mod:`.keras_config` (the config walk),
:mod:`.keras_lambda` (code Keras would run), :mod:`.keras_names` (the catalogue) and
:mod:`.keras_rules` (the MT-KRS rules).
"""

from __future__ import annotations

from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners import _hdf5
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._scanners.keras_config import check_keras_config, parse_config_text
from modeltrust._scanners.keras_names import is_keras_module
from modeltrust._scanners.keras_rules import MALFORMED, RULES
from modeltrust._source.interface import Artifact, Buffer
from modeltrust.findings import Location
from modeltrust.rules import finding

__all__ = ["KerasScanner", "check_keras_config", "is_keras_module", "parse_config_text"]
"""The functions other modules import from here (the checks moved to the modules above)."""

_KERAS_ATTRS = ("model_config", "keras_version", "training_config", "layer_names")


def _h5_result(artifact: Artifact, ctx: ScanContext, walk: _hdf5.Walked) -> Result:
    """Check Keras configs held in root attributes and describe the file."""
    attrs = walk.attrs
    keras = any(k in attrs for k in (*_KERAS_ATTRS, *walk.odd)) or artifact.path.endswith(
        "model.weights.h5")
    for key in ("model_config", "training_config"):
        if key in walk.odd:
            ctx.report(finding(MALFORMED, artifact.path, f"attribute {key} is {walk.odd[key]}; "
                               f"Keras cannot read it as a JSON config",
                               Location(detail=f"attribute {key}")))
    for key in ("model_config", "training_config"):
        text = attrs.get(key)
        if text is not None and text != "null":
            cfg, shadowed = parse_config_text(text, artifact, ctx, f"attribute {key}")
            if cfg is not None:
                check_keras_config(cfg, artifact, ctx, f"attribute {key}")
            for value in shadowed[:20]:
                if isinstance(value, dict | list):
                    check_keras_config(value, artifact, ctx, f"attribute {key} (shadowed)")
    props = tuple(sorted((k, attrs[k][:200]) for k in ("keras_version", "backend")
                         if k in attrs))
    fmt = Format.KERAS_H5 if keras else Format.HDF5
    version = attrs.get("keras_version")
    detail = f"HDF5, {walk.objects} objects" + (
        (f", Keras {version[:40]} model" if version else ", Keras model") if keras else "")
    if walk.stopped:
        return Result(Coverage.PARTIAL, walk.stopped, detail, fmt, props)
    return Result(detail=detail, format=fmt, properties=props)


class KerasScanner(Scanner):
    """HDF5 files: legacy Keras models (configs checked) and any HDF5 (links, storage)."""

    name = "keras"
    formats = frozenset({Format.HDF5})
    rules = (*RULES, *_hdf5.RULES)

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Walk the HDF5 structure; check Keras configs found in its attributes."""
        walked = _hdf5.walk_hdf5(artifact, data, ctx)
        if isinstance(walked, str):
            if "install" in walked:
                return Result.not_analysed(walked, format=Format.HDF5)
            return Result.partial(walked, format=Format.HDF5)
        return _h5_result(artifact, ctx, walked)
