"""The causal recurrent LM: embedding or one-hot input, an RNN/GRU/LSTM stack, a linear softmax head."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}

# (num_layers, B, hidden_size) for rnn/gru, a pair of them for lstm.
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class RecurrentLM(nn.Module):
    """Predicts token t+1 from tokens ≤ t; `forward(tokens (B, T) int64, state) -> (logits (B, T, V), state)`."""

    def __init__(self, cell: str, vocab_size: int, num_layers: int, hidden_size: int, embedding_size: int,
                 input: str, dropout: float, tie_weights: bool,
                 embedding: nn.Embedding | None = None, decoder: nn.Linear | None = None):
        super().__init__()
        self.vocab_size = vocab_size
        self.one_hot = input == "one_hot"
        input_size = vocab_size if self.one_hot else embedding_size
        # `embedding`/`decoder` given: shared with another direction (the bilstm's backward LM).
        if embedding is None and not self.one_hot:
            embedding = nn.Embedding(vocab_size, embedding_size)
            # N(0, 1) (the default) makes tied logits large at step 0; ±0.1 starts the loss near ln V.
            nn.init.uniform_(embedding.weight, -0.1, 0.1)
        self.embedding = embedding
        # Time-major inside (as cuDNN and oneDNN store sequences): batch_first would copy in and out.
        self.rnn = CELLS[cell](input_size, hidden_size, num_layers, dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        if cell == "lstm":
            # Forget-gate bias 1 (Jozefowicz et al. 2015): gradients flow through c from the first step.
            for name, bias in self.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    nn.init.constant_(bias[hidden_size:2 * hidden_size], 1.0)
                    nn.init.zeros_(self.rnn.get_parameter(name.replace("_ih", "_hh")))
        if decoder is None:
            decoder = nn.Linear(hidden_size, vocab_size)
            nn.init.zeros_(decoder.bias)
            if tie_weights:
                decoder.weight = self.embedding.weight  # (V, H): one matrix reads and writes tokens
        self.decoder = decoder

    def forward(self, tokens: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Logits (B, T, V) for the next token at every position, and the state after the last one."""
        steps = tokens.T                                     # (T, B)
        if self.one_hot:
            x = F.one_hot(steps, self.vocab_size).float()    # (T, B, V)
        else:
            x = self.drop(self.embedding(steps))             # (T, B, E)
        y, state = self.rnn(x, state)                        # (T, B, H)
        return self.decoder(self.drop(y)).transpose(0, 1), state   # (B, T, V), a view

    def directions(self) -> list[tuple[nn.Module, bool]]:
        """The causal LMs this model trains, with whether each reads the text reversed: here just itself."""
        return [(self, False)]
