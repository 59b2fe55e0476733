"""A trained neural model behind the `charlm.lm.LanguageModel` protocol: streamed scoring and generation."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from charlm.evaluate.dynamic import dynamic_log_probs, dynamic_nll
from charlm.models import num_parameters
from charlm.models.checkpoint import load_model
from charlm.models.scoring import direction_tokens, stream_log_probs, stream_nll
from charlm.params import DynamicEvalParams
from charlm.sampling import sample


class NeuralLM:
    """`charlm.lm.LanguageModel` over any model with `forward(tokens, state)` and `directions()`."""

    def __init__(self, name: str, model: nn.Module, start_token: int, device: torch.device):
        self.name = name
        self.model = model.to(device).eval()
        self.start_token = start_token  # what an empty prefix starts from (a space)
        self.device = device
        self._directions = {("backward" if reverse else "forward"): (lm, reverse)
                            for lm, reverse in model.directions()}
        self.directions = tuple(self._directions)
        self.num_parameters = num_parameters(model)

    def token_nll(self, tokens: np.ndarray, direction: str = "forward", batch_size: int = 64) -> np.ndarray:
        """nll in nats of each token after the first, given all before it (backward: all after), (N-1,) float64."""
        if direction not in self._directions:
            raise ValueError(f"{self.name}: no {direction!r} direction (has {', '.join(self.directions)})")
        lm, reverse = self._directions[direction]
        stream = direction_tokens(torch.from_numpy(np.asarray(tokens, dtype=np.int64)), reverse)
        return stream_nll(lm, stream, batch_size).numpy()

    def log_probs(self, tokens: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Forward log-probabilities in nats of every next token after each of tokens[:-1], (N-1, V) float32,
        read as token_nll reads them: row i's entry for tokens[i+1] is token_nll's entry i, negated."""
        lm, _ = self._directions["forward"]
        return stream_log_probs(lm, torch.from_numpy(np.asarray(tokens, dtype=np.int64)), batch_size).numpy()

    def dynamic_nll(self, tokens: np.ndarray, params: DynamicEvalParams) -> np.ndarray:
        """Forward nll in nats of each token after the first under dynamic evaluation (one stream, each
        segment scored, then learned from: charlm.evaluate.dynamic), (N-1,) float64; the model is unchanged."""
        lm, _ = self._directions["forward"]   # only the causal direction adapts: it is the one ranked
        return dynamic_nll(lm, tokens, params)

    def dynamic_log_probs(self, tokens: np.ndarray, params: DynamicEvalParams) -> np.ndarray:
        """The distributions dynamic_nll scores, (N-1, V) float32 log-probabilities in nats."""
        lm, _ = self._directions["forward"]
        return dynamic_log_probs(lm, tokens, params)

    @torch.no_grad()
    def generate(self, prefix: Sequence[int], length: int, *, greedy: bool, temperature: float = 1.0,
                 top_k: int = 0, seed: int = 0) -> list[int]:
        """`length` token ids continuing `prefix` (warm up on it, then argmax or seeded sampling)."""
        ids = list(prefix) or [self.start_token]
        generator = torch.Generator().manual_seed(seed)
        logits, state = self.model(torch.tensor([ids], device=self.device), None)   # (1, P, V)
        out = []
        for _ in range(length):
            last = logits[0, -1].float().cpu()                                        # (V,)
            token = int(last.argmax()) if greedy else sample(last, temperature, top_k, generator)
            out.append(token)
            logits, state = self.model(torch.tensor([[token]], device=self.device), state)
        return out


def load_neural_lm(path: str | Path, vocab, device: str = "cpu") -> NeuralLM:
    """The model saved at `path` as a LanguageModel; a vocab other than its own is a CharlmError."""
    model, _, _ = load_model(path, vocab)
    start = vocab.tokens.index(" ") if " " in vocab.tokens else 0
    return NeuralLM(Path(path).stem, model, start, torch.device(device))
