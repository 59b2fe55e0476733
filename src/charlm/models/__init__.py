"""The model factory: `build_model(params, vocab_size)` looks the params class up in one registry.

Every model has `forward(tokens (B, T) int64, state=None) -> (logits (B, T, V), state)` and
`directions() -> [(causal LM, reads reversed text)]`, so training, evaluation and generation are
written once for all of them.
"""
from __future__ import annotations

from typing import Any, Callable

from torch import nn

from charlm.errors import CharlmError
from charlm.models.bilm import BiLM
from charlm.models.recurrent import RecurrentLM
from charlm.models.transformer import TransformerLM
from charlm.params import BiLMParams, ModelParams, RecurrentParams, TransformerParams

# One-hot input materialises a (B, T, V) float tensor and a (4H, V) input matrix; past this many tokens
# (a word vocabulary) that exhausts memory for no gain over an embedding.
MAX_ONE_HOT_VOCAB = 1024


def _recurrent(p: RecurrentParams, vocab_size: int) -> nn.Module:
    return RecurrentLM(p.arch, vocab_size, p.num_layers, p.hidden_size, p.embedding_size, p.input, p.dropout,
                       p.tie_weights)


def _bilm(p: BiLMParams, vocab_size: int) -> nn.Module:
    return BiLM(vocab_size, p.num_layers, p.hidden_size, p.embedding_size, p.input, p.dropout, p.tie_weights)


def _transformer(p: TransformerParams, vocab_size: int) -> nn.Module:
    return TransformerLM(vocab_size, p.hidden_size, p.num_layers, p.num_heads, p.context, p.stride, p.dropout)


# The model side of the one registry: params class -> builder. The arch names live in the classes'
# `arch` Literals (charlm.params.ARCH_PARAMS); rnn, gru and lstm share a class and name the cell.
REGISTRY: dict[type[ModelParams], Callable[[Any, int], nn.Module]] = {
    RecurrentParams: _recurrent,
    BiLMParams: _bilm,
    TransformerParams: _transformer,
}


def build_model(params: ModelParams, vocab_size: int, key: str = "model") -> nn.Module:
    """A freshly initialised model (initialised from torch's global RNG: seed it first); `key` names it in errors."""
    if getattr(params, "input", None) == "one_hot" and vocab_size > MAX_ONE_HOT_VOCAB:
        raise CharlmError(f"{key}.input: one_hot needs a vocabulary of at most {MAX_ONE_HOT_VOCAB} tokens, "
                          f"got {vocab_size}; use input: embedding")
    return REGISTRY[type(params)](params, vocab_size)


def num_parameters(model: nn.Module) -> int:
    """Distinct trainable parameters (shared/tied tensors counted once)."""
    return sum(p.numel() for p in model.parameters())
