"""A seeded block bootstrap for bits per character.

Neighbouring characters' losses are strongly correlated (a hard word costs several characters in a
row), so resampling single characters would make the interval far too narrow. Instead the scored text
is cut into contiguous blocks of `block_chars` characters and whole blocks are resampled with
replacement. Each replicate's bpc is its total bits over its total characters (a ratio, so a short last
block weighs what it holds). With the same seed and the same text every model draws the same blocks,
so the intervals of different models are comparable.
"""
from __future__ import annotations

import math

import numpy as np

from charlm.errors import CharlmError

_MAX_CELLS = 1 << 22   # resample in chunks of at most this many block draws, so memory stays small


def block_sums(nll: np.ndarray, widths: np.ndarray, char_pos: np.ndarray, block_chars: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """(nats, characters) summed per block of `block_chars` characters, both (n_blocks,) float64."""
    block = ((char_pos - char_pos.min()) // block_chars).astype(np.int64)
    nats = np.bincount(block, weights=nll)
    chars = np.bincount(block, weights=widths)
    keep = chars > 0   # a block can be empty when a long word spans it
    return nats[keep], chars[keep]


def block_bootstrap_bpc(nll: np.ndarray, widths: np.ndarray, char_pos: np.ndarray, block_chars: int,
                        samples: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    """(low, high) percentile interval for bpc = Σnll / ln 2 / Σwidths, resampling contiguous character blocks."""
    replicates = resampled_ratios(*block_sums(nll, widths, char_pos, block_chars), block_chars, samples, seed)
    alpha = (1 - level) / 2
    low, high = np.quantile(replicates, [alpha, 1 - alpha]) / math.log(2)
    return float(low), float(high)


def resampled_ratios(nats: np.ndarray, chars: np.ndarray, block_chars: int, samples: int, seed: int
                     ) -> np.ndarray:
    """(samples,) nats per character of `samples` draws of the blocks (block_sums' output) with replacement."""
    k = len(nats)
    if k < 2:
        raise CharlmError(f"evaluate.bootstrap_block: {block_chars} characters leaves {k} block in "
                          f"{int(chars.sum())} scored characters; a bootstrap needs at least 2")
    rng = np.random.default_rng(seed)
    replicates = np.empty(samples)
    chunk = max(1, _MAX_CELLS // k)
    for lo in range(0, samples, chunk):
        draws = rng.integers(0, k, size=(min(chunk, samples - lo), k))   # (replicates, blocks)
        replicates[lo:lo + len(draws)] = nats[draws].sum(axis=1) / chars[draws].sum(axis=1)
    return replicates
