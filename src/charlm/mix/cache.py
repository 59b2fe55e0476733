"""The cache: an adaptive character n-gram of the split's own already-scored text, a mixture component.

A trained model knows the training books; the cache knows this book. Once "queequeg" has been read,
the cache predicts its second occurrence almost for free, which is the component that makes a
compressor good at names. It counts only the text before each position, so it stays causal:

    text      x0 x1 x2 ... x(t-1) | x(t) | x(t+1) ...
    counts    <---- seen -------->  scored   never seen at t

Interpolated Witten-Bell over context lengths 0..order-1, bottoming out at a uniform distribution
over the V tokens of the vocabulary, so every position's distribution sums to 1:

    p_m(c | h_m) = (C(h_m c) + T(h_m) p_(m-1)(c | h_(m-1))) / (C(h_m) + T(h_m))     when C(h_m) > 0
                 = p_(m-1)(c | h_(m-1))                                              otherwise
    p_(-1)(c)    = 1 / V

C counts occurrences before t; T(h) is how many distinct tokens followed h before t (Witten-Bell's
escape count, PPM's method C). Everything is computed for all positions at once: for each context
length, a stable sort groups equal keys in text order, and an exclusive running sum inside each group
is "how often before t".
"""
from __future__ import annotations

import numpy as np


def cache_nll(tokens: np.ndarray, order: int, vocab_size: int) -> np.ndarray:
    """(N-1,) float64 nats of tokens 1..N-1 under the cache of `order` (1 = unigram) over the tokens before each."""
    x = np.asarray(tokens, dtype=np.int64)
    return -np.log(_cache_probs(x, order, vocab_size)[1:, 0])


def cache_log_probs(tokens: np.ndarray, order: int, vocab_size: int) -> np.ndarray:
    """(N-1, V) float64 log-probabilities in nats of every token after each of tokens[:-1]: the full
    distribution whose entry for tokens[t] cache_nll scores."""
    x = np.asarray(tokens, dtype=np.int64)
    candidates = np.broadcast_to(np.arange(vocab_size), (len(x), vocab_size))
    return np.log(_cache_probs(x, order, vocab_size, candidates)[1:])


def _cache_probs(x: np.ndarray, order: int, vocab_size: int, candidates: np.ndarray | None = None) -> np.ndarray:
    """(N, C) probability of candidates[t, j] at position t given the tokens before t; without candidates,
    (N, 1) that of the token x[t] itself."""
    if order < 1:
        raise ValueError(f"cache order must be at least 1, got {order}")
    n, base = len(x), vocab_size + 1                 # id vocab_size marks "before the text starts"
    prob = np.full((n, 1) if candidates is None else candidates.shape, 1.0 / vocab_size)   # p_(-1): uniform
    context = np.zeros(n, dtype=np.int64)            # h_0: the empty context, the same everywhere
    for m in range(order):
        if m > 0:                                    # h_m = h_(m-1) and one more token further back
            back = np.full(n, vocab_size, dtype=np.int64)
            back[m:] = x[:-m]
            context = np.unique(context * base + back, return_inverse=True)[1].reshape(-1)
        seen_here = _counts_before(context * base + x)                                           # C(h x_t)
        seen_ngram = (seen_here[:, None] if candidates is None else                               # C(h c)
                      _queries_before(context * base + x, context[:, None] * base + candidates))
        seen_context = _counts_before(context)[:, None]                                          # C(h)
        types = _sums_before(context, seen_here == 0)[:, None]                                   # T(h)
        known = seen_context > 0
        prob = np.where(known, (seen_ngram + types * prob) / np.maximum(seen_context + types, 1), prob)
    return prob


def _queries_before(keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """(N, C) how often queries[t, j] occurs in keys at positions before t."""
    n = len(keys)
    stamped = np.sort(keys * n + np.arange(n))       # key-major, then position: one sorted array
    t = np.arange(n)[:, None]
    return np.searchsorted(stamped, queries * n + t) - np.searchsorted(stamped, queries * n)


def _counts_before(keys: np.ndarray) -> np.ndarray:
    """(N,) how often keys[t] occurs at positions before t."""
    return _sums_before(keys, np.ones(len(keys), dtype=np.int64))


def _sums_before(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(N,) int64 sum of values[s] over s < t with keys[s] == keys[t]."""
    order = np.argsort(keys, kind="stable")           # groups equal keys, each group in text order
    grouped = keys[order]
    v = np.asarray(values, dtype=np.int64)[order]
    before = np.cumsum(v) - v                         # exclusive running sum over the whole sorted array
    starts = np.r_[True, grouped[1:] != grouped[:-1]]                 # (N,) a new group begins here
    group_start = np.flatnonzero(starts)[np.cumsum(starts) - 1]        # (N,) where each one's group begins
    out = np.empty(len(keys), dtype=np.int64)
    out[order] = before - before[group_start]
    return out
