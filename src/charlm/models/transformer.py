"""A small causal Transformer LM (GPT-style: pre-LayerNorm, GELU MLP, tied embeddings, learned positions).

It keeps the RNNs' contract, `forward(tokens (B, T), state) -> (logits (B, T, V), state)`, so training,
evaluation and generation never ask which architecture they hold. Its state is recent text: the token
ids the next window still needs. Windows of `context` tokens slide along the stream by `stride`:

    stream    0 ............ context-1 | stride | stride | ...
    window 1  [───────── context ─────]                         scores tokens 0 .. context-1
    window 2           [───────── context ─────────]            scores only its last `stride` tokens
    window 3                    [───────── context ─────────]   ...

Every token is scored exactly once, in the one window that ends with its block, so once a stream is
longer than `context` every token is predicted from at least `context - stride` tokens before it (the
first window's tokens see everything there is). A token's window depends only on its position in the
stream, never on how the stream was cut into calls: scoring in chunks, one token at a time (generation)
or in one pass gives the same numbers, which is also why no KV cache is needed for exact generation.

Positions are learned rather than rotary: every window is read from position 0, exactly as in training,
so a learned table of `context` rows covers every case and is the simpler of the two.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class Block(nn.Module):
    """x + attention(LN(x)), then x + MLP(LN(x)): pre-LN keeps gradients well-scaled without warm-up tricks."""

    def __init__(self, hidden_size: int, num_heads: int, dropout: float):
        super().__init__()
        self.num_heads, self.dropout = num_heads, dropout
        self.ln1, self.ln2 = nn.LayerNorm(hidden_size), nn.LayerNorm(hidden_size)
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size)
        self.proj = nn.Linear(hidden_size, hidden_size)
        self.mlp = nn.Sequential(nn.Linear(hidden_size, 4 * hidden_size), nn.GELU(),
                                 nn.Linear(4 * hidden_size, hidden_size))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, self.num_heads, D // self.num_heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)  # (B, h, T, d)
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(B, T, D)))
        return x + self.drop(self.mlp(self.ln2(x)))


class TransformerLM(nn.Module):
    """Predicts token t+1 from at most `context` tokens ending at t (see the module docstring)."""

    def __init__(self, vocab_size: int, hidden_size: int, num_layers: int, num_heads: int, context: int,
                 stride: int, dropout: float):
        super().__init__()
        self.vocab_size, self.context, self.stride = vocab_size, context, stride
        self.embedding = nn.Embedding(vocab_size, hidden_size)
        self.positions = nn.Embedding(context, hidden_size)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(hidden_size, num_heads, dropout) for _ in range(num_layers))
        self.ln_f = nn.LayerNorm(hidden_size)
        # GPT-2 initialisation: N(0, 0.02), residual projections shrunk by sqrt(2 * layers) so the residual
        # stream's variance does not grow with depth; small tied logits start the loss at ln V.
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)
        for block in self.blocks:
            for layer in (block.proj, block.mlp[2]):
                nn.init.normal_(layer.weight, std=0.02 / math.sqrt(2 * num_layers))

    def forward(self, tokens: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, T, V) for the next token at every position, and the history the next call needs."""
        history = tokens[:, :0] if state is None else state
        pieces, start = [], 0
        while start < tokens.size(1):
            # The current window holds `history` and can still take context - len(history) new tokens.
            window = torch.cat([history, tokens[:, start:start + self.context - history.size(1)]], dim=1)
            taken = window.size(1) - history.size(1)
            pieces.append(self._window(window)[:, -taken:])
            start += taken
            # A full window slides by `stride`; a partial one (the call ended) waits for more tokens.
            history = window[:, self.stride:] if window.size(1) == self.context else window
        return torch.cat(pieces, dim=1), history

    def _window(self, window: torch.Tensor) -> torch.Tensor:
        """Logits for every position of one window of at most `context` tokens, read from position 0."""
        x = self.embedding(window) + self.positions.weight[:window.size(1)]
        x = self.drop(x)
        for block in self.blocks:
            x = block(x)
        return F.linear(self.ln_f(x), self.embedding.weight)   # tied: one matrix reads and writes tokens

    def directions(self) -> list[tuple[nn.Module, bool]]:
        """The causal LMs this model trains, with whether each reads the text reversed: here just itself."""
        return [(self, False)]
