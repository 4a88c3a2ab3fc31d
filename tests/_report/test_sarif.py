"""SARIF 2.1.0 report, validated against the official OASIS schema (vendored in tests/data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import modeltrust
from modeltrust._report import sarif
from modeltrust._report.model import Coverage, FileEntry, Report
from modeltrust._source import rules as source_rules
from modeltrust.findings import Finding, Location, Severity

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    cls = jsonschema.validators.validator_for(schema)  # draft-04, as the schema declares
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def sample_report() -> Report:
    findings = [
        Finding("MT-PKL-901", Severity.CRITICAL, "Pickle calls os.system", "m/evil.pkl",
                "os.system('id')", Location(offset=0x3F)),
        Finding("MT-PKL-902", Severity.MEDIUM, "Unreviewed callable", "m/evil.pkl", "foo.bar",
                Location(offset=2)),
        Finding("MT-PKL-901", Severity.HIGH, "Pickle calls os.system",
                "m/w.zip!inner/data.pkl", "posix.system", Location(offset=7)),
        Finding(source_rules.SYMLINK_ESCAPE.id, Severity.MEDIUM,
                source_rules.SYMLINK_ESCAPE.title, "m/link", "link to /etc/passwd"),
        Finding("MT-TPL-903", Severity.LOW, "Template", "m/my file #1.json", "x",
                Location(line=3, tensor="w.0")),
        Finding("MT-PKL-902", Severity.MEDIUM, "Unreviewed callable", "m/model.pt", "foo.baz",
                Location(member="archive/data.pkl", offset=9)),
        Finding("MT-INF-904", Severity.INFO, "Note", "/abs/path/model.bin", "n"),
    ]
    files = [
        FileEntry("m/evil.pkl", 10, "pickle", Coverage.ANALYSED),
        FileEntry("m/w.zip", 10, "zip", Coverage.ANALYSED),
        FileEntry("m/w.zip!inner/data.pkl", 10, "pickle", Coverage.ANALYSED),
        FileEntry("m/w.zip!inner/big.bin", 10, "unknown", Coverage.NOT_ANALYSED, "too big"),
        FileEntry("m/half.pt", 10, "torch-zip", Coverage.PARTIAL, "opcode limit"),
        FileEntry("m/link", 0, "symlink", Coverage.NOT_ANALYSED, "link leaves the folder"),
    ]
    return Report.build(["m"], files, findings)


def doc_of(report: Report) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(sarif.render(report))
    return result


def test_sample_validates_against_official_schema(validator: Any) -> None:
    validator.validate(doc_of(sample_report()))


def test_empty_report_validates(validator: Any) -> None:
    doc = doc_of(Report.build(["x"], [], []))
    validator.validate(doc)
    run = doc["runs"][0]
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []
    assert run["invocations"][0] == {"executionSuccessful": True}


def test_real_scan_validates(tmp_path: Path, validator: Any) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.json").write_text("{}")
    (tmp_path / "m" / "link").symlink_to(tmp_path / "outside")
    (tmp_path / "outside").write_text("x")
    doc = doc_of(modeltrust.scan(tmp_path / "m"))
    validator.validate(doc)
    assert [r["ruleId"] for r in doc["runs"][0]["results"]] == ["MT-SRC-001"]


def test_driver_and_rules() -> None:
    run = doc_of(sample_report())["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "modeltrust"
    assert driver["version"] == modeltrust.__version__
    assert driver["informationUri"].startswith("https://")
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(set(ids)) == [
        "MT-INF-904", "MT-PKL-901", "MT-PKL-902", "MT-SRC-001", "MT-TPL-903",
    ]
    src = driver["rules"][ids.index("MT-SRC-001")]
    rule = source_rules.SYMLINK_ESCAPE
    assert src["shortDescription"]["text"] == rule.title
    assert src["fullDescription"]["text"].startswith("A file in the model folder")
    assert "\n    " not in src["fullDescription"]["text"]
    assert src["help"]["text"] == rule.fix
    assert src["properties"]["security-severity"] == "8.0"
    assert "CWE-59" in src["properties"]["tags"]
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_levels_and_security_severity_mapping() -> None:
    assert {s: sarif.LEVEL[s] for s in Severity} == {
        Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
        Severity.LOW: "note", Severity.INFO: "note",
    }
    assert sarif.SECURITY_SEVERITY[Severity.CRITICAL] == "9.5"
    assert sarif.SECURITY_SEVERITY[Severity.HIGH] == "8.0"
    levels = {r["message"]["text"].split(":")[0]: r["level"]
              for r in doc_of(sample_report())["runs"][0]["results"]}
    assert levels["Pickle calls os.system"] == "error"
    assert levels["Template"] == "note"


def _result(path_uri: str, rule_id: str) -> dict[str, Any]:
    for r in doc_of(sample_report())["runs"][0]["results"]:
        phys = r["locations"][0]["physicalLocation"]
        if phys["artifactLocation"]["uri"] == path_uri and r["ruleId"] == rule_id:
            return dict(r)
    raise AssertionError(f"no result for {path_uri} {rule_id}")


def test_archive_member_points_at_outer_file() -> None:
    r = _result("m/w.zip", "MT-PKL-901")
    loc = r["locations"][0]
    assert loc["logicalLocations"][0]["fullyQualifiedName"] == "inner/data.pkl"
    # The offset counts from the member's start, not the zip's: no region on the zip.
    assert "region" not in loc["physicalLocation"]
    assert r["properties"]["location"] == {"offset": 7}
    assert "inner/data.pkl, offset 0x7" in r["message"]["text"]
    assert "posix.system" in r["message"]["text"]


def test_regions_logical_locations_and_uri_encoding() -> None:
    plain = _result("m/evil.pkl", "MT-PKL-901")
    assert plain["locations"][0]["physicalLocation"]["region"] == {"byteOffset": 63}
    assert "logicalLocations" not in plain["locations"][0]
    r = _result("m/my%20file%20%231.json", "MT-TPL-903")
    assert r["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    kinds = {ll["kind"]: ll["name"] for ll in r["locations"][0]["logicalLocations"]}
    assert kinds == {"tensor": "w.0"}
    container = _result("m/model.pt", "MT-PKL-902")
    assert "region" not in container["locations"][0]["physicalLocation"]
    assert container["locations"][0]["logicalLocations"] == [
        {"name": "archive/data.pkl", "kind": "member"}
    ]
    assert "member archive/data.pkl, offset 0x9" in container["message"]["text"]
    absolute = _result("file:///abs/path/model.bin", "MT-INF-904")
    assert "region" not in absolute["locations"][0]["physicalLocation"]


def test_fingerprints_are_stable_and_distinct() -> None:
    a = doc_of(sample_report())["runs"][0]["results"]
    b = doc_of(sample_report())["runs"][0]["results"]
    fa = [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in a]
    assert fa == [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in b]
    assert len(set(fa)) == len(fa)


def test_not_analysed_files_become_notifications() -> None:
    inv = doc_of(sample_report())["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is True
    notes = inv["toolExecutionNotifications"]
    texts = [n["message"]["text"] for n in notes]
    assert "m/half.pt: partial: opcode limit" in texts
    assert "m/link: not analysed: link leaves the folder" in texts
    member = next(n for n in notes if "big.bin" in n["message"]["text"])
    assert member["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "m/w.zip"
    assert member["level"] == "warning"


def test_split_member_keeps_real_names_with_separator() -> None:
    outers = {"a.zip", "weird!name.pkl"}
    assert sarif.split_member("a.zip!x/y.pkl", outers) == ("a.zip", "x/y.pkl")
    assert sarif.split_member("weird!name.pkl", outers) == ("weird!name.pkl", "")
    assert sarif.split_member("a.zip!b.tar!c.pkl", outers) == ("a.zip", "b.tar!c.pkl")


def test_render_is_deterministic() -> None:
    assert sarif.render(sample_report()) == sarif.render(sample_report())
    assert sarif.render(sample_report()).endswith("}\n")


def test_lone_surrogates_in_evidence_and_paths_do_not_break_sarif() -> None:
    """Evidence quotes hostile config text: a JSON "\\ud800" escape becomes a lone surrogate."""
    f = Finding("MT-CFG-007", Severity.MEDIUM, "Malformed code reference", "cfg\ud800.json",
                'auto_map.AutoModel = "\ud800mod.Cls"')
    assert len(sarif.fingerprint(f)) == 32
    assert sarif.path_uri("dir/\ud800x.json").startswith("dir/")
    assert sarif.path_uri("dir/\udcffx.json") == "dir/%FFx.json"  # a file-name byte
