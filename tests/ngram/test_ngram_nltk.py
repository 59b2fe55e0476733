"""Golden test: Laplace and Lidstone equal nltk.lm's probabilities and perplexity.

Conventions aligned for the comparison:
- vocabulary: charlm's <unk> + the training characters has the same size as nltk's <UNK> + characters;
- padding: charlm models one unpadded stream, so nltk is fitted on unpadded everygrams of the text;
- sequence start: charlm's laplace gives the first order-1 tokens of a sequence (shorter contexts) the
  uniform distribution, nltk its lower-order counts, so positions are compared where the context is full.
- Lidstone: nltk adds γ per vocabulary entry at one order; that is the notebook's unigram formula with
  ε₁ = γ·m, i.e. charlm's additive model at order 1.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from nltk.lm import Laplace, Lidstone
from nltk.util import everygrams, ngrams

from ngram_fixtures import char_vocab, clean_text, encode, fit

TEXT = clean_text(400, seed=5)
TRAIN, HELD_OUT = TEXT[:1600], TEXT[1600:2200]


def _nltk(model_class, order: int, *args):
    lm = model_class(*args, order)
    lm.fit([everygrams(list(TRAIN), max_len=order)], list(TRAIN))
    return lm


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("text", [TRAIN, HELD_OUT], ids=["train", "held_out"])
def test_laplace_equals_nltk(order, text):
    tokens = char_vocab(TRAIN)
    assert set(HELD_OUT) <= set(TRAIN)
    ours = fit(encode(TRAIN, tokens), len(tokens), "laplace", order)
    lm = _nltk(Laplace, order)
    assert len(lm.vocab) == len(tokens)

    grams = list(ngrams(text, order))
    expected = np.array([lm.score(g[-1], g[:-1]) for g in grams])
    got = np.exp(ours.log_probs(encode(text, tokens))[order - 2:] if order > 1 else
                 ours.log_probs(encode(text, tokens)))
    if order == 1:
        expected = expected[1:]   # charlm scores tokens after the first
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0)
    ours_ppl = math.exp(-np.log(got).mean())
    nltk_ppl = lm.perplexity(grams[1:] if order == 1 else grams)
    assert ours_ppl == pytest.approx(nltk_ppl, rel=1e-9)


def test_held_out_has_unseen_contexts_that_stay_finite():
    # The comparison above is only meaningful if it covers contexts nltk never saw.
    seen = {TRAIN[i:i + 3] for i in range(len(TRAIN) - 2)}
    assert any(HELD_OUT[i:i + 3] not in seen for i in range(len(HELD_OUT) - 2))
    tokens = char_vocab(TRAIN)
    nll = -fit(encode(TRAIN, tokens), len(tokens), "laplace", 4).log_probs(encode(HELD_OUT, tokens))
    assert np.isfinite(nll).all()


@pytest.mark.parametrize("gamma", [0.1, 1.0, 2.5])
def test_lidstone_equals_notebook_unigram_formula(gamma):
    tokens = char_vocab(TRAIN)
    m = len(tokens)
    ours = fit(encode(TRAIN, tokens), m, "additive", 1, epsilon=(gamma * m,))
    lm = _nltk(Lidstone, 1, gamma)
    grams = list(ngrams(HELD_OUT, 1))[1:]
    expected = np.array([lm.score(g[0]) for g in grams])
    got = np.exp(ours.log_probs(encode(HELD_OUT, tokens)))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0)
    assert math.exp(-np.log(got).mean()) == pytest.approx(lm.perplexity(grams), rel=1e-9)


def test_laplace_scores_short_contexts_uniformly():
    tokens = char_vocab(TRAIN)
    model = fit(encode(TRAIN, tokens), len(tokens), "laplace", 4)
    logp = model.log_probs(encode(HELD_OUT[:10], tokens))
    np.testing.assert_allclose(logp[:2], -math.log(len(tokens)), rtol=1e-12)
