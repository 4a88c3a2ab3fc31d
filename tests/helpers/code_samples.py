"""Python sources for the trust_remote_code scanner: realistic benign files and hostile ones.

Hostile samples only ever name a harmless marker command; they are parsed, never run.
"""

from __future__ import annotations

import base64
import bz2
import zlib

MARKER = "touch /tmp/modeltrust-test-marker-DO-NOT-CREATE"

MODELING = '''# coding=utf-8
# Copyright 2024 The Example Authors. Licensed under the Apache License, Version 2.0.
"""PyTorch Example model."""

import math
import os
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.activations import ACT2FN
from transformers.modeling_outputs import BaseModelOutput
from transformers.utils import logging

from .configuration_example import ExampleConfig

logger = logging.get_logger(__name__)
_CHECKPOINT_FOR_DOC = "example/example-base"


class ExampleRMSNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states


class ExampleAttention(nn.Module):
    def __init__(self, config: ExampleConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.num_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=False)
        self.o_proj = nn.Linear(config.hidden_size, config.hidden_size, bias=False)
        self.use_flash = os.environ.get("EXAMPLE_USE_FLASH", "0") == "1"

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=-1)
        q = q.view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        k = k.view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        v = v.view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        if mask is not None:
            att = att + mask
        att = F.softmax(att, dim=-1)
        return self.o_proj((att @ v).transpose(1, 2).reshape(b, t, c))


class ExampleMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.up = nn.Linear(config.hidden_size, config.intermediate_size)
        self.down = nn.Linear(config.intermediate_size, config.hidden_size)
        self.act = ACT2FN[config.hidden_act]

    def forward(self, x):
        return self.down(self.act(self.up(x)))


class ExamplePreTrainedModel(PreTrainedModel):
    config_class = ExampleConfig
    base_model_prefix = "model"
    _no_split_modules = ["ExampleLayer"]

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)


class ExampleModel(ExamplePreTrainedModel):
    def __init__(self, config: ExampleConfig):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList([ExampleAttention(config) for _ in range(config.num_layers)])
        self.mlps = nn.ModuleList([ExampleMLP(config) for _ in range(config.num_layers)])
        self.norm = ExampleRMSNorm(config.hidden_size)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, **kwargs) -> Tuple[torch.Tensor]:
        h = self.embed(input_ids)
        for attn, mlp in zip(self.layers, self.mlps):
            h = h + attn(h, attention_mask)
            h = h + mlp(h)
        if not kwargs.get("return_dict", True):
            return (self.norm(h),)
        return BaseModelOutput(last_hidden_state=self.norm(h))

    @torch.no_grad()
    def generate_step(self, input_ids):
        logits = self.forward(input_ids)[0]
        return torch.argmax(logits[:, -1], dim=-1)
'''

CONFIGURATION = '''"""Example configuration."""
from transformers import PretrainedConfig


class ExampleConfig(PretrainedConfig):
    model_type = "example"

    def __init__(self, vocab_size=32000, hidden_size=64, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        super().__init__(**kwargs)
'''


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def zlib_b64(text: str) -> str:
    return base64.b64encode(zlib.compress(text.encode())).decode()


def bz2_b64(text: str) -> str:
    return base64.b64encode(bz2.compress(text.encode())).decode()


def layered_exec(levels: int) -> str:
    """``exec(b64decode(...))`` wrapped ``levels`` times around an os.system call."""
    src = f"import os\nos.system({MARKER!r})\n"
    for _ in range(levels):
        src = f"import base64\nexec(base64.b64decode({b64(src)!r}))\n"
    return src
