"""The honest bidirectional LM (ELMo's biLM): a forward LSTM LM plus a backward LSTM LM on reversed text.

The notebook's `nn.LSTM(bidirectional=True)` feeds the backward half the characters *after* position t
and then asks for character t+1: it reads the answer (d2l: perplexity 1.1, gibberish samples). Here each
direction is a separate causal LM with its own recurrent weights; only the embedding and the softmax
are shared, as in ELMo. The backward LM reads the text reversed, so it predicts the *previous*
character from the ones after it. Training averages the two losses; generation uses the forward LM.
"""
from __future__ import annotations

import torch
from torch import nn

from charlm.models.recurrent import RecurrentLM, State


class BiLM(nn.Module):
    """`forward` is the forward LM's (logits (B, T, V) for token t+1); `directions()` lists both LMs."""

    def __init__(self, vocab_size: int, num_layers: int, hidden_size: int, embedding_size: int, input: str,
                 dropout: float, tie_weights: bool):
        super().__init__()
        sizes = dict(vocab_size=vocab_size, num_layers=num_layers, hidden_size=hidden_size,
                     embedding_size=embedding_size, input=input, dropout=dropout, tie_weights=tie_weights)
        self.forward_lm = RecurrentLM("lstm", **sizes)
        self.backward_lm = RecurrentLM("lstm", **sizes, embedding=self.forward_lm.embedding,
                                       decoder=self.forward_lm.decoder)

    def forward(self, tokens: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """The forward direction's logits (B, T, V) and state: what generation and ranking use."""
        return self.forward_lm(tokens, state)

    def directions(self) -> list[tuple[nn.Module, bool]]:
        """[(forward LM, False), (backward LM, True)]: the second is fed the reversed text."""
        return [(self.forward_lm, False), (self.backward_lm, True)]
