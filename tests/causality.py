"""The causality check for anything that scores a text left to right: the mixture's cache, dynamic evaluation.

A scorer maps tokens (N,) to nll (N-1,) nats, entry j the cost of token j+1. It is causal when the cost of
each token t comes from a distribution over the V tokens that only tokens 0..t-1 decide:

    tokens   x0 x1 ... x(t-1) | x(t) | x(t+1) ...
    cost t   <-- context --->   target   never read

Two things can be seen from outside, and they are exactly that:
  - later text: change every token after t, and the costs of tokens 1..t stay the same;
  - the target: put each of the V tokens at t in turn. The costs before t stay the same, and the V costs of
    token t are one distribution: exp(-cost) sums to 1. A scorer that counted or learned from x(t) before
    scoring it gives whatever stands there extra probability, so the sum exceeds 1. Changing only later
    text cannot see that leak; this can.
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def causality_breaks(score: Callable[[np.ndarray], np.ndarray], tokens: np.ndarray, t: int, vocab_size: int,
                     atol: float = 1e-9) -> list[str]:
    """How `score` (tokens (N,) -> (N-1,) nats) fails to be causal at token t, one line each; [] if it does not.
    atol: how far from 1 the target's probabilities may sum (float32 scores need ~1e-5)."""
    x = np.asarray(tokens)
    base = score(x)
    breaks = []
    later = x.copy()
    later[t + 1:] = (later[t + 1:] + 1 + np.arange(len(x) - t - 1)) % vocab_size   # every later token differs
    if not np.array_equal(score(later)[:t], base[:t]):
        breaks.append(f"the costs of tokens 1..{t} change with the text after token {t}")
    total, moved = 0.0, []
    for token in range(vocab_size):
        alt = x.copy()
        alt[t] = token
        nll = score(alt)
        if not np.array_equal(nll[:t - 1], base[:t - 1]):
            moved.append(str(token))
        total += float(np.exp(-nll[t - 1]))
    if moved:
        breaks.append(f"the costs of tokens 1..{t - 1} change when token {t} is {', '.join(moved)}")
    if abs(total - 1) > atol:
        breaks.append(f"token {t}'s costs over its {vocab_size} possible values sum to probability {total:.6g}, "
                      "not 1: the target took part in its own prediction")
    return breaks
