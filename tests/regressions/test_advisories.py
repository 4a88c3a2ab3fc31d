"""One regression test per public advisory: each asserts the exact rule id it must raise.

Samples come from the picklescan corpus (copied to a temporary folder first) when it has
one, otherwise they are built here with a harmless marker payload.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

import modeltrust
from helpers import pickles as b
from helpers.corpora import copy_sample
from modeltrust import Severity

# advisory -> (picklescan corpus file, rule id that must be raised at high or critical)
CORPUS_ADVISORIES = {
    "GHSA-3gf5-cxq9-w223": ("data2/GHSA-3gf5-cxq9-w223.pkl", "MT-PKL-001"),
    "GHSA-3vg9-h568-4w9m": ("data2/GHSA-3vg9-h568-4w9m.pkl", "MT-PKL-001"),
    "GHSA-4675-36f9-wf6r": ("data2/GHSA-4675-36f9-wf6r.pkl", "MT-PKL-005"),
    "GHSA-46h3-79wf-xr6c": ("data2/GHSA-46h3-79wf-xr6c.pkl", "MT-PKL-003"),
    "GHSA-49gj-c84q-6qm9": ("data2/GHSA-49gj-c84q-6qm9.pkl", "MT-PKL-001"),
    "GHSA-4r9r-ch6f-vxmx": ("data2/GHSA-4r9r-ch6f-vxmx.pkl", "MT-PKL-001"),
    "GHSA-4whj-rm5r-c2v8": ("data2/GHSA-4whj-rm5r-c2v8.pkl", "MT-PKL-001"),
    "GHSA-5qwp-399c-mjwf": ("data2/GHSA-5qwp-399c-mjwf.pkl", "MT-PKL-001"),
    "GHSA-6vqj-c2q5-j97w": ("data2/GHSA-6vqj-c2q5-j97w.pkl", "MT-PKL-001"),
    "GHSA-6w4w-5w54-rjvr": ("data2/GHSA-6w4w-5w54-rjvr.pkl", "MT-PKL-001"),
    "GHSA-7cq8-mj8x-j263": ("data2/GHSA-7cq8-mj8x-j263.pkl", "MT-PKL-001"),
    "GHSA-7wx9-6375-f5wh": ("data2/GHSA-7wx9-6375-f5wh.pkl", "MT-PKL-001"),
    "GHSA-84r2-jw7c-4r5q": ("data2/GHSA-84r2-jw7c-4r5q.pkl", "MT-PKL-003"),
    "GHSA-86cj-95qr-2p4f": ("data2/GHSA-86cj-95qr-2p4f.pkl", "MT-PKL-001"),
    "GHSA-8r4j-24qv-fmq9": ("data2/GHSA-8r4j-24qv-fmq9.pkl", "MT-PKL-001"),
    "GHSA-955r-x9j8-7rhh": ("data2/GHSA-955r-x9j8-7rhh.pkl", "MT-PKL-003"),
    "GHSA-9w88-8rmg-7g2p": ("data2/GHSA-9w88-8rmg-7g2p.pkl", "MT-PKL-001"),
    "GHSA-9xph-j2h6-g47v": ("data2/GHSA-9xph-j2h6-g47v.pkl", "MT-PKL-001"),
    "GHSA-cj3c-v495-4xqh": ("data2/GHSA-cj3c-v495-4xqh.pkl", "MT-PKL-001"),
    "GHSA-f4x7-rfwp-v3xw": ("data2/GHSA-f4x7-rfwp-v3xw.pkl", "MT-PKL-001"),
    "GHSA-f54q-57x4-jg88": ("data2/GHSA-f54q-57x4-jg88.pkl", "MT-PKL-004"),
    "GHSA-f745-w6jp-hpxx": ("data2/GHSA-f745-w6jp-hpxx.pkl", "MT-PKL-002"),
    "GHSA-fqq6-7vqf-w3fg": ("data2/GHSA-fqq6-7vqf-w3fg.pkl", "MT-PKL-001"),
    "GHSA-g344-hcph-8vgg": ("data2/GHSA-g344-hcph-8vgg.pkl", "MT-PKL-001"),
    "GHSA-g38g-8gr9-h9xp (_aix_support)": ("data2/GHSA-g38g-8gr9-h9xp-aix-support.pkl",
                                           "MT-PKL-002"),
    "GHSA-g38g-8gr9-h9xp (imaplib)": ("data2/GHSA-g38g-8gr9-h9xp-imaplib.pkl", "MT-PKL-002"),
    "GHSA-g38g-8gr9-h9xp (_osx_support)": ("data2/GHSA-g38g-8gr9-h9xp-osx-support.pkl",
                                           "MT-PKL-002"),
    "GHSA-g38g-8gr9-h9xp (_pyrepl.pager)": ("data2/GHSA-g38g-8gr9-h9xp-pyrepl-pager.pkl",
                                            "MT-PKL-002"),
    "GHSA-g38g-8gr9-h9xp (test.support)": ("data2/GHSA-g38g-8gr9-h9xp-test.pkl", "MT-PKL-002"),
    "GHSA-g38g-8gr9-h9xp (uuid)": ("data2/GHSA-g38g-8gr9-h9xp-uuid.pkl", "MT-PKL-002"),
    "GHSA-h3qp-7fh3-f8h4": ("data2/GHSA-h3qp-7fh3-f8h4.pkl", "MT-PKL-004"),
    "GHSA-j343-8v2j-ff7w": ("data2/GHSA-j343-8v2j-ff7w.pkl", "MT-PKL-001"),
    "GHSA-jgw4-cr84-mqxg": ("data2/GHSA-jgw4-cr84-mqxg.bin", "MT-PKL-002"),
    "GHSA-jhph-76pp-mggw": ("data2/GHSA-jhph-76pp-mggw.pkl", "MT-PKL-002"),
    "GHSA-m273-6v24-x4m4": ("data2/GHSA-m273-6v24-x4m4.pkl", "MT-PKL-006"),
    "GHSA-m869-42cg-3xwr": ("data2/GHSA-m869-42cg-3xwr.pkl", "MT-PKL-001"),
    "GHSA-p9w7-82w4-7q8m": ("data2/GHSA-p9w7-82w4-7q8m.pkl", "MT-PKL-001"),
    "GHSA-q77w-mwjj-7mqx": ("data2/GHSA-q77w-mwjj-7mqx.pkl", "MT-PKL-002"),
    "GHSA-r8g5-cgf2-4m4m": ("data2/GHSA-r8g5-cgf2-4m4m.pkl", "MT-PKL-001"),
    "GHSA-vqmv-47xg-9wpr": ("data2/GHSA-vqmv-47xg-9wpr.pkl", "MT-PKL-002"),
    "GHSA-vr7h-p6mm-wpmh": ("data2/GHSA-vr7h-p6mm-wpmh.pkl", "MT-PKL-001"),
    "GHSA-vv6j-3g6g-2pvj": ("data2/GHSA-vv6j-3g6g-2pvj.pkl", "MT-PKL-004"),
    "GHSA-vvpj-8cmc-gx39": ("data2/GHSA-vvpj-8cmc-gx39.pkl", "MT-PKL-003"),
    "GHSA-x696-vm39-cp64": ("data2/GHSA-x696-vm39-cp64.pkl", "MT-PKL-001"),
    "GHSA-xp4f-hrf8-rxw7": ("data2/GHSA-xp4f-hrf8-rxw7.pkl", "MT-PKL-002"),
    "GHSA-97f8-7cmv-76j2 (computed legacy magic)": ("data/pytorch_magic_bypass.pt",
                                                    "MT-PKL-040"),
    "CVE-2025-10156 (zip CRC error)": ("data2/malicious1_crc.zip", "MT-ZIP-001"),
    "CVE-2025-1944 (local/central name mismatch)": ("data/malicious1_central_directory.zip",
                                                    "MT-ZIP-002"),
    "CVE-2025-1945 (flag bit 0x1)": ("data/malicious1_0x1.zip", "MT-ZIP-003"),
    "CVE-2025-1945 (flag bit 0x20)": ("data/malicious1_0x20.zip", "MT-ZIP-003"),
    "CVE-2025-1945 (flag bit 0x40)": ("data/malicious1_0x40.zip", "MT-ZIP-003"),
    "CVE-2019-6446 (numpy object array)": ("data2/object_array.npy", "MT-NPY-001"),
}


def _rules(path: Path, at_least: Severity = Severity.INFO) -> set[str]:
    report = modeltrust.scan(path)
    return {f.rule_id for f in report.findings if f.severity >= at_least}


@pytest.mark.parametrize("advisory", sorted(CORPUS_ADVISORIES))
def test_corpus_advisory(advisory: str, tmp_path: Path) -> None:
    rel, rule_id = CORPUS_ADVISORIES[advisory]
    sample = copy_sample("picklescan", rel, tmp_path)
    report = modeltrust.scan(sample)
    assert rule_id in {f.rule_id for f in report.findings}, report.findings
    if advisory.startswith("GHSA"):
        assert report.max_severity is not None and report.max_severity >= Severity.HIGH


def test_cve_2025_1716_pip_main(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b.proto(4) + b.call1(b.stack_global("pip", "main"),
                                          b"]" + b.sbu("install") + b"a") + b".")
    assert "MT-PKL-001" in _rules(path, Severity.CRITICAL)


def _torch_zip(payload: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", payload)
        zf.writestr("archive/version", "3\n")
        zf.writestr("archive/byteorder", "little")
    return buf.getvalue()


def test_cve_2025_1889_torch_zip_without_extension(tmp_path: Path) -> None:
    path = tmp_path / "weights"
    path.write_bytes(_torch_zip(b.system_call_p4()))
    report = modeltrust.scan(path)
    hits = [f for f in report.findings if f.rule_id == "MT-PKL-002"]
    assert hits and hits[0].path.endswith("weights!archive/data.pkl")
    assert {e.path: e.format for e in report.files}[str(path)] == "pytorch-zip"


def test_cve_2025_1945_flag_bits_built(tmp_path: Path) -> None:
    data = bytearray(_torch_zip(b.system_call_p4()))
    struct.pack_into("<H", data, 6, 0x0001)  # 'encrypted' bit in the first local header
    path = tmp_path / "model.pt"
    path.write_bytes(bytes(data))
    assert {"MT-ZIP-003", "MT-PKL-002"} <= _rules(path, Severity.HIGH)


def test_nullifai_broken_stream_after_payload(tmp_path: Path) -> None:
    """ReversingLabs 2025 ("nullifAI"): payload first, then a stream that fails to load."""
    path = tmp_path / "model.pkl"
    path.write_bytes(b.system_call_p4()[:-1] + b"\x00\x01\x02")
    assert {"MT-PKL-002", "MT-PKL-030"} <= _rules(path, Severity.CRITICAL)


def test_torch_utils_override_sploit(tmp_path: Path) -> None:
    sample = copy_sample("picklescan", "data/sys_module_override_sploit.pkl", tmp_path)
    assert "MT-PKL-021" in _rules(sample, Severity.CRITICAL)
