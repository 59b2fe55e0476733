"""Interpolation weights by EM (SRILM's compute-best-mix) and the nll of the weighted mixture.

    member k     nll_k(t)   (K, N) nats, one row per member, one column per scored token
    mixture      p(t) = Σ_k w_k exp(-nll_k(t)),  Σ_k w_k = 1

EM raises the val log-likelihood Σ_t log p(t) at every step: each weight becomes the mean share of
the probability that its member contributes, w_k <- mean_t w_k p_k(t) / p(t). It can crawl: between
near-identical members the likelihood is almost flat, each step moves the weights a little, and the cap
stops it still moving. The fit says so (`converged`), so the mix stage can warn instead of returning quietly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE = 1e-7       # stop when no weight moves more than this in one step
MAX_ITERATIONS = 1000


@dataclass(frozen=True)
class EMFit:
    weights: np.ndarray   # (K,) float64, summing to 1
    iterations: int       # EM steps taken, at most MAX_ITERATIONS
    converged: bool       # the last step moved no weight by TOLERANCE or more; False: stopped by the cap


def fit_weights(nll: np.ndarray) -> EMFit:
    """The (K,) weights, summing to 1, that maximise the likelihood of the (K, N) per-token nll (nats), and
    whether EM got there within MAX_ITERATIONS steps."""
    nll = np.asarray(nll, dtype=np.float64)
    if nll.ndim != 2 or nll.shape[0] < 1 or nll.shape[1] < 1 or not np.isfinite(nll).all():
        raise ValueError(f"fit_weights: expected finite (K, N) nll, got shape {nll.shape}")
    # Each token's probabilities divided by its best member's: the ratios are what EM needs, and the best
    # is exactly 1, so a token every member finds unlikely (nll 30+) cannot underflow the denominator.
    scaled = np.exp(nll.min(axis=0) - nll)          # (K, N) in (0, 1]
    weights = np.full(len(nll), 1.0 / len(nll))
    for step in range(1, MAX_ITERATIONS + 1):
        inverse = 1.0 / (weights @ scaled)           # (N,) 1 / p(t), scaled alike
        updated = weights * (scaled @ inverse) / scaled.shape[1]   # w_k mean_t p_k(t) / p(t)
        updated /= updated.sum()                     # exact in theory; keeps rounding from drifting
        done = np.abs(updated - weights).max() < TOLERANCE
        weights = updated
        if done:
            return EMFit(weights, step, True)
    return EMFit(weights, MAX_ITERATIONS, False)


def mixture_nll(nll: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(N,) float64 nats of the mixture -log Σ_k w_k exp(-nll_k), by logsumexp over the (K, N) nll."""
    nll = np.asarray(nll, dtype=np.float64)
    with np.errstate(divide="ignore"):               # a weight of 0 is log 0 = -inf: that member adds nothing
        log_terms = np.log(np.asarray(weights, dtype=np.float64))[:, None] - nll   # (K, N)
    top = log_terms.max(axis=0)
    return -(top + np.log(np.exp(log_terms - top).sum(axis=0)))
