"""When a stream of per-token losses says the model has blown up: by what the numbers mean, not by overflow.

A blown-up model does not reliably produce inf or nan. Which one it produces depends on the CPU's kernels:
with lr 1e30, dynamic evaluation of an LSTM on AVX2 kernels overflows to nan, while on AVX-512 kernels
the gates saturate and the nll stays finite. Those costs reach 1e30 nats per character, and some
characters cost exactly 0. So the rule asks what any working model guarantees: over a stretch of text
it pays less than a uniform guess over the vocabulary (ln V nats a token), and never many times more.

    diverged  <=>  some nll is inf or nan,
              or   the mean nll of some WINDOW consecutive tokens exceeds LIMIT × ln V
              or   one token alone costs more than WINDOW × LIMIT × ln V (every window holding it is over)

- Why a window and not one token: a healthy model may pay 10+ nats for one rare character (3-4 × ln 28).
  Over 32 tokens, the mean of a trained model stays below ln V, and an untrained one sits at ln V.
  So twice the uniform cost means the model has stopped predicting. Fewer than WINDOW tokens make no
  window: there only the non-finite and the one-token rule apply, so the first tokens of a split are
  judged as they are in the whole split.
- Why not "a probability of exactly 1": in float32 any logit gap above ~17 nats rounds p to 1. A model
  adapting to a repeated passage gets there honestly, and a saturated one also pays huge nll elsewhere,
  which the mean catches.
- Why not "far above the same text's static cost": that needs a second forward pass over every segment
  of dynamic evaluation (a third more time), and the uniform cost already separates the two cases by
  orders of magnitude.
"""
from __future__ import annotations

import math

import numpy as np

from charlm.errors import CharlmError

WINDOW = 32      # tokens per mean: long enough that one rare character cannot trip the rule
LIMIT = 2.0      # × ln V, the cost of a uniform guess


class Diverged(CharlmError):
    """A run blew up; the message says where and how, and the caller prefixes the param key to lower."""


def limit_nats(vocab_size: int) -> float:
    """The mean nll (nats a token) above which a stretch of text counts as diverged."""
    return LIMIT * math.log(max(vocab_size, 2))


def mean_diverged(mean_nll: float, vocab_size: int) -> bool:
    """Whether a mean over many tokens (a training interval's loss, a val score) says the model blew up."""
    return not math.isfinite(mean_nll) or mean_nll > limit_nats(vocab_size)


def describe_mean(mean_nll: float, vocab_size: int) -> str:
    """Why mean_diverged said so, for an error message."""
    if not math.isfinite(mean_nll):
        return f"{mean_nll} nats"
    return f"{mean_nll:.4g} nats, more than {_over_uniform(vocab_size)}"


def first_diverged(nll: np.ndarray, vocab_size: int) -> int | None:
    """Index into `nll` (nats, (N,)) of the first token where the model had blown up, or None if it had not.

    That is the first non-finite value or, if earlier, a token of the first window whose mean is over the
    limit: the first whose cost alone puts the window over it, else (a drift) the costliest.
    """
    nll = np.asarray(nll, dtype=np.float64).ravel()
    limit = limit_nats(vocab_size)
    finite = np.isfinite(nll)
    first_bad = int(np.argmin(finite)) if not finite.all() else len(nll)
    alone = np.flatnonzero(nll > WINDOW * limit)   # nan compares False: it is first_bad's already
    if len(alone):
        first_bad = min(first_bad, int(alone[0]))
    if len(nll) >= WINDOW:
        # Window sums from one cumulative sum. Huge values spoil later windows by cancellation, but only
        # the first window over the limit is read, and every window before it holds ordinary numbers.
        sums = np.concatenate([[0.0], np.cumsum(np.where(finite, nll, 0.0))])
        over = np.flatnonzero((sums[WINDOW:] - sums[:-WINDOW]) / WINDOW > limit)
        if len(over) and over[0] < first_bad:
            start = int(over[0])
            first_bad = min(first_bad, start + int(np.argmax(nll[start:start + WINDOW])))
    return None if first_bad == len(nll) else first_bad


def diverged_at(nll: np.ndarray, vocab_size: int, first_token: int = 0) -> str | None:
    """'diverged at token N (what it cost)' when first_diverged finds a token, else None; nll[i] is the cost
    of token first_token + i."""
    index = first_diverged(nll, vocab_size)
    if index is None:
        return None
    return f"diverged at token {first_token + index:,} ({describe(nll, index, vocab_size)})"


def describe(nll: np.ndarray, index: int, vocab_size: int) -> str:
    """What the tokens at `index` (from first_diverged) cost, for an error message."""
    nll = np.asarray(nll, dtype=np.float64).ravel()
    if not np.isfinite(nll[index]):
        return f"nll {nll[index]}"
    text = f"nll {nll[index]:.3g} nats there"
    # The worst full window that holds `index` and nothing non-finite: first_diverged found it over the limit.
    stretch = nll[max(0, index - WINDOW + 1):index + WINDOW]
    if len(stretch) >= WINDOW:
        means = np.lib.stride_tricks.sliding_window_view(stretch, WINDOW).mean(axis=1)
        means = means[np.isfinite(means)]
        if len(means):
            text += f", and a mean of {means.max():.3g} over {WINDOW} tokens"
    return f"{text}, more than {_over_uniform(vocab_size)}"


def _over_uniform(vocab_size: int) -> str:
    return f"{LIMIT:g} × ln {vocab_size} = {limit_nats(vocab_size):.2f}, the cost of a uniform guess"
