"""Builders for model snapshots used by the openness tests (cards, licence excerpts).

The licence excerpts are short: a title and the characteristic clauses of each licence,
paraphrased or quoted in single sentences from the public texts. They are test inputs,
not licence texts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

EXCERPTS: dict[str, str] = {
    "apache-2.0": """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION

   1. Definitions. "License" shall mean the terms and conditions for use.
""",
    "mit": """MIT License

Copyright (c) 2024 Example

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction.

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
""",
    "bsd-2-clause": """BSD 2-Clause License

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice,
   this list of conditions and the following disclaimer.
""",
    "bsd-3-clause": """BSD 3-Clause License

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice,
   this list of conditions and the following disclaimer.

3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.
""",
    "cc-by-4.0": """Attribution 4.0 International

Creative Commons Attribution 4.0 International Public License

By exercising the Licensed Rights, You accept and agree to be bound by the terms.
""",
    "cc-by-nc-4.0": """Attribution-NonCommercial 4.0 International

Creative Commons Attribution-NonCommercial 4.0 International Public License

NonCommercial means not primarily intended for or directed towards commercial advantage
or monetary compensation.
""",
    "bigscience-openrail-m": """BigScience Open RAIL-M License

Section IV: You agree not to use the Model or Derivatives of the Model in any way that
violates any applicable national, federal, state, local or international law.

Licensor reserves the right to restrict (remotely or otherwise) usage of the Model in
violation of this License.
""",
    "creativeml-openrail-m": """CreativeML Open RAIL-M
dated August 22, 2022

You agree not to use the Model or Derivatives of the Model to exploit any of the
vulnerabilities of a specific group of persons.

Licensor reserves the right to restrict (remotely or otherwise) usage of the Model in
violation of this License.
""",
    "bigcode-openrail-m": """BigCode Open RAIL-M v1 License Agreement

You agree not to Use the Model or Modifications of the Model in any way that violates
any applicable law.  Use restrictions in Attachment A apply to all derivatives.
""",
    "llama2": """LLAMA 2 COMMUNITY LICENSE AGREEMENT
Llama 2 Version Release Date: July 18, 2023

2. Additional Commercial Terms. If, on the Llama 2 version release date, the monthly
active users of the products or services made available by or for Licensee is greater
than 700 million monthly active users in the preceding calendar month, you must request
a license from Meta.

v. You will not use the Llama Materials or any output or results of the Llama Materials
to improve any other large language model (excluding Llama 2 or derivative works thereof).

Upon termination of this Agreement, you shall delete and cease use of the Llama Materials.
""",
    "llama3": """META LLAMA 3 COMMUNITY LICENSE AGREEMENT
Meta Llama 3 Version Release Date: April 18, 2024

If you use the Llama Materials to create, train, fine tune, or otherwise improve an AI
model, which is distributed or made available, you shall also include "Llama 3" at the
beginning of any such AI model name.

You shall prominently display "Built with Meta Llama 3" on a related website.

If the monthly active users of the products or services made available by or for Licensee
is greater than 700 million monthly active users in the preceding calendar month, you must
request a license from Meta.
""",
    "llama3.1": """LLAMA 3.1 COMMUNITY LICENSE AGREEMENT
Llama 3.1 Version Release Date: July 23, 2024

You shall prominently display "Built with Llama" on a related website.
If you use the Llama Materials or any outputs or results of the Llama Materials to create,
train, fine tune, or otherwise improve an AI model, which is distributed or made available,
you shall also include "Llama" at the beginning of any such AI model name.

Your use of the Llama Materials must comply with the Acceptable Use Policy for the Llama
Materials, which is hereby incorporated by reference into this Agreement.

If the monthly active users is greater than 700 million monthly active users in the
preceding calendar month, you must request a license from Meta.

Upon termination of this Agreement, you shall delete and cease use of the Llama Materials.
""",
    "llama3.2": """LLAMA 3.2 COMMUNITY LICENSE AGREEMENT
Llama 3.2 Version Release Date: September 25, 2024

You shall prominently display "Built with Llama" on a related website.
""",
    "llama3.3": """LLAMA 3.3 COMMUNITY LICENSE AGREEMENT
Llama 3.3 Version Release Date: December 6, 2024

You shall prominently display "Built with Llama" on a related website.
""",
    "llama4": """LLAMA 4 COMMUNITY LICENSE AGREEMENT
Llama 4 Version Effective Date: April 5, 2025

You shall prominently display "Built with Llama" on a related website.
""",
    "gemma": """Gemma Terms of Use

Last modified: April 1, 2024

By using, reproducing, modifying, distributing, performing or displaying any portion or
element of Gemma, Model Derivatives, or Gemma Services, you agree to be bound by this
Agreement.

You must comply with the Gemma Prohibited Use Policy.

Google reserves the right to restrict (remotely or otherwise) usage of any of the Gemma
Services that Google reasonably believes are in violation of this Agreement.
""",
    "tongyi-qianwen": """Tongyi Qianwen LICENSE AGREEMENT

