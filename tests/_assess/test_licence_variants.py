"""Licence ids and texts in forms the family fixtures do not use; card vs file conflicts."""

from __future__ import annotations

from pathlib import Path

import pytest

import modeltrust
from helpers.openness import EXCERPTS, EXPECTED_ID, write_repo
from helpers.real_models import SITE
from modeltrust._assess.licence import identify, resolve

CARD_IDS: list[tuple[tuple[str, ...], str]] = [
    (("Llama3.1",), "llama3.1"), (("llama-3.1",), "llama3.1"),
    (("other", "Llama 3.1 Community License"), "llama3.1"),
    (("other", "", "https://llama.meta.com/llama3_1/license/"), "llama3.1"),
    (("other", "", "https://www.llama.com/llama4/license/"), "llama4"),
    (("other", "Qwen"), "qwen"), (("other", "qwen-research"), "qwen-research"),
    (("tongyi-qianwen",), "tongyi-qianwen"),
    (("other", "tongyi-qianwen-license-agreement"), "tongyi-qianwen"),
    (("openrail++",), "openrail++"), (("bigcode-openrail-m",), "bigcode-openrail-m"),
    (("creativeml-openrail-m",), "creativeml-openrail-m"),
    (("gemma",), "gemma"), (("other", "", "https://ai.google.dev/gemma/terms"), "gemma"),
    (("other", "deepseek-license"), "deepseek"), (("deepseek",), "deepseek"),
    (("yi-license",), "yi"), (("other", "Yi Series Models Community License Agreement"), "yi"),
    (("other", "stabilityai-ai-community"), "stability-ai-community"),
    (("other", "", "https://stability.ai/community-license-agreement"),
     "stability-ai-community"),
    (("CC-BY-NC-4.0",), "cc-by-nc-4.0"), (("bsd-3-clause",), "bsd-3-clause"),
    (("openmdw",), "openmdw-1.0"), (("Apache License 2.0",), "apache-2.0"),
    (("Apache License, Version 2.0",), "apache-2.0"), (("MIT License",), "mit"),
]


@pytest.mark.parametrize(("args", "key"), CARD_IDS)
def test_card_id_variants(args: tuple[str, ...], key: str) -> None:
    res = resolve(*args)
    expected = {"openrail++": "LicenseRef-modeltrust-openrail-plusplus-m"}.get(key) \
        or EXPECTED_ID[key]
    assert res is not None and res.known and res.spdx == expected


def test_other_with_unknown_link_is_unknown_not_none() -> None:
    res = resolve("other", "", "https://huggingface.co/org/model/blob/main/LICENSE")
    assert res is not None and not res.known and res.spdx == "LicenseRef-other"


@pytest.mark.parametrize(("text", "key"), [
    ("# **LLAMA 3.1 COMMUNITY LICENSE AGREEMENT**\nLlama 3.1 Version Release Date: July 2024\n",
     "llama3.1"),
    ("Llama 3.2 Community\nLicense Agreement\n\nBy clicking I accept below...", "llama3.2"),
    ("## Gemma Terms of Use\n\nThe Gemma Services are provided ...", "gemma"),
    ("Qwen LICENSE AGREEMENT\n\nQwen LICENSE AGREEMENT Release Date: September 19, 2024",
     "qwen"),
    ("Tongyi Qianwen LICENSE AGREEMENT\n\nTongyi Qianwen Release Date: August 3, 2023",
     "tongyi-qianwen"),
    ("Yi Series Models License Agreement\nVersion 1.0", "yi"),
    ("*DEEPSEEK LICENSE AGREEMENT*\n", "deepseek"),
    ("STABILITY AI COMMUNITY LICENSE AGREEMENT Last Updated: July 5, 2024",
     "stability-ai-community"),
    ("BigCode Open RAIL-M v1 License Agreement\nSection I: PREAMBLE", "bigcode-openrail-m"),
    ("CreativeML Open RAIL-M\ndated August 22, 2022\nSection I: PREAMBLE",
     "creativeml-openrail-m"),
    ("Copyright (c) 2023 Stability AI CreativeML Open RAIL++-M License dated July 26, 2023",
     "openrail++"),
    ("CreativeML Open RAIL++-M License\nSection I: PREAMBLE", "openrail++"),
    ("BSD 3-Clause\nRedistribution and use in source and binary forms, with or without\n"
     "modification, are permitted ... this list of conditions and the following disclaimer.\n"
     "3. Neither the names of Foo, Bar nor the names of its contributors may be used to\n"
     "endorse or promote products derived from this software without permission.",
     "bsd-3-clause"),
])
def test_text_variants(text: str, key: str) -> None:
    lic = identify(text)
    assert lic is not None
    assert lic.key == key


def test_licence_first_then_quoted_licence() -> None:
    """A restrictive licence with an Apache notice further down is the restrictive one."""
    text = EXCERPTS["llama3.1"] + "\nThe tokenizer code is licensed under the Apache " \
        "License, Version 2.0 (the License); you may not use it except in compliance.\n"
    lic = identify(text)
    assert lic is not None and lic.key == "llama3.1"


def test_apache_file_embedding_llama_terms_is_a_mismatch(tmp_path: Path) -> None:
    text = EXCERPTS["apache-2.0"] + "\n\nModel weights:\n" + EXCERPTS["llama3.1"]
    root = write_repo(tmp_path / "m", {"license": "apache-2.0"}, files={"LICENSE": text})
    report = modeltrust.openness(root)
    hits = [f for f in report.findings if f.rule_id == "MT-LIC-003"]
    assert hits and "also holds" in hits[0].evidence and "llama-3.1" in hits[0].evidence


def test_multi_licence_card_matching_file_is_not_a_mismatch(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "m", {"license": ["apache-2.0", "mit"]},
                      files={"LICENSE": EXCERPTS["mit"]})
    report = modeltrust.openness(root)
    assert not [f for f in report.findings if f.rule_id == "MT-LIC-003"]


@pytest.mark.parametrize("key", sorted(EXPECTED_ID))
def test_licence_text_alone_without_card(tmp_path: Path, key: str) -> None:
    root = tmp_path / key
    root.mkdir()
    (root / "LICENSE.md").write_text(EXCERPTS[key])
    report = modeltrust.openness(root)
    assert report.licence.spdx == EXPECTED_ID[key]
    assert report.licence.source == "license_file"


@pytest.mark.parametrize(("pattern", "expected"), [
    ("sentence_transformers-*.dist-info/licenses/LICENSE", "Apache-2.0"),
    ("urllib3-*.dist-info/licenses/LICENSE.txt", "MIT"),
    ("torch-*.dist-info/licenses/LICENSE", "BSD-3-Clause"),
    ("jinja2-*.dist-info/licenses/LICENSE.txt", "BSD-3-Clause"),
])
def test_real_texts_from_dependencies(pattern: str, expected: str) -> None:
    full = next(iter(sorted(SITE.glob(pattern))), None)
    if full is None:
        pytest.skip("dependency not installed")
    lic = identify(full.read_text(errors="replace"))
    assert lic is not None and lic.id == expected


@pytest.mark.parametrize("meta", [
    {"license": "definitely-not-a-licence", "license_name": "x" * 5000},
    {"license": ["mit", {"nested": "map"}, None, 3]},
    {"license": "other", "license_link": "https://" + "a" * 10_000},
    {"license": "(MIT OR"},
    {"license": "\x00\x01"},
])
def test_odd_licence_values_never_crash(tmp_path: Path, meta: dict[str, object]) -> None:
    report = modeltrust.openness(write_repo(tmp_path / "m", meta))
    assert report.licence.status in ("identified", "unknown", "none")
