"""The fitted n-gram model in back-off form, its fitting, and vectorised scoring.

Sequence start: the first tokens of a sequence have fewer than order-1 tokens before them; they are
scored with the shorter context they have (token t with tokens 0..t-1), as an ARPA reader does.
A held-out split is scored with context from that split only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from charlm.errors import CharlmError
from charlm.ngram import smoothing
from charlm.ngram.counts import as_token_array, count_ngrams, window_keys
from charlm.ngram.hashindex import HashIndex
from charlm.params import NgramParams

_CHUNK = 1 << 20   # targets scored per pass: bounds memory on long sequences


@dataclass(frozen=True)
class NgramModel:
    smoothing: str
    order: int
    vocab_size: int
    keys: tuple[np.ndarray, ...]     # per order k: (entries,) int64 sorted window keys (order 1: 0..V-1)
    logp: tuple[np.ndarray, ...]     # per order k: (entries,) float64 log P(w | c), nats
    logbow: tuple[np.ndarray, ...]   # per order k: (entries,) float64 log back-off weight as a context, nats
    discounts: np.ndarray            # (order, 3) D1, D2, D3+ per order; nan unless kneser_ney
    fell_back: np.ndarray            # (order,) bool: the order used the fallback discounts
    seen: np.ndarray                 # (order,) int64: distinct n-grams per order in the training tokens
    index: tuple[HashIndex, ...] = field(init=False, repr=False, compare=False)   # per order, over keys

    @property
    def num_parameters(self) -> int:
        """Stored probabilities plus back-off weights of contexts."""
        return int(sum(len(k) for k in self.keys) + sum(len(k) for k in self.keys[:-1]))

    def __post_init__(self):
        # Derived lookup structures, rebuilt on load rather than stored.
        object.__setattr__(self, "index", tuple(HashIndex(k) for k in self.keys))

    def log_probs(self, tokens) -> np.ndarray:
        """log P(tokens[t] | tokens[max(0, t-order+1):t]) for t = 1..len-1, shape (len-1,) float64, nats."""
        return self._chunked(as_token_array(tokens, self.vocab_size, "tokens"), None)

    def distributions(self, tokens) -> np.ndarray:
        """log P(w | tokens[max(0, t-order+1):t]) for every token w and t = 1..len-1, shape (len-1, V) float64,
        nats: the full next-token distribution at each position, one vectorised pass per candidate w."""
        x = as_token_array(tokens, self.vocab_size, "tokens")
        out = np.empty((max(len(x) - 1, 0), self.vocab_size))
        for w in range(self.vocab_size):
            out[:, w] = self._chunked(x, w)
        return out

    def _chunked(self, x: np.ndarray, candidate: int | None) -> np.ndarray:
        """_score over x in chunks of _CHUNK targets, each carrying its targets' full context."""
        out = np.empty(max(len(x) - 1, 0))
        for start in range(1, len(x), _CHUNK):
            stop = min(start + _CHUNK, len(x))
            lo = max(start - (self.order - 1), 0)
            out[start - 1:stop - 1] = self._score(x[lo:stop], start - lo, candidate)
        return out

    def _score(self, x: np.ndarray, first: int, candidate: int | None = None) -> np.ndarray:
        """log P(x[t] | up to order-1 tokens before it) for t = first..len(x)-1, in nats; with a `candidate`,
        log P(candidate | the same context) instead."""
        # Like an ARPA reader: look up the longest n-gram; where it is missing, add its context's back-off
        # weight and retry one order lower, only for those targets. Order 1 is dense, so it ends there.
        n, v = self.order, self.vocab_size

        def ending_at(windows: np.ndarray, k: int, t: np.ndarray) -> np.ndarray:
            """Keys of the k-grams ending at targets t; a candidate replaces the target, the last digit."""
            keys = windows[t - k + 1]
            return keys if candidate is None else keys - x[t] + candidate

        out = np.zeros(len(x) - first)
        full = max(first, n - 1)                          # the first target with a full context
        idx = self.index[n - 1].find(ending_at(window_keys(x, n, v), n, np.arange(full, len(x))))
        out[full - first:] = np.where(idx >= 0, self.logp[n - 1][idx], 0.0)
        missed = full + np.flatnonzero(idx < 0)           # targets t not resolved yet
        for k in range(n - 1, 0, -1):
            windows = window_keys(x, k, v)                # windows[s] = x[s:s+k]
            ctx = self.index[k - 1].find(windows[missed - k])          # the missing n-gram's context
            out[missed[ctx >= 0] - first] += self.logbow[k - 1][ctx[ctx >= 0]]
            if first <= k - 1 < len(x):
                missed = np.append(missed, k - 1)        # the target with only k-1 tokens before it
            idx = self.index[k - 1].find(ending_at(windows, k, missed))
            out[missed[idx >= 0] - first] += self.logp[k - 1][idx[idx >= 0]]
            missed = missed[idx < 0]
        return out

    def next_log_probs(self, context) -> np.ndarray:
        """log P(w | context) for every token w, shape (V,) float64, nats; uses the last order-1 tokens."""
        x = as_token_array(context, self.vocab_size, "context")
        v = self.vocab_size
        out = self.logp[0].copy()
        for k in range(2, min(len(x) + 1, self.order) + 1):
            c = int(window_keys(x[len(x) - (k - 1):], k - 1, v)[0])   # the last k-1 tokens
            ci = int(self.index[k - 2].find(np.array([c]))[0])
            if ci < 0:
                continue  # unseen context: this order adds nothing, P_k = P_{k-1}
            out += self.logbow[k - 2][ci]
            lo, hi = np.searchsorted(self.keys[k - 1], [c * v, (c + 1) * v])
            out[self.keys[k - 1][lo:hi] % v] = self.logp[k - 1][lo:hi]
        return out


def fit_ngram(tokens, vocab_size: int, params: NgramParams) -> NgramModel:
    """Count the training tokens and smooth them as `params` says."""
    x = as_token_array(tokens, vocab_size, "training tokens")
    if len(x) < 2:
        raise CharlmError(f"training tokens: need at least 2 tokens to fit an n-gram model, got {len(x)}")
    order, v = params.order, vocab_size
    tables = count_ngrams(x, v, order)
    discounts = np.full((order, 3), np.nan)
    fell_back = np.zeros(order, dtype=bool)
    weights = []
    for k in range(1, order + 1):
        if params.smoothing == "additive":
            weights.append(smoothing.additive(tables, k, v, params.epsilon[k - 1]))
        elif params.smoothing == "laplace":
            weights.append(smoothing.laplace(tables, k, v, order))
        else:
            alpha, gamma, discounts[k - 1], fell_back[k - 1] = smoothing.kneser_ney(
                tables, x, k, v, order, params.discount)
            weights.append((alpha, gamma))
    logp, logbow = smoothing.backoff_form(tables, v, weights)
    seen = np.array([np.count_nonzero(t.counts) for t in tables], dtype=np.int64)
    return NgramModel(params.smoothing, order, v, tuple(t.keys for t in tables), tuple(logp), tuple(logbow),
                      discounts, fell_back, seen)
