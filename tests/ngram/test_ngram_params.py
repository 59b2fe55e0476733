"""Bad n-gram settings are refused before any work, with one line naming the dotted key."""
from __future__ import annotations

import copy

import pytest
import yaml

from charlm.params import NgramParams, ParamsError, parse_params
from helpers import REPO


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.mark.parametrize("name, edit, message", [
    ("kn4", {"order": 0}, "ngram.kn4.order: must be in 1..8, got 0"),
    ("kn4", {"order": 9}, "ngram.kn4.order: must be in 1..8, got 9"),
    ("kn4", {"discount": 0.0}, "ngram.kn4.discount: must be in (0, 1), got 0.0"),
    ("kn4", {"discount": 1.0}, "ngram.kn4.discount: must be in (0, 1), got 1.0"),
    ("kn4", {"epsilon": [1.0] * 4}, "ngram.kn4.epsilon: only applies to additive smoothing"),
    ("add3", {"epsilon": [1.0, -2.0, 1.0]}, "ngram.add3.epsilon: every ε must be > 0"),
    ("add3", {"epsilon": [1.0, 1.0]}, "ngram.add3.epsilon: needs one value per order (3), got 2"),
    ("add3", {"epsilon": None}, "ngram.add3.epsilon: is required for additive smoothing"),
    ("laplace5", {"epsilon": [1.0] * 5}, "ngram.laplace5.epsilon: only applies to additive smoothing"),
    ("laplace5", {"discount": 0.5}, "ngram.laplace5.discount: only applies to kneser_ney"),
    ("kn4", {"smoothing": "witten_bell"}, "ngram.kn4.smoothing: must be one of additive, laplace, kneser_ney"),
])
def test_bad_ngram_params_are_refused(raw, name, edit, message):
    bad = copy.deepcopy(raw)
    bad["ngram"][name].update(edit)
    with pytest.raises(ParamsError) as err:
        parse_params(bad)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_the_library_checks_the_same_rules():
    with pytest.raises(ParamsError, match="epsilon: every ε must be > 0"):
        NgramParams(smoothing="additive", order=2, epsilon=(1.0, 0.0), discount=None)
    with pytest.raises(ParamsError, match="discount: must be in"):
        NgramParams(smoothing="kneser_ney", order=2, epsilon=None, discount=1.5)
