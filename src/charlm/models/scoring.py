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


@torch.no_grad()
def stream_nll(lm: nn.Module, tokens: torch.Tensor, batch_size: int, chunk: int = 256) -> torch.Tensor:
    """nll in nats of tokens[1:] each given all before it (within its stream), shape (N-1,) float64, on the CPU."""
    n = tokens.numel() - 1
    if n < 1:
        return torch.zeros(0, dtype=torch.float64)
    device = next(lm.parameters()).device
    streams = min(batch_size, n)
    length = math.ceil(n / streams)
    pad = streams * length - n
    inputs = F.pad(tokens[:-1].long(), (0, pad)).view(streams, length).to(device)   # (B, L)
    targets = F.pad(tokens[1:].long(), (0, pad)).view(streams, length).to(device)   # (B, L)
    was_training = lm.training
    lm.eval()
    state, out = None, []
    for start in range(0, length, chunk):
        logits, state = lm(inputs[:, start:start + chunk], state)                   # (B, C, V)
        logp = torch.log_softmax(logits.float(), dim=-1)
        out.append(-logp.gather(-1, targets[:, start:start + chunk, None]).squeeze(-1))
    lm.train(was_training)
    return torch.cat(out, dim=1).reshape(-1)[:n].double().cpu()


def direction_tokens(tokens: torch.Tensor, reverse: bool) -> torch.Tensor:
    """The stream a direction reads: the text itself, or reversed for a backward LM."""
    return tokens.flip(0) if reverse else tokens
