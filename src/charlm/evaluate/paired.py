"""A paired block bootstrap: is one model's bpc on a text really lower than another's on the same text?

    model a     nll_a(t)  ┐  the same tokens, so one difference per token
    model b     nll_b(t)  ┘  d(t) = nll_a(t) − nll_b(t)
    blocks      |── block_chars ──|── block_chars ──| …    whole blocks resampled with replacement
    replicate   Δ* = Σ d / ln 2 / Σ characters over the drawn blocks
    interval    the percentiles of Δ*;  p-value: twice the share of Δ* on the far side of 0

Why paired: hard passages are hard for every model, so two models' bpc move together from one block to
the next. Their separate intervals carry that shared variance; the difference does not. The rule
"n.s. when either estimate lies in the other's interval" is therefore wrong both ways. It calls a small
gap n.s. even when every block agrees on it. It calls a gap significant when each estimate falls just
outside the other's interval, though for two models that err independently the difference varies
√2 times as much as either score. Blocks of characters rather than single tokens, because neighbouring
costs are correlated (bootstrap.py); both models are resampled with the same blocks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from charlm.evaluate.bootstrap import block_sums, resampled_ratios
from charlm.errors import CharlmError

@dataclass(frozen=True)
class PairedDiff:
    """bpc of a minus bpc of b on the same text (negative: a is better), its interval and p-value."""
    diff: float
    low: float
    high: float
    p_value: float       # two-sided, for "no difference": at least 2 / (samples + 1), at most 1
    blocks: int
    samples: int

    @property
    def significant(self) -> bool:
        """Whether the interval excludes 0: what the report's "n.s." denies."""
        return not self.low <= 0.0 <= self.high


def paired_bootstrap(nll_a: np.ndarray, nll_b: np.ndarray, widths: np.ndarray, char_pos: np.ndarray,
                     block_chars: int, samples: int, seed: int, level: float = 0.95) -> PairedDiff:
    """The paired block bootstrap of bpc(a) − bpc(b) over the same scored tokens: nll in nats, (N,) each,
    with each token's width in characters and its character offset (splits.py)."""
    nll_a, nll_b = np.asarray(nll_a, dtype=np.float64), np.asarray(nll_b, dtype=np.float64)
    if nll_a.shape != nll_b.shape or nll_a.shape != np.shape(widths):
        raise CharlmError(f"paired bootstrap: scores of {nll_a.shape} and {nll_b.shape} tokens for a text of "
                          f"{np.shape(widths)} are not scores of the same text")
    nats, chars = block_sums(nll_a - nll_b, widths, char_pos, block_chars)
    replicates = resampled_ratios(nats, chars, block_chars, samples, seed)     # nats per character
    alpha = (1 - level) / 2
    low, high = np.quantile(replicates, [alpha, 1 - alpha]) / math.log(2)
    # From the same replicates as the interval, so "p < 0.05" and "the interval excludes 0" agree.
    tail = min(np.count_nonzero(replicates <= 0), np.count_nonzero(replicates >= 0))
    p_value = min(1.0, 2 * (tail + 1) / (samples + 1))
    return PairedDiff(float(nats.sum() / chars.sum() / math.log(2)), float(low), float(high), p_value, len(nats),
                      samples)
