"""Batch layouts: in bounds, contiguous rows for the sequential iterator, disjoint windows for random."""
from __future__ import annotations

import pytest
import torch

from charlm.errors import CharlmError
from charlm.train.batches import epoch_starts, gather_batch, min_tokens

N, B, T = 1000, 4, 16


def _starts(iterator: str, seed: int = 0, n: int = N) -> torch.Tensor:
    return epoch_starts(n, B, T, iterator, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("iterator", ["sequential", "random"])
def test_every_window_is_in_bounds_and_seeded(iterator):
    starts = _starts(iterator)
    assert starts.shape[1] == B and starts.dtype == torch.int64
    assert starts.min() >= 0 and starts.max() + T + 1 <= N
    assert torch.equal(starts, _starts(iterator))
    assert any(not torch.equal(starts, _starts(iterator, seed)) for seed in range(1, 5))


def test_sequential_rows_continue_across_batches():
    starts = _starts("sequential")
    assert torch.equal(starts[1:] - starts[:-1], torch.full_like(starts[1:], T))
    # and nearly all tokens are used: the rows tile the stream after the offset
    assert starts.numel() * T > N - B * T - T


def test_random_windows_are_disjoint_and_aligned():
    starts = _starts("random").flatten()
    assert len(set(starts.tolist())) == starts.numel()
    offset = int(starts.min()) % T
    assert all((s - offset) % T == 0 for s in starts.tolist())


def test_gather_batch_shifts_targets_by_one():
    tokens = torch.arange(N)
    inputs, targets = gather_batch(tokens, torch.tensor([0, 100, 200, 300]), T)
    assert inputs.shape == targets.shape == (B, T)
    assert torch.equal(targets, inputs + 1) and int(inputs[1, 0]) == 100


def test_a_split_shorter_than_one_batch_is_a_clear_error():
    with pytest.raises(CharlmError, match=r"train split: 50 tokens is shorter than one batch \(batch_size 4 × num_steps 16"):
        _starts("sequential", n=50)
    _starts("sequential", n=min_tokens(B, T))   # exactly enough is fine for every offset
    for seed in range(20):
        assert len(epoch_starts(min_tokens(B, T), B, T, "random", torch.Generator().manual_seed(seed))) >= 1
