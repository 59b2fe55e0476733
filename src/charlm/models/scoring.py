"""Streamed scoring of a whole sequence with carried state: what validation and evaluation both use.

    tokens  t0 t1 t2 ... t(N-1)       targets are tokens[1:], inputs tokens[:-1]
    inputs  ┌ stream 0: positions 0 .. L-1      ┐  B contiguous streams of L = ceil((N-1)/B)
            │ stream 1: positions L .. 2L-1     │  (the last one padded), read left to right in
            └ ...                               ┘  chunks of `chunk` columns, state carried across
Each stream starts from a zero state, so only its first few tokens lack context.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def stream_nll(lm: nn.Module, tokens: torch.Tensor, batch_size: int, chunk: int = 256) -> torch.Tensor:
    """nll in nats of tokens[1:] each given all before it (within its stream), shape (N-1,) float64, on the CPU."""
    parts = [-logp.gather(-1, targets[..., None]).squeeze(-1)
             for logp, targets in _stream(lm, tokens, batch_size, chunk)]
    return _text_order(parts, tokens.numel() - 1).double().cpu()


def stream_log_probs(lm: nn.Module, tokens: torch.Tensor, batch_size: int, chunk: int = 256) -> torch.Tensor:
    """log-probabilities in nats of every next token after each of tokens[:-1], read as stream_nll reads
    them, shape (N-1, V) float32 on the CPU: row i is the distribution that stream_nll's entry i scores."""
    parts = [logp.cpu() for logp, _ in _stream(lm, tokens, batch_size, chunk)]
    if not parts:   # nothing to score: still (0, V)
        return torch.zeros(0, vocab_size(lm))
    return _text_order(parts, tokens.numel() - 1)


@torch.no_grad()
def vocab_size(lm: nn.Module) -> int:
    """V, the width of the model's next-token distribution (one step from token 0 tells it)."""
    device = next(lm.parameters()).device
    return lm(torch.zeros(1, 1, dtype=torch.long, device=device), None)[0].shape[-1]


@torch.no_grad()
def _stream(lm: nn.Module, tokens: torch.Tensor, batch_size: int, chunk: int):
    """Yield (log-probabilities (B, C, V) float32, targets (B, C)) chunk by chunk over the B streams."""
    n = tokens.numel() - 1
    if n < 1:
        return
    device = next(lm.parameters()).device
    streams = min(batch_size, n)
    length = math.ceil(n / streams)
    pad = streams * length - n
    inputs = F.pad(tokens[:-1].long(), (0, pad)).view(streams, length).to(device)   # (B, L)
    targets = F.pad(tokens[1:].long(), (0, pad)).view(streams, length).to(device)   # (B, L)
    was_training = lm.training
    lm.eval()
    state = None
    try:
        for start in range(0, length, chunk):
            logits, state = lm(inputs[:, start:start + chunk], state)                   # (B, C, V)
            yield torch.log_softmax(logits.float(), dim=-1), targets[:, start:start + chunk]
    finally:
        lm.train(was_training)


def _text_order(parts: list[torch.Tensor], n: int) -> torch.Tensor:
    """Chunks of the B streams, each (B, C, ...), back in text order: the first n entries, (n, ...)."""
    if not parts:
        return torch.zeros(0, dtype=torch.float32)
    stacked = torch.cat(parts, dim=1)                        # (B, L, ...): stream b holds positions b*L ..
    return stacked.reshape(-1, *stacked.shape[2:])[:n]


def direction_tokens(tokens: torch.Tensor, reverse: bool) -> torch.Tensor:
    """The stream a direction reads: the text itself, or reversed for a backward LM."""
    return tokens.flip(0) if reverse else tokens
