"""Every labelled sample of the public corpora gets the verdict its label demands.

malicious => at least one high or critical finding; benign => none; malformed => a finding
(not a crash); edge => a complete report. Samples are copied to a temporary folder first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import modeltrust
from helpers.corpora import copy_sample, labels
from modeltrust import Severity

PICKLESCAN = labels("picklescan")
MODELAUDIT = labels("modelaudit")
# Byte-identical to samples/jinja2/malicious_cve_2024_34359.json (the CVE-2024-34359 payload)
# yet labelled benign upstream: held to the verdict its content demands.
MODELAUDIT.update({k: "malicious" for k in ["samples/jinja2/tokenizer_config.json"]
                   if k in MODELAUDIT})


def _check(corpus: str, rel: str, label: str, tmp_path: Path) -> None:
    sample = copy_sample(corpus, rel, tmp_path)
    report = modeltrust.scan(sample)
    worst = report.max_severity
    shown = "\n".join(f"{f.severity.value} {f.rule_id} {f.path}: {f.evidence}"
                      for f in report.findings)
    assert report.files, "every sample must be listed"
    if label == "malicious":
        assert worst is not None and worst >= Severity.HIGH, shown or "no findings"
    elif label == "benign":
        assert worst is None or worst < Severity.HIGH, shown
    elif label == "malformed":
        assert report.findings, "a malformed file must produce a finding"


@pytest.mark.parametrize(("rel", "label"), sorted(PICKLESCAN.items()), ids=sorted(PICKLESCAN))
def test_picklescan_corpus(rel: str, label: str, tmp_path: Path) -> None:
    _check("picklescan", rel, label, tmp_path)


@pytest.mark.parametrize(("rel", "label"), sorted(MODELAUDIT.items()), ids=sorted(MODELAUDIT))
def test_modelaudit_corpus(rel: str, label: str, tmp_path: Path) -> None:
    _check("modelaudit", rel, label, tmp_path)
