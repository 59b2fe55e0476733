"""The notebook's add-ε smoothing, order by order, against the formula computed directly from counts.

    P̂(x) = (n(x) + ε₁/m) / (n + ε₁)
    P̂(x'|x) = (n(x,x') + ε₂·P̂(x')) / (n(x) + ε₂)
    P̂(x''|x,x') = (n(x,x',x'') + ε₃·P̂(x''|x')) / (n(x,x') + ε₃)     (the notebook writes P̂(x'') here)

n(context) counts the context's occurrences that are followed by a token.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ngram_fixtures import char_vocab, clean_text, encode, fit

TEXT = clean_text(200, seed=8)
TRAIN, HELD_OUT = TEXT[:800], TEXT[800:1100]
EPSILON = (0.7, 3.0, 5.0)


def _reference(train: str, tokens, epsilon):
    """P(w | context) by the formulas above, straight from Counters."""
    m = len(tokens)
    grams = {k: Counter(train[i:i + k] for i in range(len(train) - k + 1)) for k in (1, 2, 3)}
    followed = {k: Counter(train[i:i + k] for i in range(len(train) - k)) for k in (1, 2)}

    def prob(context: str, w: str) -> float:
        if not context:
            return (grams[1][w] + epsilon[0] / m) / (len(train) + epsilon[0])
        k = len(context) + 1
        lower = prob(context[1:], w)
        return (grams[k][context + w] + epsilon[k - 1] * lower) / (followed[k - 1][context] + epsilon[k - 1])

    return prob


@pytest.mark.parametrize("order", [1, 2, 3])
def test_additive_matches_the_notebook_formula(order):
    tokens = char_vocab(TRAIN)
    model = fit(encode(TRAIN, tokens), len(tokens), "additive", order, epsilon=EPSILON[:order])
    prob = _reference(TRAIN, tokens, EPSILON)
    text = HELD_OUT + "zq"   # "zq" and "qz" never occur: unseen contexts and n-grams
    text = "".join(c for c in text if c in tokens)
    seen = {TRAIN[i:i + 2] for i in range(len(TRAIN) - 1)}
    assert any(text[i:i + 2] not in seen for i in range(len(text) - 1))
    expected = [prob(text[max(0, t - order + 1):t], text[t]) for t in range(1, len(text))]
    np.testing.assert_allclose(np.exp(model.log_probs(encode(text, tokens))), expected, rtol=1e-12)


def test_additive_distributions_sum_to_one():
    tokens = char_vocab(TRAIN)
    ids = encode(TRAIN, tokens)
    model = fit(ids, len(tokens), "additive", 3, epsilon=EPSILON)
    for context in [ids[:0], ids[:1], ids[5:7], np.array([0, 0])]:
        assert np.exp(model.next_log_probs(context)).sum() == pytest.approx(1.0, abs=1e-12)
