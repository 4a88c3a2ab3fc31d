"""Card metadata the hub would not read: wrongly typed values, unclosed front matter;
ModelScope's task and framework keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import modeltrust
from helpers.openness import EXCERPTS, write_repo
from modeltrust._assess.cardtypes import KEY_TYPES, check_types


def _ids(report: object) -> set[str]:
    return {f.rule_id for f in report.findings}  # type: ignore[attr-defined]


def _evidence(report: object, rule: str) -> str:
    return " | ".join(f.evidence for f in report.findings  # type: ignore[attr-defined]
                      if f.rule_id == rule)


def _card(root: Path, front: str, body: str = "# Model\n",
          files: dict[str, str | bytes] | None = None) -> Path:
    root.mkdir(parents=True)
    (root / "README.md").write_text(front + body)
    for rel, content in (files or {}).items():
        if isinstance(content, bytes):
            (root / rel).write_bytes(content)
        else:
            (root / rel).write_text(content)
    return root


WEIRD = """---
license: 42
license_name: {a: 1}
base_model: 17
base_model_relation: [finetune]
datasets: {train: 5}
language: en
tags: single
model_name: 123
date: 2024-05-01
release_date: 2024-05-01T10:00:00
model-index: "nope"
extra_gated_fields: [1, 2]
extra_gated_prompt: 99
pipeline_tag: [a]
library_name: {x: y}
gated: maybe
---
"""


def test_wrongly_typed_values_are_findings_not_silence(tmp_path: Path) -> None:
    """Regression (fx/h-types-weird): `license: 42` was "no license" (MT-LIC-001)."""
    report = modeltrust.openness(_card(tmp_path / "m", WEIRD))
    assert "MT-LIC-001" not in _ids(report) and "MT-LIC-002" not in _ids(report)
    assert (report.licence.status, report.licence.spdx, report.licence.source,
            report.licence.declared) == ("unknown", None, "card", "42")
    ev = _evidence(report, "MT-CARD-002")
    for part in ("license: integer 42", "license_name: mapping", "base_model: integer 17",
                 "base_model_relation: list ['finetune']", "datasets.train: integer 5",
                 "model_name: integer 123", "model-index: string 'nope'",
                 "extra_gated_fields: list [1, 2]", "extra_gated_prompt: integer 99",
                 "pipeline_tag: list ['a']", "library_name: mapping"):
        assert part in ev, part
    for fine in ("language", "tags", "date", "release_date", "gated"):
        assert f"{fine}:" not in ev
    assert report.lineage.base_models == () and report.lineage.relation is None
    assert report.card.pipeline_tag is None and report.card.library_name is None
    assert report.lineage.model_name != "123"
    assert "license" in report.card.metadata_keys  # present, though unusable


@pytest.mark.parametrize(("front", "status", "spdx"), [
    ("license: [mit, 42]\n", "unknown", None),  # part of the declaration is unreadable
    ("license: other\nlicense_name: [qwen]\n", "unknown", None),
    ("license: mit\nlicense_name: {a: 1}\n", "identified", "MIT"),  # name not needed
    ("license: true\n", "unknown", None),
])
def test_malformed_licence_keys(tmp_path: Path, front: str, status: str,
                                spdx: str | None) -> None:
    report = modeltrust.openness(_card(tmp_path / "m", f"---\n{front}---\n"))
    assert (report.licence.status, report.licence.spdx) == (status, spdx)
    assert "MT-CARD-002" in _ids(report) and "MT-LIC-001" not in _ids(report)


def test_malformed_licence_falls_back_to_the_licence_text(tmp_path: Path) -> None:
    root = _card(tmp_path / "m", "---\nlicense: 42\n---\n", files={"LICENSE": EXCERPTS["mit"]})
    report = modeltrust.openness(root)
    assert (report.licence.spdx, report.licence.source) == ("MIT", "license_file")


def test_partly_wrong_lists_keep_their_strings(tmp_path: Path) -> None:
    front = "---\nlicense: mit\nbase_model: [org/base, 17]\ndatasets: [org/data, {a: 1}]\n---\n"
    report = modeltrust.openness(_card(tmp_path / "m", front))
    assert [b.id for b in report.lineage.base_models] == ["org/base"]
    assert [d.id for d in report.data.datasets] == ["org/data"]
    ev = _evidence(report, "MT-CARD-002")
    assert "base_model[1]: integer 17" in ev and "datasets[1]: mapping" in ev


def test_norwegian_language_code_is_not_malformed(tmp_path: Path) -> None:
    """PyYAML (YAML 1.1) reads the language code `no` as false."""
    front = "---\nlicense: mit\nlanguage: [en, no]\n---\n"
    report = modeltrust.openness(_card(tmp_path / "m", front))
    assert report.card.languages == ("en", "no")
    assert "MT-CARD-002" not in _ids(report)


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3), max_leaves=8)


@given(st.dictionaries(st.sampled_from(sorted(KEY_TYPES) + ["other"]), _VALUES, max_size=8))
def test_check_types_splits_every_value(meta: dict[str, Any]) -> None:
    clean, malformed, problems = check_types(meta)
    assert set(clean) | set(malformed) == set(meta)
    assert bool(malformed) == bool(problems)
    for key in ("license", "license_name", "base_model_relation", "pipeline_tag"):
        value = clean.get(key)
        assert value is None or isinstance(value, str | list)


def test_unclosed_front_matter_is_no_metadata(tmp_path: Path) -> None:
    """Regression (fx/h-no-closing): an unclosed `---` block was read as `license: mit`."""
    report = modeltrust.openness(_card(tmp_path / "m", "---\nlicense: mit\n", "# x\n"))
    assert report.licence.status == "none" and report.card.metadata_keys == ()
    assert "never closed" in _evidence(report, "MT-CARD-002")
    assert "MT-LIC-001" in _ids(report)


def test_closed_front_matter_variants_still_read(tmp_path: Path) -> None:
    for i, text in enumerate(("---\nlicense: mit\n---\n# x\n",
                              "\ufeff---\r\nlicense: mit\r\n---\r\n",
                              "---\nlicense: mit\n...\n# x\n")):
        report = modeltrust.openness(_card(tmp_path / str(i), text, ""))
        assert report.licence.spdx == "MIT", text
        assert "MT-CARD-002" not in _ids(report)


def test_modelscope_tasks_and_frameworks(tmp_path: Path) -> None:
    """Regression (fx/ms-model, fx/m-modelscope-only): task and framework were not mapped."""
    front = ("---\nlicense: Apache License 2.0\ntasks:\n  - text-generation\n"
             "frameworks: [PyTorch]\n---\n")
    report = modeltrust.openness(_card(tmp_path / "ms", front, files={
        "configuration.json": '{"framework": "tensorflow", "task": "chat"}'}))
    assert (report.card.pipeline_tag, report.card.library_name) == ("text-generation", "pytorch")
    only = tmp_path / "only"
    only.mkdir()
    (only / "configuration.json").write_text(
        '{"framework": "pytorch", "task": "auto-speech-recognition", "model": {"type": "x"}}')
    report = modeltrust.openness(only)
    assert report.card.modelscope
    assert (report.card.pipeline_tag, report.card.library_name) == (
        "automatic-speech-recognition", "pytorch")


def test_hf_keys_win_over_modelscope_keys_and_bad_types_are_ignored(tmp_path: Path) -> None:
    front = ("---\nlicense: mit\npipeline_tag: fill-mask\nlibrary_name: transformers\n"
             "tasks: [text-generation]\nframeworks: [PyTorch]\n---\n")
    report = modeltrust.openness(_card(tmp_path / "hf", front))
    assert (report.card.pipeline_tag, report.card.library_name) == ("fill-mask", "transformers")
    root = tmp_path / "bad"
    root.mkdir()
    (root / "configuration.json").write_text('{"framework": ["pytorch"], "task": 5}')
    report = modeltrust.openness(root)
    assert (report.card.pipeline_tag, report.card.library_name) == (None, None)


def test_modelscope_framework_is_not_a_model_library(tmp_path: Path) -> None:
    """`frameworks: [PyTorch]` names the tensor framework: no MOF library component."""
    front = "---\nlicense: apache-2.0\nframeworks: [PyTorch]\n---\n"
    report = modeltrust.openness(write_repo(tmp_path / "m", None, front))
    arch = next(c for c in report.mof.components if c.name == "Model architecture")
    assert arch.presence == "absent"
