"""The cache component: causal, a proper distribution at every position, the Witten-Bell formula, and it
learns a name the moment it has read it once."""
from __future__ import annotations

import numpy as np
import pytest

from charlm.mix.cache import cache_nll


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


def test_cache_is_causal():
    x = random_text(400, 5, seed=7)
    nll = cache_nll(x, 4, 5)
    for t in (1, 50, 200, 398):
        changed = x.copy()
        changed[t + 1:] = (changed[t + 1:] + 1) % 5   # every token after t, none at or before it
        assert np.array_equal(cache_nll(changed, 4, 5)[:t], nll[:t]), f"position {t}"
    changed = x.copy()
    changed[200] = (changed[200] + 1) % 5
    assert not np.array_equal(cache_nll(changed, 4, 5)[199:], nll[199:])   # the check can see a change


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