If you are commercially using the Materials, and your product or service has more than
100 million monthly active users, You shall request a license from us.

You can not use the Materials or any output therefrom to improve any other large
language model (excluding Tongyi Qianwen or derivative works thereof).
""",
    "qwen": """Qwen LICENSE AGREEMENT

Release Date: September 19, 2024

If you are commercially using the Materials, and your product or service has more than
100 million monthly active users, you shall request a license from us.

If you use the Materials or any outputs to create, train, fine-tune, or improve an AI
model that is distributed or made available, you shall prominently display "Built with
Qwen" or "Improved using Qwen" in the related product documentation.
""",
    "qwen-research": """Qwen RESEARCH LICENSE AGREEMENT

"Non-Commercial" shall mean for research or evaluation purposes only.

You are granted a license to use the Materials solely for non-commercial research.
""",
    "yi": """Yi Series Models Community License Agreement
Version: 2.1

You shall not use the Yi Series Models to engage in any activity that violates law.
""",
    "deepseek": """DEEPSEEK LICENSE AGREEMENT

Version 1.0, 23 October 2023

You agree not to use the Model or Derivatives of the Model for military use.
""",
    "stability-ai-community": """STABILITY AI COMMUNITY LICENSE AGREEMENT

Last Updated: July 5, 2024

If your annual revenue is in excess of US $1,000,000, you must obtain an Enterprise
License from Stability AI.
""",
    "openmdw-1.0": """OpenMDW License Agreement, version 1.0 (OpenMDW-1.0)

By exercising rights granted to you under this agreement, you accept and agree to its
terms. Model Materials means the materials provided with this agreement.
""",
    "llama-aup": """Llama 3.1 Acceptable Use Policy

Prohibited Uses

We want everyone to use Llama 3.1 safely and responsibly. You agree you will not use, or
allow others to use, Llama 3.1 to violate the law.
""",
}
"""Licence key -> a short excerpt holding its title and characteristic clauses."""

EXPECTED_ID: dict[str, str] = {
    "apache-2.0": "Apache-2.0",
    "mit": "MIT",
    "bsd-2-clause": "BSD-2-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "cc-by-4.0": "CC-BY-4.0",
    "cc-by-nc-4.0": "CC-BY-NC-4.0",
    "bigscience-openrail-m": "LicenseRef-scancode-bigscience-open-rail-m",
    "creativeml-openrail-m": "LicenseRef-modeltrust-creativeml-openrail-m",
    "bigcode-openrail-m": "LicenseRef-scancode-bigcode-open-rail-m-v1",
    "llama2": "LicenseRef-scancode-llama-2-license-2023",
    "llama3": "LicenseRef-modeltrust-llama-3",
    "llama3.1": "LicenseRef-scancode-llama-3.1-license-2024",
    "llama3.2": "LicenseRef-scancode-llama-3.2-license-2024",
    "llama3.3": "LicenseRef-scancode-llama-3.3-license-2024",
    "llama4": "LicenseRef-scancode-llama-4-license-2025",
    "gemma": "LicenseRef-scancode-gemma-tou-2024-04-01",
    "tongyi-qianwen": "LicenseRef-scancode-tongyi-qianwen-2023",
    "qwen": "LicenseRef-modeltrust-qwen",
    "qwen-research": "LicenseRef-modeltrust-qwen-research",
    "yi": "LicenseRef-modeltrust-yi",
    "deepseek": "LicenseRef-scancode-deepseek-la-1.0",
    "stability-ai-community": "LicenseRef-scancode-stability-ai-community-2024",
    "openmdw-1.0": "LicenseRef-scancode-openmdw-1.0",
}

CARD_LICENCE: dict[str, dict[str, str]] = {
    "apache-2.0": {"license": "apache-2.0"},
    "mit": {"license": "mit"},
    "bsd-2-clause": {"license": "bsd-2-clause"},
    "bsd-3-clause": {"license": "bsd-3-clause"},
    "cc-by-4.0": {"license": "cc-by-4.0"},
    "cc-by-nc-4.0": {"license": "cc-by-nc-4.0"},
    "bigscience-openrail-m": {"license": "bigscience-openrail-m"},
    "creativeml-openrail-m": {"license": "creativeml-openrail-m"},
    "bigcode-openrail-m": {"license": "bigcode-openrail-m"},
    "llama2": {"license": "llama2"},
    "llama3": {"license": "llama3"},
    "llama3.1": {"license": "llama3.1"},
    "llama3.2": {"license": "llama3.2"},
    "llama3.3": {"license": "llama3.3"},
    "llama4": {"license": "llama4"},
    "gemma": {"license": "gemma"},
    "tongyi-qianwen": {"license": "other", "license_name": "tongyi-qianwen",
                       "license_link": "https://huggingface.co/Qwen/Qwen-7B/blob/main/LICENSE"},
    "qwen": {"license": "other", "license_name": "qwen",
             "license_link": "https://huggingface.co/Qwen/Qwen2.5-72B/blob/main/LICENSE"},
    "qwen-research": {"license": "other", "license_name": "qwen-research"},
    "yi": {"license": "other", "license_name": "yi-license"},
    "deepseek": {"license": "other", "license_name": "deepseek"},
    "stability-ai-community": {"license": "other", "license_name": "stabilityai-ai-community"},
    "openmdw-1.0": {"license": "other", "license_name": "openmdw-1.0"},
}
"""How a Hugging Face card declares each licence."""

FULL_CARD_BODY = """
# Example model

