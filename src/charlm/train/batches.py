"""Batch layouts as pure functions of (number of tokens, params, generator).

An epoch is a (num_batches, B) tensor of start positions; batch i row b is tokens[s : s + T + 1]
with s = starts[i, b] (inputs are its first T tokens, targets its last T).

    sequential (the notebook's): a random offset o, then B contiguous rows of the stream, read left
    to right T columns at a time, so row b of batch i+1 continues row b of batch i and the hidden
    state is carried across batches (detached: truncated BPTT).

        o ─┬─ row 0: [batch 0][batch 1][batch 2] ...
           ├─ row 1: [batch 0][batch 1][batch 2] ...
           └─ ...

    random (d2l's): a random offset o, the windows o, o+T, o+2T, ... shuffled and dealt B per batch;
    windows of one row are unrelated, so the state is reset every batch.
"""
from __future__ import annotations

import torch

from charlm.errors import CharlmError


def min_tokens(batch_size: int, num_steps: int) -> int:
    """Fewest tokens that give every random offset at least one batch of B rows × (T + 1) tokens."""
    return batch_size * num_steps + num_steps


def check_length(num_tokens: int, batch_size: int, num_steps: int, split: str) -> None:
    """Raise a CharlmError naming the split when it cannot fill one batch."""
    need = min_tokens(batch_size, num_steps)
    if num_tokens < need:
        raise CharlmError(f"{split} split: {num_tokens} tokens is shorter than one batch (batch_size {batch_size}"
                          f" × num_steps {num_steps} + {num_steps} for the random offset = {need}); "
                          f"use more data or smaller train.batch_size/num_steps")


def tokens_per_epoch(num_tokens: int, batch_size: int, num_steps: int) -> int:
    """Targets in one epoch at offset 0: whole batches of B rows × T tokens (the unit of train.max_epochs)."""
    return (num_tokens - 1) // batch_size // num_steps * batch_size * num_steps


def epoch_starts(num_tokens: int, batch_size: int, num_steps: int, iterator: str,
                 generator: torch.Generator) -> torch.Tensor:
    """Start positions (num_batches, B) int64 of one epoch; draws from `generator` (offset, shuffle)."""
    check_length(num_tokens, batch_size, num_steps, "train")
    offset = int(torch.randint(0, num_steps, (), generator=generator))
    usable = num_tokens - offset - 1                     # the last token is only ever a target
    if iterator == "sequential":
        row_len = usable // batch_size                   # tokens per row
        num_batches = row_len // num_steps
        rows = offset + row_len * torch.arange(batch_size)                      # (B,)
        return rows[None, :] + num_steps * torch.arange(num_batches)[:, None]   # (num_batches, B)
    if iterator == "random":
        windows = usable // num_steps
        num_batches = windows // batch_size
        order = torch.randperm(windows, generator=generator)[:num_batches * batch_size]
        return (offset + num_steps * order).view(num_batches, batch_size)
    raise ValueError(f"unknown iterator {iterator!r}")


def carries_state(iterator: str) -> bool:
    """Whether row b of batch i+1 continues row b of batch i (so the hidden state is carried)."""
    return iterator == "sequential"


def gather_batch(tokens: torch.Tensor, starts: torch.Tensor, num_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets), each (B, T) int64, for one row of `epoch_starts`."""
    window = tokens[starts[:, None] + torch.arange(num_steps + 1, device=starts.device)]   # (B, T + 1)
    return window[:, :-1], window[:, 1:]
