"""The interface that evaluation and generation see: one protocol for neural and n-gram models alike.

`load_lm(path, vocab)` picks the loader by file suffix (.pt neural checkpoint, .npz n-gram model),
so `charlm generate` and the evaluate stage never branch on what kind of model they hold.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from charlm.errors import CharlmError


class LanguageModel(Protocol):
    name: str
    # ("forward",) for causal LMs; ("forward", "backward") for the ELMo-style bilstm. Rankings use
    # "forward" only; "backward" is scored on the reversed text (predicting the previous token).
    directions: tuple[str, ...]
    num_parameters: int

    def token_nll(self, tokens: np.ndarray, direction: str = "forward", batch_size: int = 64) -> np.ndarray:
        """Negative log-likelihood in nats of tokens[1:] given everything before, shape (len(tokens)-1,) float64.

        Streamed over the whole sequence (carried state or full n-gram context), never random windows.
        direction "backward" scores the reversed sequence: the nll of tokens[::-1][1:], each token given
        the tokens that follow it in the original text.
        """

    def log_probs(self, tokens: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Log-probabilities in nats of every next token after each of tokens[:-1], shape (len(tokens)-1, V)
        float32, forward direction, read exactly as token_nll reads the text: each row sums to 1 in probability
        and its entry for the true next token is token_nll's, negated. What a mixer of distributions needs."""

    def generate(self, prefix: Sequence[int], length: int, *, greedy: bool, temperature: float = 1.0,
                 top_k: int = 0, seed: int = 0) -> list[int]:
        """Token ids continuing `prefix` (prefix excluded), `length` of them; reproducible for a seed."""


def load_lm(path: str | Path, vocab) -> LanguageModel:
    """Load a trained model for scoring/generation; a model built on another vocab is a CharlmError."""
    path = Path(path)
    if not path.is_file():
        raise CharlmError(f"{path}: model file not found (has its train stage run?)")
    if path.suffix == ".pt":
        from charlm.models.lm import load_neural_lm
        return load_neural_lm(path, vocab)
    if path.suffix == ".npz":
        from charlm.ngram.lm import load_ngram_lm
        return load_ngram_lm(path, vocab)
    raise CharlmError(f"{path}: unknown model file type {path.suffix!r} (expected .pt or .npz)")
