"""Interpolated modified Kneser-Ney: proper distributions, a hand-worked bigram model, and the discounts."""
from __future__ import annotations

from collections import Counter
from fractions import Fraction

import numpy as np
import pytest

from charlm.ngram.smoothing import FALLBACK_DISCOUNTS, kn_discounts
from ngram_fixtures import char_vocab, clean_text, encode, fit

TEXT = clean_text(300, seed=3)


@pytest.mark.parametrize("order, discount", [(1, None), (2, None), (3, None), (4, None), (3, 0.4)])
def test_every_context_sums_to_one(order, discount):
    tokens = char_vocab(TEXT)
    ids = encode(TEXT, tokens)
    model = fit(ids, len(tokens), "kneser_ney", order, discount=discount)
    contexts = {tuple(ids[s:s + length]) for length in range(order) for s in range(len(ids) - length + 1)}
    contexts |= {(0,), (0, 0, 0), tuple(encode("zzq", tokens)) if "q" in tokens else (0, 1, 0)}  # unseen
    for context in contexts:
        probs = np.exp(model.next_log_probs(np.array(context, dtype=np.int64)))
        assert probs.sum() == pytest.approx(1.0, abs=1e-12), context
        assert (probs > 0).all()


def test_hand_computed_bigram_model():
    # Text "aababcabcabb", vocabulary <unk> a b c (V = 4). Counted by hand:
    #   bigrams  aa 1, ab 4, ba 1, bb 1, bc 2, ca 2
    #   contexts a -> {a 1, b 4} (5), b -> {a 1, b 1, c 2} (4), c -> {a 2} (2); the final b precedes nothing
    #   unigram continuation counts N1+(• w): a 3 (after a, b, c) + 1 for starting the text = 4, b 2, c 1, <unk> 0
    # Counts-of-counts are degenerate (no bigram occurs exactly 3 times, no unigram count 3), so both orders
    # use the fallback discounts D1 = 1/2, D2 = 1, D3+ = 3/2.
    tokens = ("<unk>", "a", "b", "c")
    model = fit(encode("aababcabcabb", tokens), 4, "kneser_ney", 2)
    assert model.fell_back.all()
    d = {1: Fraction(1, 2), 2: Fraction(1), 3: Fraction(3, 2)}
    D = lambda count: d[min(count, 3)] if count else 0   # noqa: E731

    cont = {"<unk>": 0, "a": 4, "b": 2, "c": 1}
    total = sum(cont.values())                                          # 7
    gamma1 = sum(D(c) for c in cont.values()) / total                   # (3/2 + 1 + 1/2) / 7
    p1 = {w: (c - D(c)) / Fraction(total) + gamma1 / 4 for w, c in cont.items()}
    assert p1 == {"<unk>": Fraction(3, 28), "a": Fraction(13, 28), "b": Fraction(7, 28), "c": Fraction(5, 28)}

    bigrams = {"a": {"a": 1, "b": 4}, "b": {"a": 1, "b": 1, "c": 2}, "c": {"a": 2}}
    for context, row in bigrams.items():
        n = sum(row.values())
        gamma = sum(D(c) for c in row.values()) / Fraction(n)
        expected = [(row.get(w, 0) - D(row.get(w, 0))) / Fraction(n) + gamma * p1[w] for w in tokens]
        got = np.exp(model.next_log_probs(encode(context, tokens)))
        np.testing.assert_allclose(got, [float(p) for p in expected], rtol=1e-12)
    # An unseen context (<unk>) falls back to the unigram distribution.
    np.testing.assert_allclose(np.exp(model.next_log_probs(np.array([0]))), [float(p1[w]) for w in tokens],
                               rtol=1e-12)
    # P(b | a) by hand: (4 - 3/2)/5 + (1/2 + 3/2)/5 · 7/28 = 1/2 + 1/10 = 3/5
    assert np.exp(model.log_probs(encode("ab", tokens)))[0] == pytest.approx(0.6, rel=1e-12)


def test_discounts_match_closed_form():
    n1, n2, n3, n4 = 1000, 400, 200, 120
    y = n1 / (n1 + 2 * n2)
    expected = [1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3]
    d, fell_back = kn_discounts([n1, n2, n3, n4])
    assert not fell_back
    np.testing.assert_allclose(d, expected, rtol=1e-12)


@pytest.mark.parametrize("counts_of_counts", [[10, 0, 5, 2], [0, 0, 0, 0], [10, 1, 100, 1]])
def test_degenerate_counts_of_counts_fall_back(counts_of_counts):
    d, fell_back = kn_discounts(counts_of_counts)
    assert fell_back and tuple(d) == FALLBACK_DISCOUNTS


def test_fitted_discounts_come_from_adjusted_counts():
    # Raw counts at the top order, continuation counts (distinct left neighbours, +1 for the n-gram that
    # starts the text) below it; the discounts are the closed form on their counts-of-counts.
    text = clean_text(3000, seed=11)
    tokens = char_vocab(text)
    order = 3
    model = fit(encode(text, tokens), len(tokens), "kneser_ney", order)
    for k in (2, 3):
        grams = Counter(text[i:i + k] for i in range(len(text) - k + 1))
        if k < order:
            longer = {text[i:i + k + 1] for i in range(len(text) - k)}
            grams = Counter(g[1:] for g in longer)
            grams[text[:k]] += 1
        coc = Counter(grams.values())
        d, fell_back = kn_discounts([coc[1], coc[2], coc[3], coc[4]])
        assert not fell_back
        np.testing.assert_allclose(model.discounts[k - 1], d, rtol=1e-12)


def test_hand_set_discount_is_used_at_every_order():
    tokens = char_vocab(TEXT)
    model = fit(encode(TEXT, tokens), len(tokens), "kneser_ney", 3, discount=0.25)
    assert (model.discounts == 0.25).all() and not model.fell_back.any()
