"""The paired block bootstrap (evaluate/paired.py) on synthetic scores whose answer is known: it finds a steady
gap that interval overlap calls n.s., it refuses a gap that overlap calls significant, and its interval
covers the true difference at about its nominal rate."""
from __future__ import annotations

import math

import numpy as np
import pytest

from charlm.errors import CharlmError
from charlm.evaluate.bootstrap import block_bootstrap_bpc
from charlm.evaluate.paired import paired_bootstrap

BLOCK, SAMPLES = 100, 1000
N = 20_000                                    # characters: 200 blocks
WIDTHS, POS = np.ones(N, dtype=np.int64), np.arange(N, dtype=np.int64)


def passages(seed: int, spread: float) -> np.ndarray:
    """(N,) nats that vary from block to block by `spread` (hard and easy passages) around 1.2."""
    per_block = np.random.default_rng(seed).normal(0.0, spread, N // BLOCK)
    return 1.2 + np.repeat(per_block, BLOCK)


def noise(seed: int, scale: float) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, scale, N)


def bpc(nll: np.ndarray) -> float:
    return float(nll.sum() / math.log(2) / N)


def overlap_says_ns(a: np.ndarray, b: np.ndarray) -> bool:
    """The report's old rule: n.s. when either estimate lies in the other's 95% interval."""
    (a_lo, a_hi), (b_lo, b_hi) = (block_bootstrap_bpc(x, WIDTHS, POS, BLOCK, SAMPLES, seed=0) for x in (a, b))
    return a_lo <= bpc(b) <= a_hi or b_lo <= bpc(a) <= b_hi


def test_a_steady_gap_on_shared_hard_passages_is_found_where_overlap_says_ns():
    shared = passages(seed=1, spread=0.4)     # both models find the same passages hard
    a = shared + noise(2, 0.05)
    b = shared + noise(3, 0.05) + 0.01        # b pays 0.01 nats more on every character
    assert overlap_says_ns(a, b)
    result = paired_bootstrap(a, b, WIDTHS, POS, BLOCK, SAMPLES, seed=0)
    assert result.significant and result.high < 0 and result.p_value < 0.01
    assert result.diff == pytest.approx(-0.01 / math.log(2), abs=0.002)


def test_a_gap_that_overlap_calls_significant_is_not_when_the_models_err_independently():
    a = passages(seed=4, spread=0.3)
    b_shape = passages(seed=5, spread=0.3)    # independent hard passages: no shared variance
    low, high = block_bootstrap_bpc(a, WIDTHS, POS, BLOCK, SAMPLES, seed=0)
    # Put b's score 1.2 half-widths above a's: each estimate then lies just outside the other's interval,
    # while the difference of two independent scores varies √2 ≈ 1.41 half-widths.
    target = bpc(a) + 1.2 * (high - low) / 2
    b = b_shape + (target - bpc(b_shape)) * math.log(2)
    assert not overlap_says_ns(a, b)
    result = paired_bootstrap(a, b, WIDTHS, POS, BLOCK, SAMPLES, seed=0)
    assert not result.significant and result.p_value > 0.05


def test_the_p_value_agrees_with_the_interval():
    # Both come from the same replicates: p < 0.05 exactly when the 95% interval leaves out 0 (up to how
    # np.quantile interpolates between the two replicates around each 2.5% point).
    shared = passages(seed=11, spread=0.3)
    for gap, seed in ((0.0, 1), (0.002, 2), (0.004, 3), (0.006, 4), (0.01, 5), (0.03, 6)):
        b = shared + noise(100 + seed, 0.3) + gap
        result = paired_bootstrap(shared + noise(200 + seed, 0.3), b, WIDTHS, POS, BLOCK, SAMPLES, seed=seed)
        assert result.significant == (result.p_value < 0.05), (gap, result)


def test_the_interval_covers_the_true_difference_at_about_95_percent():
    # 200 texts, each with its own hard passages and noise, and a true per-character gap of 0.02 nats.
    truth = -0.02 / math.log(2)
    covered = 0
    for trial in range(200):
        shared = passages(seed=1000 + trial, spread=0.3)
        drift = np.repeat(np.random.default_rng(5000 + trial).normal(0, 0.05, N // BLOCK), BLOCK)   # a's own
        a = shared + noise(3000 + trial, 0.3) + drift
        b = shared + noise(7000 + trial, 0.3) + 0.02
        # The interval must cover the population gap, which each text's own noise moves a little.
        result = paired_bootstrap(a, b, WIDTHS, POS, BLOCK, 400, seed=trial)
        covered += result.low <= truth <= result.high
    assert 0.90 <= covered / 200 <= 0.99


def test_identical_scores_differ_by_exactly_zero_and_mismatched_texts_are_refused():
    a = passages(seed=9, spread=0.2)
    result = paired_bootstrap(a, a.copy(), WIDTHS, POS, BLOCK, SAMPLES, seed=0)
    assert (result.diff, result.low, result.high, result.significant) == (0.0, 0.0, 0.0, False)
    assert result.p_value == 1.0 and result.blocks == N // BLOCK and result.samples == SAMPLES
    with pytest.raises(CharlmError, match=r"are not scores of the same text"):
        paired_bootstrap(a, a[:-1], WIDTHS, POS, BLOCK, SAMPLES, seed=0)
    with pytest.raises(CharlmError, match=r"^evaluate\.bootstrap_block: 20000 characters leaves 1 block"):
        paired_bootstrap(a, a, WIDTHS, POS, N, SAMPLES, seed=0)


def test_the_same_seed_draws_the_same_blocks():
    a, b = passages(seed=1, spread=0.3), passages(seed=2, spread=0.3)
    assert paired_bootstrap(a, b, WIDTHS, POS, BLOCK, 300, seed=7) == paired_bootstrap(a, b, WIDTHS, POS, BLOCK, 300, seed=7)
