"""Rules raised by the openness assessment: licences, cards, OSAID/data and lineage.

These are model-level findings: they say under what terms a model may be used and how
well its openness claims are backed, not whether loading it is safe. Severities follow
that: ``high`` is kept for terms that are very likely misrepresented (a derivative that
drops the terms its base requires, a card that contradicts its LICENSE file).
"""

from __future__ import annotations

from modeltrust.findings import Severity
from modeltrust.rules import rule

LIC_NONE = rule(
    "MT-LIC-001", "No licence declared", Severity.MEDIUM,
    """
    Neither the model card nor a LICENSE file says under what terms the model is released.
    Without a licence, no right to use, modify or share the weights has been granted.
    """,
    fix="Ask the publisher for a licence, or do not redistribute the model.",
)
LIC_UNKNOWN = rule(
    "MT-LIC-002", "Licence not recognised", Severity.MEDIUM,
    """
    The card names a licence id that is neither a Hugging Face licence id nor a valid SPDX
    expression, or says ``other`` without ``license_name``/``license_link``. Its terms
    could not be classified, so every verdict that depends on them is ``unknown``.
    """,
    fix="Read the licence text yourself; publishers should use an SPDX id or license_name.",
)
LIC_MISMATCH = rule(
    "MT-LIC-003", "Model card and LICENSE file disagree", Severity.HIGH,
    """
    The licence declared in the card's YAML differs from the licence identified in a
    LICENSE file by its text (or from the GGUF ``general.license``). One of them is wrong,
    and the stricter terms may be the ones that bind you.
    """,
    fix="Treat the stricter licence as binding and ask the publisher to fix the card.",
)
LIC_TEXT_UNKNOWN = rule(
    "MT-LIC-004", "Licence text not identified", Severity.INFO,
    """
    A LICENSE, NOTICE or USE_POLICY file is present but matches none of the known licence
    fingerprints. Its clauses are still searched for restrictive terms.
    """,
    fix="Read the file; report the licence so its fingerprint can be added.",
)
LIC_UNREADABLE = rule(
    "MT-LIC-005", "Licence or card file unreadable", Severity.LOW,
    """
    A licence or card file is binary, not UTF-8, larger than the analysis limit or could
    not be read; only its first bytes (or nothing) were analysed.
    """,
    fix="Check the file; licence texts are short plain text.",
)
LIC_NON_COMMERCIAL = rule(
    "MT-LIC-010", "Licence forbids commercial use", Severity.MEDIUM,
    """
    The licence restricts use to non-commercial purposes. The model is not open source and
    cannot be used in a product.
    """,
    fix="Use the model only for non-commercial purposes, or pick another model.",
)
LIC_RESEARCH_ONLY = rule(
    "MT-LIC-011", "Licence allows research use only", Severity.MEDIUM,
    """
    The licence grants rights only for research or evaluation. The model is not open source.
    """,
    fix="Use the model for research only, or pick another model.",
)
LIC_FIELD_OF_USE = rule(
    "MT-LIC-012", "Licence restricts fields of use (acceptable-use policy)", Severity.LOW,
    """
    The licence or its acceptable-use policy forbids some uses. Open source licences grant
    use for any purpose; these terms are enforceable restrictions you must pass on.
    """,
    fix="Check your use against the quoted restrictions and pass them on to your users.",
)
LIC_THRESHOLD = rule(
    "MT-LIC-013", "Licence depends on user or revenue thresholds", Severity.LOW,
    """
    The licence ends or requires a separate agreement above a number of monthly active
    users or a revenue threshold.
    """,
    fix="Check the threshold against your organisation before deploying.",
)
LIC_OUTPUT_BAN = rule(
    "MT-LIC-014", "Licence bans using outputs to improve other models", Severity.LOW,
    """
    The licence forbids using the model or its outputs to train or improve other models
    (or other models than the licensor's family).
    """,
    fix="Do not use outputs for distillation or synthetic training data unless allowed.",
)
LIC_NAMING = rule(
    "MT-LIC-015", "Licence imposes naming or attribution duties on derivatives", Severity.INFO,
    """
    Derivatives must display a phrase (e.g. "Built with ...") or carry the licensor's name
    at the beginning of their model name.
    """,
    fix="Follow the quoted naming and attribution duty when you publish derivatives.",
)
LIC_REMOTE = rule(
    "MT-LIC-016", "Licensor may restrict use remotely or terminate with deletion",
    Severity.LOW,
    """
    The licence lets the licensor restrict use (remotely or otherwise) or ends your rights
    and requires you to delete the model.
    """,
    fix="Plan for the model being withdrawn; keep an alternative.",
)
CARD_MISSING = rule(
    "MT-CARD-001", "No model card", Severity.MEDIUM,
    """
    The snapshot has no README.md model card (nor ModelScope configuration.json), so its
    licence, intended use, training data and limitations are undocumented.
    """,
    fix="Ask the publisher for a model card.",
)
CARD_BAD_YAML = rule(
    "MT-CARD-002", "Model card metadata is malformed", Severity.MEDIUM,
    """
    The YAML front matter of the card (or configuration.json) does not parse, is not a
    mapping, is never closed by a ``---`` line, or exceeds the size, depth or node limits;
    or a key the hub reads has a value of the wrong type (``license: 42``, ``base_model``
    as a number, ``model-index`` as text). Hub tooling ignores such metadata, so the
    licence shown on the hub may differ from what you see here; wrongly typed values are
    ignored (a licence given that way is ``unknown``, not absent).
    """,
    fix="Fix the card's YAML front matter.",
)
CARD_TRUNCATED = rule(
    "MT-CARD-003", "Model card is binary or larger than the analysis limit", Severity.LOW,
    """
    The card is not text, or is larger than the limit; only its first part was analysed.
    """,
    fix="Model cards are short Markdown; inspect the file.",
)
CARD_SECTIONS = rule(
    "MT-CARD-004", "Model card lacks expected sections", Severity.INFO,
    """
    The card has no section on some of: intended use, limitations, training data,
    evaluation, bias and risks, environmental impact, contact.
    """,
    fix="Ask the publisher to document the missing sections.",
)
CARD_NO_CONTACT = rule(
    "MT-CARD-005", "No contact or security policy", Severity.INFO,
    """
    The snapshot names no contact and has no SECURITY.md or security policy, so there is no
    declared way to report a vulnerability in the model or its code.
    """,
    fix="Ask the publisher for a security contact.",
)
OSS_NOT_OPEN = rule(
    "MT-OSS-001", "Not Open Source AI (OSAID 1.0)", Severity.INFO,
    """
    At least one OSAID 1.0 rule is not met or could not be shown to be met from the
    snapshot (``unknown`` never counts as met). The evidence lists each rule.
    """,
    fix="See the osaid.rules section of the openness report.",
)
OSS_NO_DATA = rule(
    "MT-OSS-002", "No training data declared", Severity.LOW,
    """
    The card declares no datasets and has no training data section: what the model learnt
    from cannot be checked (licences, personal data, contamination).
    """,
    fix="Ask the publisher for data information.",
)
OSS_DATA_NC = rule(
    "MT-OSS-003", "Dataset is non-commercial or research-only", Severity.MEDIUM,
    """
    A declared dataset, or a dataset further upstream (in the ``source_datasets`` of a
    local dataset card), carries a non-commercial or research-only licence, which may
    constrain the use of a model trained on it.
    """,
    fix="Check whether the dataset's terms reach the model for your use.",
)
OSS_DATA_UNKNOWN = rule(
    "MT-OSS-004", "Training or upstream dataset licence unknown", Severity.LOW,
    """
    A declared training dataset (or an upstream source dataset) has no local dataset card,
    or its card declares no known licence (``license: other`` without an identifiable
    ``license_name``), so its terms could not be checked offline.
    """,
    fix="Download the dataset cards next to the model and run the assessment again.",
)
OSS_DATA_GATED = rule(
    "MT-OSS-005", "Gated dataset", Severity.INFO,
    """
    A declared dataset is gated (access requires accepting extra terms), so it is not
    freely obtainable as OSAID's data information requires.
    """,
    fix="Check the dataset's access terms.",
)
LIN_LLAMA_RELABEL = rule(
    "MT-LIN-001", "Llama derivative relabelled with another licence", Severity.HIGH,
    """
    The model declares a Llama base model but a licence other than the Llama community
    licence. The Llama licences require redistributing derivatives under their terms, so
    the declared licence overstates your rights.
    """,
    fix="Treat the model as bound by the Llama licence of its base.",
)
LIN_LLAMA_NAME = rule(
    "MT-LIN-002", "Llama derivative not named as its licence requires", Severity.MEDIUM,
    """
    Llama 3 and later licences require a derivative's name to begin with "Llama" (Llama 3:
    "Llama 3"); this model's name does not. Quantizations, which redistribute the base
    itself, are exempt.
    """,
    fix="Rename derivatives as the base model's licence requires.",
)
LIN_GEMMA_RELABEL = rule(
    "MT-LIN-003", "Gemma derivative without the Gemma terms", Severity.HIGH,
    """
    The model declares a Gemma base model but another licence; Gemma's terms (and its
    prohibited use policy) must be passed on with derivatives.
    """,
    fix="Treat the model as bound by the Gemma Terms of Use.",
)
LIN_BASE_RELABEL = rule(
    "MT-LIN-004", "Derivative licence more permissive than its base", Severity.HIGH,
    """
    A base model carries restrictive terms (non-commercial, research-only or a community
    licence), known from its card in the local hub cache or from the naming of a well-known
    release (e.g. Qwen2.5-72B under the Qwen licence), but the derivative claims a
    permissive licence.
    """,
    fix="Treat the derivative as bound by its base model's licence.",
)
LIN_CONFLICT = rule(
    "MT-LIN-005", "Declared base models disagree", Severity.MEDIUM,
    """
    The card, adapter_config.json and GGUF metadata name different base models.
    """,
    fix="Check which base model the weights really derive from (modeltrust compare).",
)
LIN_BAD_META = rule(
    "MT-LIN-006", "Lineage metadata unreadable or unexpected", Severity.LOW,
    """
    adapter_config.json or GGUF metadata could not be read within bounds, or
    base_model_relation has a value other than adapter, finetune, merge or quantized.
    """,
    fix="Check the file.",
)
