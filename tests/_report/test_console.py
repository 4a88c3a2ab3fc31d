"""Console report: summary first, findings per file, coverage gaps; plain when not a TTY."""

from __future__ import annotations

import io

from rich.console import Console

from modeltrust._report import console
from modeltrust._report.model import Coverage, FileEntry, Report
from modeltrust.findings import Finding, Location, Severity


def sample_report(n_json: int = 2) -> Report:
    findings = [
        Finding("MT-PKL-001", Severity.CRITICAL, "Pickle calls os.system", "m/z_evil.pkl",
                "os.system('id')", Location(offset=0x3F)),
        Finding("MT-PKL-002", Severity.MEDIUM, "Unreviewed callable", "m/z_evil.pkl", "foo.bar",
                Location(offset=2)),
        Finding("MT-SRC-001", Severity.MEDIUM, "Symbolic link outside", "m/a_link",
                "link to /etc/passwd"),
    ]
    files = [
        FileEntry("m/z_evil.pkl", 2048, "pickle", Coverage.ANALYSED, sha256="b" * 64),
        FileEntry("m/a_link", 0, "symlink", Coverage.NOT_ANALYSED, "link leaves the folder"),
        FileEntry("m/half.pt", 10, "torch-zip", Coverage.PARTIAL, "opcode limit"),
    ]
    files += [
        FileEntry(f"m/c{i}.json", 5, "json", Coverage.NOT_ANALYSED, "no scanner for json")
        for i in range(n_json)
    ]
    return Report.build(["m"], files, findings)


def test_plain_render_has_summary_first_and_no_escape_codes() -> None:
    text = console.render(sample_report())
    assert "\x1b" not in text
    lines = text.splitlines()
    assert lines[0] == "modeltrust 0.1.0: scanned m" or lines[0].startswith("modeltrust ")
    assert lines[1].startswith("Verdict: UNSAFE")
    assert "(--fail-on high: failed)" in lines[1]
    assert lines[2] == "Findings: 3  (1 critical, 0 high, 2 medium, 0 low, 0 info)"
    assert lines[3] == "Files: 5  (json 2, pickle 1, symlink 1, torch-zip 1)"
    assert lines[4] == "Coverage: 1 analysed, 1 partial, 3 not analysed"


def test_findings_grouped_per_file_most_severe_first() -> None:
    text = console.render(sample_report())
    # z_evil.pkl sorts after a_link by name but holds the critical finding: it comes first.
    assert text.index("m/z_evil.pkl  (2 findings, worst: critical)") < text.index("m/a_link  (")
    block = text[text.index("m/z_evil.pkl  ("):]
    assert block.index("CRITICAL  MT-PKL-001  Pickle calls os.system") < block.index("MT-PKL-002")
    assert "location: offset 0x3f" in block
    assert "evidence: os.system('id')" in block


def test_coverage_gaps_are_listed_with_reasons() -> None:
    text = console.render(sample_report())
    assert "Not fully analysed (4 of 5 files)" in text
    assert "not analysed: link leaves the folder (1): m/a_link" in text
    assert "partial: opcode limit (1): m/half.pt" in text
    assert "no scanner for json (2): m/c0.json, m/c1.json" in text


def test_compact_list_says_how_many_more() -> None:
    text = console.render(sample_report(n_json=9))
    assert "no scanner for json (9): m/c0.json" in text
    assert "+4 more (--verbose lists all)" in text
    assert "m/c8.json" not in text


def test_verbose_lists_every_file_with_coverage_and_digest() -> None:
    text = console.render(sample_report(n_json=9), verbose=True)
    assert "Files (12)" in text
    for i in range(9):
        assert f"m/c{i}.json" in text
    assert "sha256 " + "b" * 64 in text
    assert "2.0 KiB" in text


def test_quiet_is_summary_lines_only() -> None:
    text = console.render(sample_report(), quiet=True)
    assert text.splitlines() == [
        "Verdict: UNSAFE  (--fail-on high: failed)",
        "Findings: 3  (1 critical, 0 high, 2 medium, 0 low, 0 info)",
    ]


def test_clean_report() -> None:
    report = Report.build(["ok"], [FileEntry("ok/a.bin", 1, "pickle", Coverage.ANALYSED)], [])
    text = console.render(report)
    assert "Verdict: PASS  (--fail-on high: passed)" in text
    assert "No findings." in text
    assert "Not fully analysed" not in text


def test_deterministic() -> None:
    assert console.render(sample_report()) == console.render(sample_report())


def test_hostile_strings_are_shown_literally() -> None:
    evil = "\x1b[2J\x1b]0;pwned\x07[bold red]x[/] \u202egnp.exe"
    report = Report.build(
        ["m"],
        [FileEntry("m/x", 1, "pickle", Coverage.ANALYSED)],
        [Finding("MT-PKL-001", Severity.HIGH, "t", "m/x", evil)],
    )
    text = console.render(report)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b[2J" in text and "[bold red]x[/]" in text and "\\u202e" in text


def test_terminal_output_is_coloured() -> None:
    buf = io.StringIO()
    term = Console(file=buf, force_terminal=True, color_system="standard", width=100)
    console.print_report(sample_report(), term)
    assert "\x1b[" in buf.getvalue()


def test_human_size() -> None:
    assert console.human_size(0) == "0 B"
    assert console.human_size(1023) == "1023 B"
    assert console.human_size(1536) == "1.5 KiB"
    assert console.human_size(10 * 1024**3) == "10.0 GiB"
