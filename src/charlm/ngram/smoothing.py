"""Smoothing as interpolation weights, turned into the back-off form that scoring and ARPA share.

Every method here is interpolated: for an order-k context c (its last k-1 tokens c' one order down)
    P_k(w | c) = alpha(c, w) + gamma(c) · P_{k-1}(w | c'),      P_0(w) = 1/V (uniform)
with alpha = 0 for a token never seen after c, and a context never seen (or never followed by a
token) falling straight through: P_k = P_{k-1}. So each distribution sums to one whenever the
alphas of a context plus gamma(c) do.

    additive    alpha = n(c,w) / (n(c) + ε_k)          gamma = ε_k / (n(c) + ε_k)
                (the notebook: P̂(x'|x) = (n(x,x') + ε·P̂(x')) / (n(x) + ε); at k = 1 this is
                P̂(x) = (n(x) + ε₁/m) / (n + ε₁) with m = V)
    laplace     top order: alpha = n(c,w) / (n(c) + V), gamma = V / (n(c) + V), i.e.
                (n(c,w) + 1) / (n(c) + V); lower orders: alpha = 0, gamma = 1 (uniform)
    kneser_ney  alpha = (a(c,w) - D(a)) / a(c),  gamma = (D1·N1(c) + D2·N2(c) + D3+·N3+(c)) / a(c)
                a = raw counts at the top order, continuation counts N1+(•w) below it.

n(c) is the number of times c is followed by a token, so it equals Σ_w n(c, w) exactly.
"""
from __future__ import annotations

import numpy as np

from charlm.ngram.counts import CountTable, continuation_counts, parents

# KenLM's --discount_fallback values, used for an order whose counts-of-counts give no valid D.
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)


def kn_discounts(counts_of_counts) -> tuple[np.ndarray, bool]:
    """(D1, D2, D3+) from n1..n4 (how many n-grams occur once, twice, ...) and whether it fell back.

    Closed form (Chen & Goodman): Y = n1 / (n1 + 2·n2), D_j = j - (j+1)·Y·n_{j+1} / n_j. When any
    n_j is 0 or a D_j leaves (0, j), which happens on tiny data, the order uses FALLBACK_DISCOUNTS.
    """
    n = [float(c) for c in counts_of_counts]
    if min(n) > 0:
        y = n[0] / (n[0] + 2 * n[1])
        d = np.array([j - (j + 1) * y * n[j] / n[j - 1] for j in (1, 2, 3)])
        if all(0 < d[j - 1] < j for j in (1, 2, 3)):
            return d, False
    return np.array(FALLBACK_DISCOUNTS), True


def context_totals(tables: list[CountTable], k: int, values: np.ndarray, vocab_size: int) -> np.ndarray:
    """Σ over each order-k context's entries of `values`, shape (order k-1 entries,) float64."""
    ctx, _ = parents(tables, k, vocab_size)
    size = 1 if k == 1 else len(tables[k - 2].keys)
    return np.bincount(ctx, weights=values.astype(np.float64), minlength=size)


def _weights(tables, k, vocab_size, own: np.ndarray, mass: np.ndarray, total: np.ndarray):
    """alpha = own / total[context], gamma = mass / total (1 where the context has no data)."""
    ctx, _ = parents(tables, k, vocab_size)
    alpha = np.divide(own, total[ctx], out=np.zeros(len(own)), where=total[ctx] > 0)
    gamma = np.divide(mass, total, out=np.ones(len(total)), where=total > 0)
    return alpha, gamma


def additive(tables, k: int, vocab_size: int, epsilon: float):
    """(alpha per order-k entry, gamma per context) for the notebook's add-ε at order k."""
    n_c = context_totals(tables, k, tables[k - 1].counts, vocab_size)
    return _weights(tables, k, vocab_size, tables[k - 1].counts.astype(np.float64),
                    np.full(len(n_c), float(epsilon)), n_c + epsilon)


def laplace(tables, k: int, vocab_size: int, order: int):
    """(alpha, gamma) for add-one at the top order; lower orders are uniform (alpha 0, gamma 1)."""
    if k < order:
        size = 1 if k == 1 else len(tables[k - 2].keys)
        return np.zeros(len(tables[k - 1].keys)), np.ones(size)
    return additive(tables, k, vocab_size, float(vocab_size))


def kneser_ney(tables, x: np.ndarray, k: int, vocab_size: int, order: int, discount: float | None):
    """(alpha, gamma, (D1, D2, D3+), fell_back) for interpolated modified Kneser-Ney at order k."""
    a = tables[k - 1].counts if k == order else continuation_counts(tables, x, k, vocab_size)
    if discount is not None:
        d, fell_back = np.full(3, float(discount)), False
    else:
        d, fell_back = kn_discounts([np.count_nonzero(a == j) for j in (1, 2, 3, 4)])
    # D(a): D1 for a = 1, D2 for a = 2, D3+ for a >= 3, nothing to discount for a = 0.
    per_entry = np.where(a >= 3, d[2], np.where(a == 2, d[1], np.where(a == 1, d[0], 0.0)))
    total = context_totals(tables, k, a, vocab_size)
    mass = context_totals(tables, k, per_entry, vocab_size)
    alpha, gamma = _weights(tables, k, vocab_size, a - per_entry, mass, total)
    return alpha, gamma, d, fell_back


def backoff_form(tables, vocab_size: int, weights: list) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Natural-log probabilities of every entry and back-off weights of every context.

    Returns (logp, logbow): logp[k-1] has one value per order-k entry, the full interpolated
    log P_k(w | c); logbow[k-1] has one value per order-k entry used as a context for order k+1,
    log gamma (0 for the top order and for contexts never followed by a token). Then for any (c, w)
    not in the table, P(w | c) = bow(c) · P(w | c') exactly: the ARPA back-off semantics.
    """
    logp, logbow = [], []
    lower = np.full(1, 1.0 / vocab_size)
    for k, (alpha, gamma) in enumerate(weights, start=1):
        ctx, suffix = parents(tables, k, vocab_size)
        below = lower[suffix] if k > 1 else np.full(len(alpha), 1.0 / vocab_size)
        p = alpha + gamma[ctx] * below
        logp.append(np.log(p))
        if k > 1:
            logbow.append(np.log(gamma))
        lower = p
    logbow.append(np.zeros(len(logp[-1])))
    return logp, logbow
