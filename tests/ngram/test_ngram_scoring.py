"""Vectorised scoring: the same numbers as stepping through next-token distributions, never 0 or inf."""
from __future__ import annotations

import numpy as np
import pytest

from charlm.errors import CharlmError
from charlm.ngram import model as model_module
from ngram_fixtures import char_vocab, clean_text, encode, fit

TEXT = clean_text(300, seed=4)
TRAIN, HELD_OUT = TEXT[:1200], TEXT[1200:1500]
CONFIGS = [("kneser_ney", 5, None, None), ("additive", 3, (1.0, 2.0, 4.0), None), ("laplace", 3, None, None),
           ("kneser_ney", 1, None, None)]


@pytest.mark.parametrize("smoothing, order, epsilon, discount", CONFIGS)
def test_scoring_equals_step_by_step_distributions(smoothing, order, epsilon, discount):
    tokens = char_vocab(TRAIN)
    model = fit(encode(TRAIN, tokens), len(tokens), smoothing, order, epsilon, discount)
    ids = encode(HELD_OUT, tokens)
    ids[50:53] = 0   # <unk> never occurs in training: unseen unigram, contexts and n-grams
    stepped = [model.next_log_probs(ids[max(0, t - order + 1):t])[ids[t]] for t in range(1, len(ids))]
    got = model.log_probs(ids)
    np.testing.assert_allclose(got, stepped, rtol=1e-12)
    assert np.isfinite(got).all() and (got < 0).all()


def test_long_sequences_are_scored_in_chunks_with_full_context(monkeypatch):
    tokens = char_vocab(TRAIN)
    model = fit(encode(TRAIN, tokens), len(tokens), "kneser_ney", 4)
    ids = encode(HELD_OUT, tokens)
    whole = model.log_probs(ids)
    monkeypatch.setattr(model_module, "_CHUNK", 7)
    np.testing.assert_array_equal(model.log_probs(ids), whole)


def test_sequence_start_uses_the_shorter_context():
    tokens = char_vocab(TRAIN)
    model = fit(encode(TRAIN, tokens), len(tokens), "kneser_ney", 4)
    ids = encode(HELD_OUT[:6], tokens)
    logp = model.log_probs(ids)
    assert len(logp) == len(ids) - 1
    assert logp[0] == model.next_log_probs(ids[:1])[ids[1]]
    assert logp[1] == model.next_log_probs(ids[:2])[ids[2]]
    assert model.log_probs(ids[:1]).shape == (0,)


def test_token_ids_outside_the_vocabulary_are_refused():
    tokens = char_vocab(TRAIN)
    with pytest.raises(CharlmError, match="token ids must be in 0.."):
        fit(np.array([1, 2, len(tokens)]), len(tokens), "kneser_ney", 2)
    model = fit(encode(TRAIN, tokens), len(tokens), "kneser_ney", 2)
    with pytest.raises(CharlmError, match="tokens: token ids must be in"):
        model.log_probs(np.array([1, -1, 2]))
