"""The cache component: causal, a proper distribution at every position, the Witten-Bell formula, and it
learns a name the moment it has read it once."""
from __future__ import annotations

import numpy as np
import pytest

import charlm.mix.cache
from charlm.mix.cache import cache_nll
from causality import causality_breaks


def reference_nll(x: list[int], order: int, vocab_size: int) -> np.ndarray:
    """Interpolated Witten-Bell over the text before each position, written out with dicts, one position at a time."""
    out = []
    for t in range(1, len(x)):
        p = 1.0 / vocab_size
        for m in range(order):
            if t < m:        # not enough text before t for a context this long
                continue
            h = tuple(x[t - m:t])
            followers = [x[s] for s in range(m, t) if tuple(x[s - m:s]) == h]
            if followers:
                p = (followers.count(x[t]) + len(set(followers)) * p) / (len(followers) + len(set(followers)))
        out.append(-np.log(p))
    return np.array(out)


def random_text(n: int, vocab_size: int, seed: int) -> np.ndarray:
    """Tokens with some structure (a preferred successor), so higher orders have something to find."""
    rng = np.random.default_rng(seed)
    x = [int(rng.integers(vocab_size))]
    for _ in range(n - 1):
        x.append((x[-1] * 2 + 1) % vocab_size if rng.random() < 0.6 else int(rng.integers(vocab_size)))
    return np.array(x, dtype=np.uint8)


@pytest.mark.parametrize("order", [1, 2, 4])
def test_cache_matches_the_formula_written_out(order):
    x = random_text(300, 5, seed=order)
    np.testing.assert_allclose(cache_nll(x, order, 5), reference_nll(x.tolist(), order, 5), rtol=1e-12)


@pytest.mark.parametrize("order", [1, 3, 6])
def test_every_position_is_a_proper_distribution(order):
    # Put each of the V tokens at position t in turn: their probabilities must add up to 1.
    vocab_size, x = 6, random_text(120, 6, seed=10 + order)
    for t in range(1, len(x)):
        total = 0.0
        for token in range(vocab_size):
            alt = x.copy()
            alt[t] = token
            total += np.exp(-cache_nll(alt, order, vocab_size)[t - 1])
        assert total == pytest.approx(1.0, abs=1e-12), f"position {t}"


def leaky(sums_before):
    """cache_nll with its "sum over s < t" replaced by `sums_before(keys, values, exclusive)`, a deliberate leak."""
    exclusive = charlm.mix.cache._sums_before

    def score(tokens, order, vocab_size):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(charlm.mix.cache, "_sums_before", lambda keys, values: sums_before(keys, values, exclusive))
            return cache_nll(tokens, order, vocab_size)
    return score


def whole_text(keys, values, exclusive):
    """Sums over every position with the same key, before t or not."""
    ids = np.unique(keys, return_inverse=True)[1].reshape(-1)
    return np.bincount(ids, weights=values).astype(np.int64)[ids]


CLAUSES = ("change with the text after", "change when token", "sum to probability")   # causality_breaks' lines
LEAKS = {
    # Counts token t, then scores it (the sum runs over s <= t): invisible to changing later text, which is all
    # this test used to do; only the target clause sees it.
    "counts-itself": (leaky(lambda keys, values, exclusive: exclusive(keys, values) + values),
                      ["sum to probability"]),
    # Counts the whole text at every position, the later text included: every clause sees it.
    "counts-the-future": (leaky(whole_text), list(CLAUSES)),
}
CAUSAL_AT = (1, 2, 50, 200, 398)   # the first scored token, the first with a context, inside, the last but one


@pytest.mark.parametrize("t", CAUSAL_AT)
def test_cache_is_causal(t):
    # At token t: its cost reads tokens 0..t-1 only, and x[t] only as the target (tests/causality.py).
    x = random_text(400, 5, seed=7)
    assert causality_breaks(lambda tokens: cache_nll(tokens, 4, 5), x, t, 5) == []


@pytest.mark.parametrize("leak", LEAKS)
def test_the_causality_check_catches_a_leaky_cache(leak):
    score, expected = LEAKS[leak]
    x = random_text(400, 5, seed=7)
    for t in CAUSAL_AT[2:]:
        breaks = causality_breaks(lambda tokens: score(tokens, 4, 5), x, t, 5)
        assert [clause for clause in CLAUSES if any(clause in line for line in breaks)] == expected, (t, breaks)


def test_cache_learns_a_name_it_has_read_once():
    filler = "the whale said that it was a dark and stormy night "
    text = filler * 3 + "queequeg " + filler * 2 + "queequeg "
    alphabet = sorted(set(text))
    x = np.array([alphabet.index(c) for c in text], dtype=np.uint8)
    nll = cache_nll(x, 6, len(alphabet))
    first, second = text.index("queequeg"), text.rindex("queequeg")
    # nll[i - 1] is the cost of character i; the name's first letter is a guess both times.
    cost = [nll[start:start + 7].sum() for start in (first, second)]
    assert cost[1] < cost[0] / 4


def test_cache_order_must_be_positive():
    with pytest.raises(ValueError):
        cache_nll(np.zeros(5, dtype=np.uint8), 0, 3)
