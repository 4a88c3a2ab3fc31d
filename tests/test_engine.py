"""The engine: one member that breaks format detection does not end the archive's scan."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

import modeltrust
from helpers.pickles import system_call_p4
from modeltrust import _engine
from modeltrust._inventory import sniff as sniff_mod


def test_detection_crash_on_one_member_is_a_finding(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a_poison.bin", b"POISON")
        zf.writestr("b_payload.pkl", system_call_p4())
    (tmp_path / "m.zip").write_bytes(buf.getvalue())
    real = sniff_mod.sniff

    def flaky(data: object, ext: str) -> object:
        if bytes(data[:6]) == b"POISON":  # type: ignore[index]
            raise RecursionError("maximum recursion depth exceeded")
        return real(data, ext)  # type: ignore[arg-type]

    monkeypatch.setattr(_engine, "sniff", flaky)
    report = modeltrust.scan(tmp_path / "m.zip")
    by_rule = {f.rule_id: f for f in report.findings}
    assert "format detection raised RecursionError" in by_rule["MT-GEN-001"].evidence
    assert by_rule["MT-GEN-001"].path.endswith("a_poison.bin")
    assert "MT-PKL-002" in by_rule  # the next member was still analysed
    [poison] = [e for e in report.files if e.path.endswith("a_poison.bin")]
    assert poison.coverage.value == "not_analysed"
