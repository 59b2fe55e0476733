"""The LR schedule: warm-up, cosine down to min_lr_ratio, and plateau cuts from the eval history."""
from __future__ import annotations

import math

import pytest

from charlm.params import load_params
from charlm.train.schedule import learning_rate, plateau_cuts
from helpers import TINY_PARAMS

BASE = load_params(TINY_PARAMS).train


def _p(**kw):
    return BASE.model_copy(update=kw)


def test_warmup_is_linear_then_cosine_ends_at_min_ratio():
    p = _p(schedule="cosine", lr=1.0, warmup_tokens=100, min_lr_ratio=0.1)
    assert learning_rate(p, 50, 1100) == pytest.approx(0.5)
    assert learning_rate(p, 100, 1100) == pytest.approx(1.0)
    assert learning_rate(p, 600, 1100) == pytest.approx(0.55)          # halfway down the cosine
    assert learning_rate(p, 1100, 1100) == pytest.approx(0.1)
    assert learning_rate(p, 5000, 1100) == pytest.approx(0.1)          # past the horizon: stays at the floor
    lrs = [learning_rate(p, t, 1100) for t in range(100, 1101, 50)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_constant_and_plateau():
    assert learning_rate(_p(schedule="constant", lr=0.3, warmup_tokens=0), 10**6, 10) == pytest.approx(0.3)
    p = _p(schedule="plateau", lr=1.0, warmup_tokens=0, plateau_factor=0.5)
    assert learning_rate(p, 10, 100, plateau_cuts([3.0, 2.5, 2.6, 2.4, 2.45, 2.5])) == pytest.approx(0.125)


def test_plateau_cuts_count_evaluations_without_improvement():
    assert plateau_cuts([]) == 0
    assert plateau_cuts([3.0, 2.0, 1.0]) == 0
    assert plateau_cuts([3.0, 3.0, 2.0, math.inf]) == 2
