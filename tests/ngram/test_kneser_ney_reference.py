"""Golden test: Kneser-Ney at every order up to 5 against a direct, slow implementation of its formula.

The reference below shares no code with charlm.ngram (no count tables, keys or back-off form): it counts
substrings of the text and evaluates interpolated modified Kneser-Ney (Chen & Goodman) in exact fractions,
recursively, one probability at a time, with the conventions charlm.ngram.smoothing states:

    P_0(w) = 1/V
    P_k(w | c) = (a(cw) - D(a(cw))) / a(c•)
               + (D1·N1(c•) + D2·N2(c•) + D3+·N3+(c•)) / a(c•) · P_{k-1}(w | c[1:])
    a = raw counts at the top order, distinct left neighbours below it (the text's start is one more
        neighbour of its first n-gram); a context followed by nothing falls through: P_k = P_{k-1}
    D1, D2, D3+ per order: D_j = j - (j+1)·Y·n_{j+1}/n_j, Y = n1/(n1 + 2·n2), from that order's counts of
        counts, or 1/2, 1, 3/2 when an n_j is 0 or a D_j leaves (0, j)
    a token with fewer than order-1 tokens before it is scored with the context it has.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from fractions import Fraction

import numpy as np
import pytest

from ngram_fixtures import clean_text, fit

UNK = "#"                                        # stands for <unk>: a character no text here contains
TRAIN = clean_text(200, seed=1)                  # 1,000 characters
HELD_OUT = clean_text(60, seed=9) + " a quick jinx"   # q, j and x never occur in TRAIN: they are <unk>
VOCAB = (UNK, *sorted(set(TRAIN)))
FALLBACK = (Fraction(1, 2), Fraction(1), Fraction(3, 2))


class ReferenceKN:
    """Interpolated modified Kneser-Ney over the characters of `text`, straight from the formula."""

    def __init__(self, text: str, order: int, discount: float | None = None):
        self.order = order
        self.counts = {k: self._counts(text, k) for k in range(1, order + 1)}
        self.discounts = {k: (Fraction(discount),) * 3 if discount is not None else self._discounts(self.counts[k])
                          for k in self.counts}
        self.followers = {k: defaultdict(list) for k in self.counts}   # context -> a(cw) of every w seen after it
        for k, counts in self.counts.items():
            for gram, count in counts.items():
                self.followers[k][gram[:-1]].append(count)

    def _counts(self, text: str, k: int) -> dict[str, int]:
        grams = [text[i:i + k] for i in range(len(text) - k + 1)]
        if k == self.order:
            return Counter(grams)
        left = defaultdict(set)
        for i, gram in enumerate(grams):
            left[gram].add(text[i - 1] if i else "<s>")
        return {gram: len(neighbours) for gram, neighbours in left.items()}

    @staticmethod
    def _discounts(counts: dict[str, int]) -> tuple[Fraction, ...]:
        n = [sum(1 for c in counts.values() if c == j) for j in (1, 2, 3, 4)]
        if min(n) == 0:
            return FALLBACK
        y = Fraction(n[0], n[0] + 2 * n[1])
        d = tuple(j - (j + 1) * y * n[j] / n[j - 1] for j in (1, 2, 3))
        return d if all(0 < d[j - 1] < j for j in (1, 2, 3)) else FALLBACK

    def prob(self, token: str, context: str) -> Fraction:
        """P(token | the last order-1 characters of context)."""
        context = context[max(0, len(context) - self.order + 1):]
        k = len(context) + 1
        lower = self.prob(token, context[1:]) if context else Fraction(1, len(VOCAB))
        seen = self.followers[k].get(context, [])
        if not seen:
            return lower
        d = self.discounts[k]
        discount = lambda count: d[min(count, 3) - 1] if count else 0   # noqa: E731
        total = sum(seen)
        own = self.counts[k].get(context + token, 0)
        return (own - discount(own)) / total + sum(map(discount, seen)) / total * lower


def encode(text: str) -> np.ndarray:
    index = {t: i for i, t in enumerate(VOCAB)}
    return np.array([index.get(c, 0) for c in text], dtype=np.int64)


def reference_log_probs(ref: ReferenceKN, text: str) -> np.ndarray:
    """log P of text[t] given everything before it (up to order-1 characters), t = 1.., in nats."""
    text = "".join(c if c in VOCAB else UNK for c in text)
    return np.array([math.log(ref.prob(text[t], text[:t])) for t in range(1, len(text))])


def _fitted(order: int, discount: float | None = None):
    return fit(encode(TRAIN), len(VOCAB), "kneser_ney", order, discount=discount), ReferenceKN(TRAIN, order, discount)


def test_the_texts_reach_every_case():
    # Closed-form and fallback discounts, held-out contexts never seen in training, and a token never trained on.
    model, _ = _fitted(5)
    assert model.fell_back[0] and not model.fell_back[1:].any()
    assert any(HELD_OUT[i:i + 4] not in TRAIN for i in range(len(HELD_OUT) - 3))
    assert set(HELD_OUT) - set(TRAIN)


@pytest.mark.parametrize("discount", [None, 0.7], ids=["fitted", "hand_set"])
@pytest.mark.parametrize("order", [2, 3, 4, 5])
@pytest.mark.parametrize("text", [TRAIN, HELD_OUT], ids=["train", "held_out"])
def test_scores_equal_the_reference(order, discount, text):
    model, ref = _fitted(order, discount)
    np.testing.assert_allclose(model.log_probs(encode(text)), reference_log_probs(ref, text), rtol=1e-12, atol=0)


@pytest.mark.parametrize("order", [3, 5])
def test_next_token_distributions_equal_the_reference(order):
    model, ref = _fitted(order)
    contexts = ["", "t", "the", " the", "whal", "zzzz", "the#", "#a", TRAIN[-4:], HELD_OUT[:7]]
    for context in contexts:
        expected = [float(ref.prob(token, context)) for token in VOCAB]
        got = np.exp(model.next_log_probs(encode(context)))
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0, err_msg=repr(context))


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_the_reference_tells_a_wrong_discount_apart(k):
    # The golden test can fail: one order's discounts off by 1% move the held-out scores far past its tolerance.
    model, ref = _fitted(4)
    ref.discounts[k] = tuple(d * Fraction(101, 100) for d in ref.discounts[k])
    got, wrong = model.log_probs(encode(HELD_OUT)), reference_log_probs(ref, HELD_OUT)
    assert not np.allclose(got, wrong, rtol=1e-6, atol=0)
