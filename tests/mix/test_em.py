"""EM interpolation weights: the optimum of the fitting data's likelihood, never worse than a single member, and a
fit stopped by the step cap says so."""
from __future__ import annotations

import numpy as np
import pytest

from charlm.mix.em import MAX_ITERATIONS, TOLERANCE, fit_weights, mixture_nll


def two_members(n: int = 4000, seed: int = 0) -> np.ndarray:
    """(2, n) nll of two members that each win on a different part of the text, so the best mix is inside (0, 1)."""
    rng = np.random.default_rng(seed)
    first_wins = rng.random(n) < 0.3
    p = np.stack([np.where(first_wins, 0.9, 0.02), np.where(first_wins, 0.05, 0.7)]) * rng.uniform(0.5, 1, (2, n))
    return -np.log(p)


def mean_nll(nll: np.ndarray, weights) -> float:
    return float(mixture_nll(nll, np.asarray(weights)).mean())


def test_em_finds_the_likelihood_optimum_of_a_brute_force_grid():
    nll = two_members()
    grid = np.linspace(0, 1, 10001)
    best = grid[np.argmin([mean_nll(nll, [w, 1 - w]) for w in grid])]
    weights = fit_weights(nll).weights
    assert 0.05 < best < 0.95   # an interior optimum, so this is not a test of a boundary
    assert weights[0] == pytest.approx(best, abs=1e-3)
    assert weights.sum() == pytest.approx(1, abs=1e-12)


def test_em_is_never_worse_than_any_single_member_on_the_fitting_data():
    rng = np.random.default_rng(1)
    nll = rng.gamma(2.0, 1.0, (4, 3000)) + np.array([[0.0], [0.3], [0.5], [0.2]])
    weights = fit_weights(nll).weights
    assert (weights >= 0).all() and weights.sum() == pytest.approx(1, abs=1e-12)
    assert mean_nll(nll, weights) <= nll.mean(axis=1).min() + 1e-12
    assert mean_nll(nll, weights) < mean_nll(nll, np.full(4, 0.25))   # EM moved somewhere better than its start


def test_a_useless_member_gets_almost_no_weight():
    nll = two_members()
    useless = np.vstack([nll, nll[:1] + 3.0])   # member 0 again, 20x less likely everywhere
    assert fit_weights(useless).weights[2] < 1e-3


def test_tiny_probabilities_do_not_underflow():
    # exp(-800) is 0 in float64: computed naively every member would be 0 and the weights 0/0.
    nll = two_members()
    far = fit_weights(nll + 800.0).weights
    assert np.isfinite(far).all()
    np.testing.assert_allclose(far, fit_weights(nll).weights, atol=1e-9)
    assert np.isfinite(mixture_nll(nll + 800.0, far)).all()


def test_em_is_deterministic():
    nll = two_members(seed=3)
    a, b = fit_weights(nll), fit_weights(nll.copy())
    assert np.array_equal(a.weights, b.weights) and (a.iterations, a.converged) == (b.iterations, b.converged)


def near_twins(n: int = 1000, seed: int = 0) -> np.ndarray:
    """(2, n) nll of two members that differ by a little noise: the likelihood is almost flat between them."""
    rng = np.random.default_rng(seed)
    base = rng.gamma(2.0, 1.0, n)
    return np.stack([base, base + 0.03 * rng.standard_normal(n)])


def test_a_fit_that_settles_says_it_converged_and_when():
    fit = fit_weights(two_members())
    assert fit.converged and 1 < fit.iterations < MAX_ITERATIONS
    # Stopped for the stated reason: one more step moves no weight by TOLERANCE.
    scaled = np.exp(-two_members())
    again = fit.weights * (scaled @ (1.0 / (fit.weights @ scaled))) / scaled.shape[1]
    assert np.abs(again / again.sum() - fit.weights).max() < TOLERANCE


def test_a_fit_the_cap_stops_says_it_did_not_converge():
    # Near-identical members: each EM step moves the weights by ~1e-5, far above TOLERANCE, for thousands of steps.
    fit = fit_weights(near_twins())
    assert not fit.converged and fit.iterations == MAX_ITERATIONS
    assert fit.weights.sum() == pytest.approx(1, abs=1e-12)   # still weights, just not the optimum's yet


def test_mixture_nll_is_minus_log_of_the_weighted_probabilities():
    rng = np.random.default_rng(2)
    nll = rng.uniform(0, 8, (3, 50))
    weights = np.array([0.2, 0.5, 0.3])
    expected = -np.log((weights[:, None] * np.exp(-nll)).sum(axis=0))
    np.testing.assert_allclose(mixture_nll(nll, weights), expected, rtol=1e-12)
    # A weight of 0 drops its member: the mix is then the other member alone.
    np.testing.assert_allclose(mixture_nll(nll[:2], np.array([0.0, 1.0])), nll[1], rtol=1e-12)
