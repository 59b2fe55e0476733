"""Block bootstrap CI for bpc: contains the estimate, shrinks with data, respects blocks, seeded."""
from __future__ import annotations

import math

import numpy as np
import pytest

from charlm.errors import CharlmError
from charlm.evaluate.bootstrap import block_bootstrap_bpc, block_sums


def correlated_losses(n: int, seed: int, run: int = 50) -> np.ndarray:
    """Per-character nats whose level drifts in runs of `run` characters, like hard and easy passages."""
    rng = np.random.default_rng(seed)
    level = np.repeat(rng.gamma(4.0, 0.3, size=n // run + 1), run)[:n]
    return level * rng.exponential(1.0, size=n)


def ci(nll, block=200, samples=400, seed=0, widths=None):
    widths = np.ones(len(nll)) if widths is None else widths
    return block_bootstrap_bpc(nll, widths, np.cumsum(widths) - widths, block, samples, seed)


@pytest.mark.parametrize("seed", range(5))
def test_interval_contains_point_estimate(seed):
    nll = correlated_losses(20_000, seed)
    low, high = ci(nll, seed=seed)
    assert low < nll.sum() / math.log(2) / len(nll) < high


def test_interval_shrinks_with_more_data():
    small, large = correlated_losses(10_000, 1), correlated_losses(160_000, 1)
    w_small, w_large = np.subtract(*ci(small)[::-1]), np.subtract(*ci(large)[::-1])
    # 16x the data: sqrt(16) = 4x narrower in theory; allow plenty of sampling noise.
    assert w_large < w_small / 2.5


def test_blocks_widen_the_interval_for_correlated_losses():
    nll = correlated_losses(40_000, 2, run=200)
    per_char = np.subtract(*ci(nll, block=1)[::-1])
    per_block = np.subtract(*ci(nll, block=1000)[::-1])
    assert per_block > 2 * per_char


def test_seeded_and_seed_sensitive():
    nll = correlated_losses(20_000, 3)
    assert ci(nll, seed=4) == ci(nll, seed=4)
    assert ci(nll, seed=4) != ci(nll, seed=5)


def test_ratio_of_sums_with_uneven_widths():
    # Every token costs exactly 2 nats per character it covers: each replicate, hence the CI, is 2/ln 2.
    widths = np.random.default_rng(0).integers(1, 9, size=3000).astype(float)
    low, high = ci(2.0 * widths, widths=widths)
    assert low == pytest.approx(2 / math.log(2)) and high == pytest.approx(2 / math.log(2))


def test_block_sums_partition_the_text():
    nll, widths = np.arange(10.0), np.full(10, 3.0)
    nats, chars = block_sums(nll, widths, np.arange(10) * 3, block_chars=7)
    assert nats.sum() == nll.sum() and chars.sum() == widths.sum()
    assert nats.tolist() == [0 + 1 + 2, 3 + 4, 5 + 6, 7 + 8 + 9]   # char offsets 0..27, blocks of 7


def test_single_block_is_an_error_naming_the_param():
    with pytest.raises(CharlmError, match="evaluate.bootstrap_block"):
        ci(np.ones(100), block=1000)
