"""What a tensor does in a transformer, from its name (HF, GGUF, GPT-2 and BERT spellings).

Abliteration edits the matrices that *write into* the residual stream (embeddings, the
attention output projection, the MLP down projection); LoRA usually targets the attention
and MLP input projections. Naming conventions differ between exporters, so the role is
read from well-known name fragments, and the layer index from the block number.
"""

from __future__ import annotations

import re

EMBEDDING = "embedding"
RESIDUAL_OUT = "residual_out"
ATTENTION_IN = "attention_in"
MLP_IN = "mlp_in"
HEAD = "head"
NORM = "norm"
OTHER = "other"

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (NORM, re.compile(r"(norm|layernorm|ln_\w*|\bln\d*)\b", re.IGNORECASE)),
    (EMBEDDING, re.compile(
        r"(embed_tokens|word_embeddings|position_embeddings|token_type_embeddings|token_embd"
        r"|tok_embeddings|\bwte\b|\bwpe\b|embed_positions|\bembeddings?\b)(\.weight)?$")),
    (HEAD, re.compile(r"(^|\.)(lm_head|output|embed_out)\.weight$")),
    (RESIDUAL_OUT, re.compile(
        r"(o_proj|out_proj|attn_output|attention\.output\.dense|attn\.c_proj|\.wo\b|dense_4h_to_h"
        r"|down_proj|ffn_down|mlp\.c_proj|\bfc2\b|\bw2\b|layer\.\d+\.output\.dense"
        r"|attention\.dense|self_attention\.dense)\.weight$")),
    (ATTENTION_IN, re.compile(
        r"(q_proj|k_proj|v_proj|attn_q|attn_k|attn_v|attn_qkv|query_key_value|c_attn|\bqkv\b"
        r"|self\.query|self\.key|self\.value|\bwq\b|\bwk\b|\bwv\b)\.weight$")),
    (MLP_IN, re.compile(
        r"(gate_proj|up_proj|ffn_gate|ffn_up|intermediate\.dense|\bfc1\b|c_fc|\bw1\b|\bw3\b"
        r"|dense_h_to_4h|gate_up_proj)\.weight$")),
)

_LAYER = re.compile(r"(?:^|\.)(?:layers?|blk|h|blocks?|encoder\.layer|decoder\.layer)\.(\d+)\.")
_TARGET = re.compile(r"\.(?P<m>[A-Za-z_0-9]+)\.weight$")
_CONV1D = re.compile(r"c_proj|c_fc|c_attn")


def role(name: str) -> str:
    """The role of a tensor in the model, or :data:`OTHER`."""
    if not name.endswith("weight") and "embd" not in name:
        return OTHER
    for kind, pattern in _RULES:
        if pattern.search(name):
            return kind
    return OTHER


def layer(name: str) -> int | None:
    """The transformer block index in the name, if any."""
    match = _LAYER.search(name)
    return int(match.group(1)) if match else None


def target(name: str) -> str:
    """The module name as LoRA ``target_modules`` spell it (``q_proj``, ``query``...)."""
    match = _TARGET.search(name)
    return match.group("m") if match else name


def hidden_axis(name: str, kind: str, shape: tuple[int, ...], hidden: int | None) -> int | None:
    """The axis of a residual-writing matrix that runs along the hidden (residual) dimension.

    PyTorch ``Linear`` and GGUF store ``(out, in)``, so outputs write along axis 0, while
    embeddings are ``(vocab, hidden)`` and GPT-2's ``Conv1D`` stores ``(in, out)``.
    """
    if len(shape) != 2:
        return None
    if kind == EMBEDDING:
        axis = 1
    elif kind == RESIDUAL_OUT:
        axis = 1 if _CONV1D.search(name) else 0
    else:
        return None
    if hidden is not None and shape[axis] != hidden and shape[1 - axis] == hidden:
        axis = 1 - axis
    return axis