## Intended uses
The model is intended for sentence similarity in English text, for research and products.

## Limitations
The model may produce wrong results for long inputs and for languages other than English.

## Training data
We trained on the public example corpus, a collection of two million sentence pairs that
were gathered from openly licensed encyclopaedia articles, deduplicated and filtered for
length. All data is listed in the card metadata and can be downloaded from the hub.

## Evaluation
We evaluated on the example benchmark and report accuracy and F1 for every split of the
test set in the model-index metadata of this card, with three random seeds each.

## Bias, risks and limitations
The data over-represents some topics, which biases the model's outputs.

## Environmental impact
Training emitted about 3 kg CO2eq on one GPU for two hours.

## Contact
Write to models@example.org.
"""


def write_repo(root: Path, meta: dict[str, Any] | None = None, body: str = FULL_CARD_BODY,
               files: dict[str, str | bytes] | None = None) -> Path:
    """Write a snapshot: README.md with YAML front matter (when ``meta``) plus files."""
    root.mkdir(parents=True, exist_ok=True)
    card = ""
    if meta is not None:
        card = "---\n" + yaml.safe_dump(meta, sort_keys=True) + "---\n"
    (root / "README.md").write_text(card + body, encoding="utf-8")
    for rel, content in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def dataset_card(licence: str, **extra: Any) -> str:
    """A dataset card README with a licence (and any other metadata)."""
    meta = {"license": licence, **extra}
    return "---\n" + yaml.safe_dump(meta, sort_keys=True) + "---\n# Dataset\nRows of text.\n"


WEIGHTS = b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "
"""A minimal safetensors file (empty header): the tests never load it."""


def open_repo(root: Path, licence: str = "apache-2.0") -> Path:
    """A snapshot that meets every OSAID rule and MOF class I."""
    meta = {
        "license": licence,
        "datasets": ["example/train-set"],
        "library_name": "transformers",
        "model-index": [{"name": "example-model", "results": [
            {"dataset": {"name": "Eval", "type": "example/eval-set"},
             "metrics": [{"type": "accuracy", "value": 0.9}]}]}],
    }
    files: dict[str, str | bytes] = {
        "LICENSE": EXCERPTS["apache-2.0"],
        "model.safetensors": WEIGHTS,
        "modeling_example.py": "class Example:\n    pass\n",
        "train.py": "print('train')\n",
        "inference.py": "print('infer')\n",
        "evaluate.py": "print('eval')\n",
        "preprocess.py": "print('prep')\n",
        "technical_report.md": "# Technical report\nHow to use the model.\n",
        "paper/paper.md": "# Paper\nHow we built it.\n",
        "paper/LICENSE": EXCERPTS["cc-by-4.0"],
        "checkpoints/step-1000/model.safetensors": WEIGHTS,
        "checkpoints/LICENSE": EXCERPTS["cc-by-4.0"],
        "datasets/train-set/README.md": dataset_card("cc-by-4.0"),
        "datasets/eval-set/README.md": dataset_card("cc-by-4.0"),
        "SECURITY.md": "Report issues to security@example.org\n",
    }
    return write_repo(root, meta, FULL_CARD_BODY, files)


def write_gguf(path: Path, strings: dict[str, str], uints: dict[str, int] | None = None) -> Path:
    """A GGUF file with only the given metadata (no tensors), written by the gguf library."""
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    for key, value in strings.items():
        writer.add_string(key, value)
    for key, number in (uints or {}).items():
        writer.add_uint32(key, number)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def hub_repo(hub: Path, kind: str, repo_id: str, meta: dict[str, Any] | None,
             body: str = "# Card\n", rev: str = "c" * 40) -> Path:
    """A Hugging Face cache repository (``models--org--name``) with one snapshot and refs/main."""
    repo = hub / f"{kind}--{repo_id.replace('/', '--')}"
    snap = write_repo(repo / "snapshots" / rev, meta, body)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(rev)
    return snap


def openness_validator() -> Any:
    """A validator for docs/openness-schema.json, with docs/report-schema.json known only by
    its own ``$id``: the documented schemas must resolve each other as published."""
    import jsonschema
    from referencing import Registry, Resource

    docs = Path(__file__).resolve().parents[2] / "docs"
    base = json.loads((docs / "report-schema.json").read_text())
    schema = json.loads((docs / "openness-schema.json").read_text())
    registry: Any = Registry().with_resources([(base["$id"], Resource.from_contents(base))])
    return jsonschema.Draft202012Validator(schema, registry=registry)
