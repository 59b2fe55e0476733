"""An n-gram model behind the `charlm.lm.LanguageModel` protocol, so evaluate and `charlm generate` treat it
like a neural model."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from charlm.errors import CharlmError
from charlm.ngram.model import NgramModel
from charlm.ngram.store import load_ngram_model
from charlm.sampling import sample


class NgramLM:
    """`charlm.lm.LanguageModel` over an NgramModel: full-context scoring, greedy or seeded sampling."""

    directions = ("forward",)

    def __init__(self, name: str, model: NgramModel, start_token: int):
        self.name = name
        self.model = model
        self.start_token = start_token   # what an empty prefix starts from (a space), as for neural models
        self.num_parameters = model.num_parameters

    def token_nll(self, tokens: np.ndarray, direction: str = "forward", batch_size: int = 64) -> np.ndarray:
        """nll in nats of tokens[1:], each given up to order-1 tokens before it, (N-1,) float64."""
        if direction != "forward":
            raise CharlmError(f"{self.name}: an n-gram model has only the 'forward' direction, not {direction!r}")
        return -self.model.log_probs(tokens)

    def log_probs(self, tokens: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Log-probabilities in nats of every next token after each of tokens[:-1], (N-1, V) float32: row i
        is the distribution whose entry for tokens[i+1] token_nll scores (batch_size: unused, as in token_nll)."""
        return self.model.distributions(tokens).astype(np.float32)

    def generate(self, prefix: Sequence[int], length: int, *, greedy: bool, temperature: float = 1.0,
                 top_k: int = 0, seed: int = 0) -> list[int]:
        """`length` token ids continuing `prefix`: argmax, or seeded sampling at `temperature` among the top k."""
        if not greedy and temperature <= 0:
            raise CharlmError(f"temperature: must be > 0, got {temperature}")
        rng = np.random.default_rng(seed)
        keep = self.model.order - 1
        context = [int(t) for t in prefix] or [self.start_token]
        out = []
        for _ in range(length):
            logp = self.model.next_log_probs(context[len(context) - keep:] if keep else [])
            token = int(logp.argmax()) if greedy else sample(logp, temperature, top_k, rng)
            out.append(token)
            context.append(token)
        return out


def load_ngram_lm(path: str | Path, vocab) -> NgramLM:
    """The n-gram model saved at `path` as a LanguageModel; a vocab other than its own is a CharlmError."""
    model = load_ngram_model(path, vocab.fingerprint)
    start = vocab.tokens.index(" ") if " " in vocab.tokens else 0
    return NgramLM(Path(path).stem, model, start)
