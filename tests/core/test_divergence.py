"""The divergence rule (charlm/divergence.py) on nll sequences built by hand, so it holds on any CPU: a blown-up
model is caught whether its arithmetic overflowed (inf, nan) or saturated (finite but huge, exact zeros),
and a healthy one, rare characters and certain predictions included, never is."""
from __future__ import annotations

import math

import numpy as np
import pytest

from charlm.divergence import (LIMIT, WINDOW, describe, describe_mean, diverged_at, first_diverged, limit_nats,
                               mean_diverged)

V = 28


def healthy(n: int = 400, seed: int = 0) -> np.ndarray:
    """A trained model's costs: mostly 0.2-2.5 nats, a rare character at 10-14 nats now and then."""
    rng = np.random.default_rng(seed)
    nll = rng.gamma(2.0, 0.6, n)
    rare = rng.choice(n, n // 40, replace=False)
    nll[rare] = rng.uniform(10, 14, len(rare))
    return nll


def test_healthy_untrained_and_certain_models_pass():
    assert first_diverged(healthy(), V) is None
    assert first_diverged(np.full(300, math.log(V)), V) is None      # an untrained model: uniform
    certain = healthy()
    certain[100:200] = 0.0                                            # p = 1 in float32 on a repeated passage
    assert first_diverged(certain, V) is None
    assert first_diverged(np.array([]), V) is None


def test_one_rare_character_is_not_a_blow_up_but_a_stretch_over_the_limit_is():
    nll = np.full(100, 1.0)
    nll[50] = 20.0                              # 6 × ln 28 for one character: rare, not broken
    assert first_diverged(nll, V) is None
    nll[50:50 + WINDOW] = limit_nats(V) * 1.01  # a whole window worse than twice a uniform guess
    assert first_diverged(nll, V) == 50


@pytest.mark.parametrize("bad", [np.inf, np.nan, -np.inf, 3.5e29])
def test_the_first_bad_token_is_named(bad):
    nll = healthy()
    nll[137] = bad
    assert first_diverged(nll, V) == 137


def test_saturated_gates_as_seen_on_avx512_are_caught_at_the_first_huge_cost():
    # The trace: finite throughout, exact zeros among costs of 1e30 nats.
    nll = np.concatenate([[2.377, 2.449, 2.388, 2.461], [3.5e29, -0.0, 3.6e30, 4.4e30, -0.0, 1.4e30] * 10])
    assert np.isfinite(nll).all()
    assert first_diverged(nll, V) == 4


def test_the_earliest_of_a_nan_and_an_over_limit_window_wins():
    nll = healthy()
    nll[300] = np.nan
    nll[200:200 + WINDOW] = 50.0
    assert first_diverged(nll, V) == 200
    nll[150] = np.nan
    assert first_diverged(nll, V) == 150
    nll[150], nll[205], nll[210] = 1.0, np.nan, 1e9      # a nan inside the first window over the limit
    assert first_diverged(nll, V) == 200
    nll[200:205] = 1.0
    assert first_diverged(nll, V) == 205


def test_a_huge_cost_late_in_a_window_is_named_not_the_windows_start():
    nll = healthy()
    nll[250] = 1e6          # every window from 219 to 250 is over the limit; the cost is at 250
    assert first_diverged(nll, V) == 250


def test_fewer_tokens_than_a_window_are_judged_by_the_non_finite_and_one_token_rules():
    # A cold start of a healthy model (a few rare characters) must not trip the rule before a window fills;
    # one cost that alone would put any window over the limit, or a nan, still does.
    assert first_diverged(np.array([3.0, 10.0, 3.0, 12.0]), V) is None
    assert first_diverged(np.array([1.0, 2.0, 1e9]), V) == 2
    assert first_diverged(np.array([1.0, np.nan]), V) == 1
    assert first_diverged(np.array([1.0, WINDOW * limit_nats(V) * 0.99]), V) is None


def test_the_limit_scales_with_the_vocabulary():
    assert limit_nats(V) == pytest.approx(LIMIT * math.log(V))
    nll = np.full(64, 10.0)                     # over the limit for 28 characters, under it for 20k words
    assert first_diverged(nll, V) == 0 and first_diverged(nll, 20_000) is None


@pytest.mark.parametrize("mean, diverged", [(3.2, False), (math.log(V) * 1.9, False), (math.log(V) * 2.1, True),
                                            (1e30, True), (math.inf, True), (math.nan, True)])
def test_mean_diverged(mean, diverged):
    assert mean_diverged(mean, V) is diverged


def test_describe_mean():
    assert describe_mean(math.nan, V) == "nan nats"
    assert describe_mean(32354.2, V) == "3.235e+04 nats, more than 2 × ln 28 = 6.66, the cost of a uniform guess"


def test_describe_says_what_the_tokens_cost():
    nll = healthy()
    nll[120] = 4e29
    assert describe(nll, 120, V).startswith("nll 4e+29 nats there, and a mean of 1.25e+28 over 32 tokens, more "
                                            "than 2 × ln 28 = 6.66")
    nll[10] = np.nan
    assert describe(nll, 10, V) == "nll nan"
    nll[125] = np.nan          # windows holding a nan have no mean: the others still give one
    assert "a mean of 1.25e+28 over 32 tokens" in describe(nll, 120, V)
    assert describe(np.array([1.0, 1e9]), 1, V) == "nll 1e+09 nats there, more than 2 × ln 28 = 6.66, the cost of " \
                                                   "a uniform guess"


def test_diverged_at_counts_from_the_first_token():
    nll = healthy()
    assert diverged_at(nll, V, first_token=1) is None
    nll = np.concatenate([healthy(), healthy(seed=1), healthy(seed=2)])
    nll[1100] = np.inf
    assert diverged_at(nll, V, first_token=1) == "diverged at token 1,101 (nll inf)"
