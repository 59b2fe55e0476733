"""The model factory: `build_model(params, vocab_size)` looks the arch up in one registry.

Every model has `forward(tokens (B, T) int64, state=None) -> (logits (B, T, V), state)` and
`directions() -> [(causal LM, reads reversed text)]`, so training, evaluation and generation are
written once for all of them.
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from charlm.errors import CharlmError
from charlm.models.bilm import BiLM
from charlm.models.recurrent import RecurrentLM
from charlm.models.transformer import TransformerLM
from charlm.params import ModelParams, RecurrentParams, TransformerParams

# One-hot input materialises a (B, T, V) float tensor and a (4H, V) input matrix; past this many tokens
# (a word vocabulary) that exhausts memory for no gain over an embedding.
MAX_ONE_HOT_VOCAB = 1024


def _recurrent(cell: str) -> Callable[[RecurrentParams, int], nn.Module]:
    def build(p: RecurrentParams, vocab_size: int) -> nn.Module:
        return RecurrentLM(cell, vocab_size, p.num_layers, p.hidden_size, p.embedding_size, p.input, p.dropout,
                           p.tie_weights)
    return build


def _bilm(p: RecurrentParams, vocab_size: int) -> nn.Module:
    return BiLM(vocab_size, p.num_layers, p.hidden_size, p.embedding_size, p.input, p.dropout, p.tie_weights)


def _transformer(p: TransformerParams, vocab_size: int) -> nn.Module:
    return TransformerLM(vocab_size, p.d_model, p.n_layers, p.n_heads, p.context, p.stride, p.dropout)


REGISTRY: dict[str, Callable[[ModelParams, int], nn.Module]] = {
    "rnn": _recurrent("rnn"),
    "gru": _recurrent("gru"),
    "lstm": _recurrent("lstm"),
    "bilstm": _bilm,
    "transformer": _transformer,
}


def build_model(params: ModelParams, vocab_size: int, key: str = "model") -> nn.Module:
    """A freshly initialised model (initialised from torch's global RNG: seed it first); `key` names it in errors."""
    if params.arch not in REGISTRY:
        raise CharlmError(f"{key}.arch: unknown arch {params.arch!r} (valid: {', '.join(sorted(REGISTRY))})")
    if getattr(params, "input", None) == "one_hot" and vocab_size > MAX_ONE_HOT_VOCAB:
        raise CharlmError(f"{key}.input: one_hot needs a vocabulary of at most {MAX_ONE_HOT_VOCAB} tokens, "
                          f"got {vocab_size}; use input: embedding")
    return REGISTRY[params.arch](params, vocab_size)


def num_parameters(model: nn.Module) -> int:
    """Distinct trainable parameters (shared/tied tensors counted once)."""
    return sum(p.numel() for p in model.parameters())
