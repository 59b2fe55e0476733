"""The sampling rule of every model's `generate`: divide by the temperature, keep the top k, draw.

Neural models hold float32 torch logits and draw with a torch.Generator; n-gram models hold float64
numpy log probabilities and draw with a numpy Generator. Each keeps its own library's arithmetic and
seeded stream (so samples stay what they were); the rule itself is written once, here. torch is only
reached through the tensor's own methods, so generating from an n-gram model never imports it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def sample(logits: torch.Tensor | np.ndarray, temperature: float, top_k: int,
           generator: torch.Generator | np.random.Generator) -> int:
    """One token id drawn from softmax(logits / temperature) among the top k (k = 0: all), logits (V,)."""
    logits = logits / temperature                          # a new array: the masking below stays local
    if 0 < top_k < len(logits):
        kth = float(np.partition(np.asarray(logits), -top_k)[-top_k])    # the k-th largest value
        logits[logits < kth] = -np.inf                     # ties with the k-th largest stay in
    if isinstance(generator, np.random.Generator):
        p = np.exp(logits - logits.max())
        return int(generator.choice(len(p), p=p / p.sum()))
    return int(logits.softmax(dim=-1).multinomial(1, generator=generator))
