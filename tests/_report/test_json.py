"""JSON report: deterministic bytes, documented shape (docs/report-schema.json)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import modeltrust
from modeltrust._report import json as json_report
from modeltrust._report.model import Coverage, FileEntry, Report
from modeltrust.findings import Finding, Location, Severity

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "report-schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def sample_report(fail_on: Severity = Severity.HIGH) -> Report:
    findings = [
        Finding("MT-PKL-001", Severity.CRITICAL, "Pickle calls os.system", "model/evil.pkl",
                "os.system('echo pwned')", Location(offset=0x3F)),
        Finding("MT-PKL-002", Severity.MEDIUM, "Unreviewed callable", "model/evil.pkl",
                "foo.bar", Location(offset=0x10, detail="STACK_GLOBAL")),
        Finding("MT-ARC-001", Severity.HIGH, "Archive member pickle", "model/w.zip!inner/data.pkl",
                "builtins.eval", Location(member="inner/data.pkl", offset=4)),
        Finding("MT-SRC-001", Severity.MEDIUM, "Symbolic link points outside the scanned folder",
                "model/link", "link to /etc/passwd"),
        Finding("MT-TPL-001", Severity.LOW, "Chat template", "model/tokenizer_config.json",
                "{{ cycler }}", Location(line=3, tensor=None)),
        Finding("MT-INF-001", Severity.INFO, "Note", "model/config.json", ""),
    ]
    files = [
        FileEntry("model/evil.pkl", 120, "pickle", Coverage.ANALYSED, detail="pickle protocol 4",
                  sha256="a" * 64),
        FileEntry("model/w.zip", 4096, "zip", Coverage.ANALYSED),
        FileEntry("model/w.zip!inner/data.pkl", 64, "pickle", Coverage.ANALYSED),
        FileEntry("model/big.bin", 10**10, "unknown", Coverage.NOT_ANALYSED,
                  "larger than --max-file-size"),
        FileEntry("model/half.pt", 500, "torch-zip", Coverage.PARTIAL, "opcode limit reached"),
        FileEntry("model/link", 0, "symlink", Coverage.NOT_ANALYSED, "link leaves the folder"),
        FileEntry("model/config.json", 10, "json", Coverage.NOT_ANALYSED, "no scanner for json"),
        FileEntry("model/tokenizer_config.json", 10, "json", Coverage.ANALYSED),
    ]
    return Report.build(["model"], files, findings, fail_on)


def test_render_is_deterministic_sorted_and_newline_terminated() -> None:
    a = json_report.render(sample_report())
    b = json_report.render(sample_report())
    assert a == b
    assert a.endswith("}\n") and not a.endswith("\n\n")
    doc = json.loads(a)
    assert json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n" == a
    assert "time" not in a.lower()


def test_required_fields_and_values() -> None:
    doc = json.loads(json_report.render(sample_report()))
    assert doc["schema_version"] == "1.0"
    assert doc["tool"] == {"name": "modeltrust", "version": modeltrust.__version__}
    assert doc["targets"] == ["model"]
    assert doc["verdict"] == "unsafe"
    assert doc["failed"] is True
    assert doc["fail_on"] == "high"
    summary = doc["summary"]
    assert summary["counts"] == {"critical": 1, "high": 1, "medium": 2, "low": 1, "info": 1}
    assert summary["coverage"] == {"analysed": 4, "partial": 1, "not_analysed": 3}
    assert summary["max_severity"] == "critical"
    assert summary["files"] == 8 and summary["findings"] == 6
    assert summary["formats"]["json"] == 2


def test_findings_carry_only_set_location_keys() -> None:
    doc = json.loads(json_report.render(sample_report()))
    by_rule = {f["rule_id"]: f for f in doc["findings"]}
    assert by_rule["MT-PKL-001"]["location"] == {"offset": 63}
    assert by_rule["MT-ARC-001"]["location"] == {"member": "inner/data.pkl", "offset": 4}
    assert by_rule["MT-SRC-001"]["location"] == {}
    assert by_rule["MT-TPL-001"]["location"] == {"line": 3}
    assert set(by_rule["MT-PKL-001"]) == {
        "rule_id", "severity", "title", "path", "location", "evidence",
    }


def test_files_have_reason_when_not_analysed() -> None:
    doc = json.loads(json_report.render(sample_report()))
    for entry in doc["files"]:
        if entry["coverage"] != "analysed":
            assert entry["reason"]
    evil = next(e for e in doc["files"] if e["path"] == "model/evil.pkl")
    assert evil["sha256"] == "a" * 64
    assert [e["path"] for e in doc["files"]] == sorted(e["path"] for e in doc["files"])


def test_sample_and_empty_reports_validate(validator: jsonschema.Draft202012Validator) -> None:
    validator.validate(json.loads(json_report.render(sample_report())))
    empty = Report.build(["x"], [], [])
    doc = json.loads(json_report.render(empty))
    validator.validate(doc)
    assert doc["verdict"] == "pass" and doc["summary"]["max_severity"] is None


def test_real_scan_validates(tmp_path: Path, validator: jsonschema.Draft202012Validator) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text('{"a": 1}')
    (folder / "empty.bin").write_bytes(b"")
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (folder / "link").symlink_to(outside)
    report = modeltrust.scan(folder, digests=True)
    doc = json.loads(json_report.render(report))
    validator.validate(doc)
    assert any(f["rule_id"] == "MT-SRC-001" for f in doc["findings"])


def test_schema_rejects_partial_file_without_reason(
    validator: jsonschema.Draft202012Validator,
) -> None:
    doc = json.loads(json_report.render(sample_report()))
    doc["files"][0] = {"path": "p", "size": 1, "format": "pickle", "coverage": "partial"}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(doc)


def test_undecodable_file_names_become_valid_utf8() -> None:
    name = b"model/caf\xe9.pkl".decode("utf-8", "surrogateescape")
    report = Report.build(
        ["model"],
        [FileEntry(name, 1, "pickle", Coverage.ANALYSED)],
        [Finding("MT-PKL-001", Severity.HIGH, "t", name, "ev\ud800")],
    )
    text = json_report.render(report)
    text.encode("utf-8")  # must not raise
    assert "caf\\\\xe9.pkl" in text


def test_prose_reflows_paragraphs_and_keeps_lists() -> None:
    text = """First line
        continues.

        - one
        - two
    """
    assert json_report.prose(text) == "First line continues.\n\n- one\n- two"
