"""Rules raised by weight forensics (``modeltrust compare`` and ``modeltrust inspect``)."""

from __future__ import annotations

from modeltrust.findings import Severity
from modeltrust.rules import rule

ABLITERATION = rule(
    "MT-FOR-001", "Refusal direction ablated (abliteration)", Severity.HIGH,
    """
    The matrices that write into the residual stream (embeddings, attention output and MLP
    down projections) were edited by low-rank projections that share one direction (or a
    subspace of at most three) across layers. This is the signature of refusal-direction
    ablation ("abliteration", Arditi et al. 2024; FailSpy's abliterator; heretic), which
    removes a model's safety refusals without retraining.
    """,
    fix="Do not deploy a model whose refusals were removed unless that is intended; obtain "
        "the weights from the original publisher.",
    cwe=693,
    references=("https://arxiv.org/abs/2406.11717",),
)
LORA_MERGE = rule(
    "MT-FOR-002", "LoRA adapter merged into the weights", Severity.LOW,
    """
    Several attention/MLP matrices changed by deltas of the same exact low rank r, which is
    what merging a LoRA adapter (W + B A) produces. The evidence names r and the targets.
    """,
    fix="Check that the model card declares the adapter and its training data.",
)
FINE_TUNE = rule(
    "MT-FOR-003", "Weights fine-tuned from the base", Severity.INFO,
    """
    Many tensors changed densely (full-rank deltas, norms changed): the model was trained
    further from the base.
    """,
)
QUANTIZED = rule(
    "MT-FOR-004", "Weights quantised", Severity.INFO,
    """
    Tensors differ from the base only within the rounding of the derived tensor's number
    grid (GGUF block scales, a narrower float format, an int8/int4 grid).
    """,
)
PRUNED = rule(
    "MT-FOR-005", "Weights pruned", Severity.INFO,
    """
    Weights that were non-zero in the base are exactly zero in the derived model (magnitude
    or structured 2:4 pruning).
    """,
)
TAMPERED = rule(
    "MT-FOR-006", "Individual tensors edited", Severity.HIGH,
    """
    A few tensors changed while every other tensor is unchanged, and the change is not a
    quantisation, pruning, LoRA merge or abliteration. Targeted edits of single tensors are
    how backdoors and model edits (ROME-style rank-one edits) are inserted.
    """,
    fix="Compare against the publisher's weights and ask the distributor what was changed.",
    cwe=345,
)
UNRELATED = rule(
    "MT-FOR-007", "Weights not derived from the base", Severity.MEDIUM,
    """
    The derived model's tensors are uncorrelated with the base's (median per-tensor
    correlation near zero): it was not fine-tuned, merged or quantised from this base.
    Raised to high when the model card claims this base (``base_model``).
    """,
    fix="Do not trust the card's lineage claim; find the model's real origin.",
    cwe=345,
)
STRUCTURE = rule(
    "MT-FOR-008", "Tensors added, removed or reshaped", Severity.LOW,
    """
    Some tensors exist in only one of the models, or changed shape (for example an embedding
    with a different vocabulary size).
    """,
)
UNREADABLE = rule(
    "MT-FOR-009", "Tensors that could not be read", Severity.MEDIUM,
    """
    Some tensors could not be read (malformed header, out-of-range data, unsupported dtype)
    and were left out of the comparison.
    """,
)
SIGNATURE = rule(
    "MT-FOR-010", "Residual direction that no layer writes to", Severity.HIGH,
    """
    Without a base: the smallest eigenvalue of the sum of W Wᵀ over every matrix that
    writes into the residual stream is orders of magnitude below the median eigenvalue.
    Trained models write to every direction; a direction that no embedding or output
    projection writes to is what orthogonalising the weights against a refusal direction
    leaves behind.
    """,
    fix="Compare with the claimed base ('modeltrust compare BASE MODEL') to confirm.",
    cwe=693,
)
UNCHANGED = rule(
    "MT-FOR-011", "Weights unchanged from the base", Severity.INFO,
    """
    Every tensor has the same values as in the base (possibly re-serialised in another
    dtype, layout or container).
    """,
)
VERDICT_RULES = {
    "abliteration": ABLITERATION, "lora_merge": LORA_MERGE, "fine_tune": FINE_TUNE,
    "quantized": QUANTIZED, "pruned": PRUNED, "tampered_tensors": TAMPERED,
    "unrelated": UNRELATED, "identical": UNCHANGED, "reserialized": UNCHANGED,
}
