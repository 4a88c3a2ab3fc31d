"""Evidence fixtures for BOM tests: every field set, and a near-empty one.

Built by hand so renderer tests do not depend on the gathering stage; ``rich()`` exercises
every branch a renderer has (licence kinds, datasets with and without terms, ancestors,
metrics, considerations, signatures, findings with locations, unknowns).
"""

from __future__ import annotations

from modeltrust._bom.evidence import (
    AncestorFact,
    Considerations,
    DatasetFact,
    Evidence,
    FileFact,
    LicenceFact,
    MetricFact,
    SignatureFact,
)
from modeltrust.findings import Finding, Location, Severity

SHA_A = "a" * 64
SHA_B = "b" * 64
SHA_C = "c" * 64
SHA_D = "d" * 64


def rich() -> Evidence:
    """A derivative model with every fact known."""
    return Evidence(
        name="tiny-llama-chat",
        group="acme",
        revision="0123456789abcdef0123456789abcdef01234567",
        root_digest="sha256:" + "e" * 64,
        timestamp="2024-01-02T03:04:05Z",
        tool_version="0.1.0",
        hub_id="acme/tiny-llama-chat",
        purl="pkg:huggingface/acme/tiny-llama-chat@0123456789abcdef0123456789abcdef01234567",
        description="A small chat model fine-tuned from Llama 3.1 8B.",
        publisher="Acme AI",
        contacts=("security@acme.example",),
        card_path="README.md",
        task="text-generation",
        library="transformers",
        languages=("en", "fr"),
        tags=("llama", "chat"),
        architecture_family="llama",
        architecture="LlamaForCausalLM",
        inputs=("text",),
        outputs=("text",),
        licences=(
            LicenceFact("LicenseRef-llama-3.1-community", "Llama 3.1 Community License",
                        "card", "https://huggingface.co/meta-llama/Llama-3.1-8B/blob/main/LICENSE"),
            LicenceFact("Apache-2.0", "Apache License 2.0", "file:code/LICENSE",
                        acknowledgement="concluded"),
        ),
        licence_terms="restricted",
        training_information="Fine-tuned on 10k dialogues from ultrachat for 2 epochs.",
        datasets=(
            DatasetFact("HuggingFaceH4/ultrachat_200k", "train", "MIT", "MIT License",
                        gated=False, url="https://huggingface.co/datasets/HuggingFaceH4/ultrachat_200k",
                        card="datasets/ultrachat_200k/README.md",
                        source_datasets=("stingning/ultrachat",)),
            DatasetFact("private-dialogues", "train"),
            DatasetFact("cais/mmlu", "eval", None, None, gated=None,
                        url="https://huggingface.co/datasets/cais/mmlu"),
        ),
        ancestors=(
            AncestorFact("meta-llama/Llama-3.1-8B", "finetune", "card",
                         "LicenseRef-llama-3.1-community",
                         "pkg:huggingface/meta-llama/Llama-3.1-8B",
                         "https://huggingface.co/meta-llama/Llama-3.1-8B",
                         relation_source="card", sources=("card",)),
        ),
        metrics=(
            MetricFact("accuracy", "0.61", "MMLU (5-shot)", "text-generation", "cais/mmlu",
                       "test"),
            MetricFact("f1", "0.7", None, None, None, None),
        ),
        considerations=Considerations(
            use_cases=("Intended uses: chat assistants for English and French.",),
            users=("Developers building assistants.",),
            technical_limitations=("Limitations: may produce wrong facts.",),
            ethical=("Bias, risks: can reproduce biases of web text.",),
            environmental=("Environmental impact: 120 kg CO2eq emitted.",),
        ),
        signatures=(
            SignatureFact("model.sig", SHA_D, "intact", "key:sha256:1234",
                          "sha256:" + "e" * 64),
        ),
        files=(
            FileFact(".gitattributes", 12, SHA_A, "text", "other", in_manifest=False),
            FileFact("README.md", 2048, SHA_B, "text", "card"),
            FileFact("code/LICENSE", 11357, SHA_C, "text", "licence"),
            FileFact("model.safetensors", 1_000_000, SHA_A, "safetensors", "weights"),
            FileFact("model.sig", 900, SHA_D, "json", "signature", in_manifest=False),
            FileFact("tokenizer_config.json", 300, SHA_B, "json", "tokenizer"),
            FileFact("training_args.bin", 5000, SHA_C, "pickle", "other"),
        ),
        findings=(
            Finding("MT-PKL-001", Severity.CRITICAL, "Pickle calls a dangerous function",
                    "training_args.bin", "os.system reached via STACK_GLOBAL",
                    Location(offset=0x3F)),
            Finding("MT-TPL-003", Severity.MEDIUM, "Unusual template construct",
                    "tokenizer_config.json", "attribute built from a string",
                    Location(line=4, detail="chat_template")),
            Finding("MT-REPO-001", Severity.LOW, "Repository-level note", "", "model-level"),
        ),
        assessment_findings=(
            Finding("MT-LIN-001", Severity.HIGH, "Llama derivative relabelled with another "
                    "licence", "README.md", "base meta-llama/Llama-3.1-8B is under the Llama "
                    "3.1 licence; this model declares Apache-2.0", Location(line=3)),
            Finding("MT-LIC-012", Severity.LOW, "Licence restricts fields of use",
                    "LICENSE", "acceptable use policy"),
        ),
        verdict="findings",
        unknowns=("revision date: not recorded",),
    )


def sparse() -> Evidence:
    """A bare weights file: nothing known but its bytes (the BOM must still be valid)."""
    return Evidence(
        name="weights.gguf",
        group=None,
        revision=None,
        root_digest="sha256:" + "f" * 64,
        timestamp="1970-01-01T00:00:00Z",
        tool_version="0.1.0",
        files=(FileFact("weights.gguf", 10, SHA_A, "gguf", "weights"),),
        unknowns=("licence: none declared", "publisher: unknown", "training data: none declared"),
    )
