"""The ``modeltrust`` command: options, exit codes 0/1/2, outputs, rules and audit."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result
from rich.console import Console

import modeltrust
from modeltrust import rules as rule_registry
from modeltrust._cli import output
from modeltrust._cli.main import cli
from modeltrust._cli.options import parse_size
from modeltrust._report.model import Coverage, FileEntry, Report
from modeltrust.findings import Finding, Severity

ROOT = Path(__file__).resolve().parents[2]
REPORT_SCHEMA = json.loads((ROOT / "docs" / "report-schema.json").read_text(encoding="utf-8"))
SARIF_SCHEMA = json.loads(
    (ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def clean_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "clean"
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 8}')
    (folder / "README.md").write_text("# model\n")
    return folder


@pytest.fixture
def link_dir(tmp_path: Path) -> Path:
    """A folder whose symlink points into a hub cache blob outside it: a real MT-SRC-001
    finding, medium for that target (a link anywhere else is high)."""
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    blobs = tmp_path / "models--org--name" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / ("5e" * 20)).write_text("s")
    (folder / "escape").symlink_to(blobs / ("5e" * 20))
    return folder


class FakeScan:
    """Stands in for ``modeltrust.scan``: one finding per severity up to ``worst``."""

    def __init__(self) -> None:
        self.worst = Severity.CRITICAL
        self.calls: list[dict[str, Any]] = []

    def __call__(self, paths: list[str], **kwargs: Any) -> Report:
        self.calls.append({"paths": paths, **kwargs})
        findings = [
            Finding(f"MT-TST-00{i}", sev, f"{sev.value} thing", "m/x.pkl", "ev")
            for i, sev in enumerate(Severity)
            if sev <= self.worst
        ]
        files = [FileEntry("m/x.pkl", 1, "pickle", Coverage.ANALYSED)]
        return Report.build(paths, files, findings, kwargs["fail_on"])


@pytest.fixture
def fake_scan(monkeypatch: pytest.MonkeyPatch) -> FakeScan:
    fake = FakeScan()
    monkeypatch.setattr(modeltrust, "scan", fake)
    return fake


# -- general ---------------------------------------------------------------------------


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"modeltrust {modeltrust.__version__}"


@pytest.mark.parametrize("command", [[], ["scan"], ["rules"], ["audit"]])
def test_help_explains_exit_codes_and_examples(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Exit codes:" in result.stdout
    assert "Examples:" in result.stdout


def test_scan_help_lists_options() -> None:
    text = run("scan", "--help").stdout
    for opt in ("--format", "--output", "--fail-on", "--exclude", "--max-file-size", "--jobs",
                "--quiet", "--verbose", "--digests"):
        assert opt in text


# -- exit codes ------------------------------------------------------------------------


def test_clean_folder_exits_0(clean_dir: Path) -> None:
    result = run("scan", str(clean_dir))
    assert result.exit_code == 0, result.output
    assert "Verdict: PASS" in result.stdout


def test_real_finding_below_threshold_exits_0_and_at_threshold_1(link_dir: Path) -> None:
    below = run("scan", str(link_dir))
    assert below.exit_code == 0
    assert "MT-SRC-001" in below.stdout
    at = run("scan", str(link_dir), "--fail-on", "medium")
    assert at.exit_code == 1
    assert "--fail-on medium: failed" in at.stdout


@pytest.mark.parametrize(
    ("fail_on", "worst", "code"),
    [
        ("critical", Severity.HIGH, 0),
        ("critical", Severity.CRITICAL, 1),
        ("high", Severity.MEDIUM, 0),
        ("high", Severity.HIGH, 1),
        ("medium", Severity.LOW, 0),
        ("medium", Severity.MEDIUM, 1),
        ("low", Severity.INFO, 0),
        ("LOW", Severity.LOW, 1),
        ("info", Severity.INFO, 1),
    ],
)
def test_fail_on_thresholds(fake_scan: FakeScan, fail_on: str, worst: Severity, code: int) -> None:
    fake_scan.worst = worst
    result = run("scan", "m", "--fail-on", fail_on, "--format", "json")
    assert result.exit_code == code
    assert json.loads(result.stdout)["failed"] is bool(code)


def test_options_reach_the_library(fake_scan: FakeScan) -> None:
    result = run("scan", "a", "b", "--exclude", "*.md", "--exclude", "x/*",
                 "--max-file-size", "500M", "--jobs", "3", "--digests", "-q")
    assert result.exit_code == 1
    call = fake_scan.calls[0]
    assert call["paths"] == ["a", "b"]
    assert call["exclude"] == ["*.md", "x/*"]
    assert call["max_file_size"] == 500 * 1024**2
    assert call["jobs"] == 3
    assert call["digests"] is True
    assert call["fail_on"] is Severity.HIGH
    assert call["progress"] is None  # not a terminal


def test_missing_path_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run("scan", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("modeltrust: error: cannot read ")
    assert "Traceback" not in result.stderr


def test_verbose_error_shows_traceback(tmp_path: Path) -> None:
    result = run("scan", "-v", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("modeltrust: error: ")


@pytest.mark.parametrize(
    "args",
    [
        ["scan"],
        ["scan", ".", "--fail-on", "severe"],
        ["scan", ".", "--max-file-size", "lots"],
        ["scan", ".", "--max-file-size", "-1"],
        ["scan", ".", "--jobs", "0"],
        ["scan", ".", "--format", "xml"],
        ["scan", ".", "-q", "-v"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert run(*args).exit_code == 2


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 0), ("1234", 1234), ("500M", 500 * 1024**2), ("10GB", 10 * 1000**3),
        ("1GiB", 1024**3), ("1.5k", 1536), ("2 kb", 2000), ("3T", 3 * 1024**4), ("7b", 7),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "-1", "1.2.3", "10 parsecs", "1e9"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


# -- outputs ---------------------------------------------------------------------------


def test_exclude_and_max_file_size_work_end_to_end(link_dir: Path) -> None:
    excluded = run("scan", str(link_dir), "--exclude", "escape", "--fail-on", "medium")
    assert excluded.exit_code == 0
    (link_dir / "big.bin").write_bytes(b"\0" * 4096)
    small = run("scan", str(link_dir), "--max-file-size", "1K", "--format", "json")
    entry = next(f for f in json.loads(small.stdout)["files"] if f["path"].endswith("big.bin"))
    assert entry["coverage"] == "not_analysed"


def test_json_to_stdout_validates_and_has_digests(link_dir: Path) -> None:
    result = run("scan", str(link_dir), "--format", "json", "--digests")
    doc = json.loads(result.stdout)
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(doc)
    assert all("sha256" in f for f in doc["files"] if f["format"] != "symlink")


def test_output_file_sarif_validates(link_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "scan.sarif"
    result = run("scan", str(link_dir), "--format", "sarif", "-o", str(out))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "wrote sarif report to" in result.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(SARIF_SCHEMA)
    cls(SARIF_SCHEMA).validate(doc)
    assert doc["runs"][0]["results"][0]["ruleId"] == "MT-SRC-001"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_output_console_file_is_plain_and_quiet_says_nothing(
    link_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.txt"
    result = run("scan", str(link_dir), "-o", str(out), "-q")
    assert result.stdout == "" and result.stderr == ""
    text = out.read_text(encoding="utf-8")
    assert "\x1b" not in text
    assert text.startswith("Verdict: SUSPICIOUS")


def test_output_replaces_existing_file(link_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    out.write_text("old")
    run("scan", str(link_dir), "--format", "json", "-o", str(out))
    assert json.loads(out.read_text())["verdict"] == "suspicious"


def test_output_dash_means_stdout(link_dir: Path) -> None:
    result = run("scan", str(link_dir), "--format", "json", "-o", "-")
    assert json.loads(result.stdout)["verdict"] == "suspicious"


def test_unwritable_output_exits_2(link_dir: Path, tmp_path: Path) -> None:
    result = run("scan", str(link_dir), "-o", str(tmp_path / "no" / "such" / "dir.json"))
    assert result.exit_code == 2
    assert result.stderr.startswith("modeltrust: error: cannot write the report to ")


@pytest.mark.parametrize("fmt", ["console", "json", "sarif"])
def test_two_runs_give_identical_bytes(link_dir: Path, tmp_path: Path, fmt: str) -> None:
    a, b = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    run("scan", str(link_dir), "--format", fmt, "-o", str(a))
    run("scan", str(link_dir), "--format", fmt, "-o", str(b))
    assert a.read_bytes() == b.read_bytes()
    assert run("scan", str(link_dir), "--format", fmt).stdout == run(
        "scan", str(link_dir), "--format", fmt
    ).stdout


def test_verbose_lists_all_files(clean_dir: Path) -> None:
    result = run("scan", str(clean_dir), "-v")
    assert "Files (2)" in result.stdout
    assert "README.md" in result.stdout and "config.json" in result.stdout


def test_progress_bar_only_when_enabled() -> None:
    with output.scan_progress(False) as callback:
        assert callback is None
    buf = io.StringIO()
    term = Console(file=buf, force_terminal=True, width=100)
    with output.scan_progress(True, console=term, delay=0) as callback:
        assert callback is not None
        callback(1, 2, "a/b.pkl")
        callback(2, 2, "a/" + "x" * 100)
    assert "scanning" in buf.getvalue()
    quick = io.StringIO()
    with output.scan_progress(True, console=Console(file=quick, force_terminal=True)) as cb:
        assert cb is not None
        cb(1, 1, "fast.pkl")
    assert quick.getvalue() == ""  # finished before the delay: no bar at all
    assert output.progress_wanted(quiet=True) is False


# -- rules -----------------------------------------------------------------------------


def test_rules_lists_every_rule_sorted() -> None:
    result = run("rules")
    assert result.exit_code == 0
    ids = [line.split()[0] for line in result.stdout.splitlines()[1:] if line.strip()]
    assert ids == sorted(ids)
    assert "MT-SRC-001" in ids
    assert {r.id for r in rule_registry.all_rules()} == set(ids)
    assert "CWE-59" in result.stdout


def test_rules_explain_one() -> None:
    result = run("rules", "mt-src-001")
    assert result.exit_code == 0
    text = result.stdout
    assert text.startswith("MT-SRC-001  Symbolic link points outside the scanned folder")
    assert "Severity: high" in text
    assert "CWE: CWE-59" in text
    assert "What it detects and why it matters" in text
    assert "How to fix" in text and "Replace the link with the real file" in text


def test_rules_unknown_id_suggests_close_ids() -> None:
    result = run("rules", "MT-SRC-01")
    assert result.exit_code == 2
    assert result.stderr.startswith("modeltrust: error: unknown rule 'MT-SRC-01'; did you mean ")
    assert "MT-SRC-001" in result.stderr
    far = run("rules", "zzz")
    assert far.exit_code == 2 and "modeltrust rules" in far.stderr


def test_rules_json() -> None:
    doc = json.loads(run("rules", "--format", "json").stdout)
    ids = [r["id"] for r in doc["rules"]]
    assert ids == sorted(ids) and "MT-SRC-001" in ids
    one = json.loads(run("rules", "MT-SRC-001", "--format", "json").stdout)
    assert one["cwe"] == "CWE-59" and one["severity"] == "high"


# -- audit -----------------------------------------------------------------------------


def test_audit_report_card(link_dir: Path) -> None:
    result = run("audit", str(link_dir))
    assert result.exit_code == 0
    text = result.stdout
    assert "Safety" in text and "SUSPICIOUS" in text and "MT-SRC-001" in text
    for section in ("Integrity", "Openness", "Lineage/tampering", "Inventory (BOM)"):
        assert f"{section}" in text
    assert "not yet available" not in text
    assert "no BOM written: pass --bom FILE" in text
    assert "no signature file" in text and "licence:" in text and "pass --base" in text
    assert text.index("Safety") < text.index("Integrity") < text.index("Openness")


def test_audit_honours_fail_on_and_json(link_dir: Path, tmp_path: Path) -> None:
    assert run("audit", str(link_dir), "--fail-on", "medium").exit_code == 1
    out = tmp_path / "audit.json"
    assert run("audit", str(link_dir), "--format", "json", "-o", str(out)).exit_code == 0
    doc = json.loads(out.read_text())
    assert doc["sections"]["safety"]["status"] == "suspicious"
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(doc["sections"]["safety"]["report"])
    assert doc["sections"]["openness"]["status"] == "assessed"
    assert doc["sections"]["lineage"]["status"] == "not_available"
    assert doc["sections"]["inventory"]["status"] == "not_requested"


def test_audit_missing_path_exits_2(tmp_path: Path) -> None:
    result = run("audit", str(tmp_path / "gone"))
    assert result.exit_code == 2 and result.stderr.startswith("modeltrust: error: ")


# -- as a real process -----------------------------------------------------------------


def _python_m(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-m", "modeltrust", *args],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )


def test_python_m_version() -> None:
    proc = _python_m("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"modeltrust {modeltrust.__version__}"


def test_python_m_missing_path_exits_2(tmp_path: Path) -> None:
    proc = _python_m("scan", str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("modeltrust: error: cannot read ")
    assert len(proc.stderr.splitlines()) == 1


def test_audit_names_what_fails_it_whatever_the_section(tmp_path: Path) -> None:
    """A high openness finding fails the audit: the card says so at the top, by rule id."""
    model = tmp_path / "m"
    model.mkdir()
    (model / "README.md").write_text(
        "---\nlicense: apache-2.0\nbase_model: meta-llama/Llama-3.1-8B\n---\n# m\n")
    result = run("audit", str(model))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    overall = next(i for i, line in enumerate(lines) if line.startswith("Overall"))
    assert "FAILED" in lines[overall]
    assert "MT-LIN-001" in lines[overall + 1] and "[Openness]" in lines[overall + 1]
    safety = next(line for line in lines if line.startswith("Safety"))
    assert "(--fail-on high: passed)" in safety  # the scan itself found nothing that high
    doc = json.loads(run("audit", str(model), "--format", "json").stdout)
    assert {"section": "Openness", "rule_id": "MT-LIN-001", "severity": "high",
            "path": doc["failing"][0]["path"]} in doc["failing"]
