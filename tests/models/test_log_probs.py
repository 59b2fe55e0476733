"""Full next-token distributions (issue 20): every model's `log_probs`, dynamic evaluation's and the cache's.
Each row is a distribution (sums to 1) and its entry for the true next token is exactly what the token's
score (token_nll, dynamic_nll, cache_nll) says."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from charlm.data.vocab import Vocab
from charlm.mix.cache import cache_log_probs, cache_nll
from charlm.models import build_model
from charlm.models.lm import NeuralLM
from charlm.ngram.lm import NgramLM
from charlm.ngram.model import fit_ngram
from charlm.params import DynamicEvalParams, NgramParams
from helpers import synthetic_text
from modelkit import VARIANTS, VOCAB

RNG = np.random.default_rng(0)
TOKENS = RNG.integers(0, VOCAB, size=300)


def check_rows(logp: np.ndarray, nll: np.ndarray, tokens: np.ndarray, atol: float) -> None:
    """logp (N-1, V) is a distribution per row whose entry for tokens[1:] is the score nll (N-1,)."""
    assert logp.shape == (len(tokens) - 1, logp.shape[1]) and logp.dtype == np.float32
    assert np.abs(np.exp(logp.astype(np.float64)).sum(1) - 1).max() < 1e-5
    assert np.abs(-logp[np.arange(len(tokens) - 1), tokens[1:]] - nll).max() <= atol


@pytest.mark.parametrize("name,params", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_a_neural_models_rows_are_the_distributions_token_nll_scores(name, params):
    torch.manual_seed(0)
    lm = NeuralLM(name, build_model(params, VOCAB), start_token=1, device=torch.device("cpu"))
    for batch_size in (1, 7):
        check_rows(lm.log_probs(TOKENS, batch_size), lm.token_nll(TOKENS, "forward", batch_size), TOKENS, 0.0)


@pytest.mark.parametrize("name,params", [v for v in VARIANTS if v[0] in ("lstm-embedding", "transformer")])
def test_dynamic_evaluations_rows_are_the_distributions_it_scores(name, params):
    torch.manual_seed(0)
    lm = NeuralLM(name, build_model(params, VOCAB), start_token=1, device=torch.device("cpu"))
    dynamic = DynamicEvalParams(models=[name], segment=5, optimizer="sgd", lr=0.5, decay=0.0)
    logp = lm.dynamic_log_probs(TOKENS, dynamic)
    check_rows(logp, lm.dynamic_nll(TOKENS, dynamic), TOKENS, 0.0)
    # and it adapted: the rows differ from the static ones after the first segment
    assert not np.allclose(logp[10:], lm.log_probs(TOKENS, 1)[10:], atol=1e-4)


@pytest.mark.parametrize("smoothing,order", [("kneser_ney", 4), ("additive", 3), ("laplace", 5)])
def test_an_ngram_models_rows_are_the_distributions_token_nll_scores(smoothing, order):
    tokens = ("<unk>", " ", *"abcdefghijklmnopqrstuvwxyz")
    index = {t: i for i, t in enumerate(tokens)}
    encode = lambda text: np.array([index.get(c, 1) for c in text.lower()], dtype=np.int64)   # noqa: E731
    epsilon = [0.5] * order if smoothing == "additive" else None
    model = fit_ngram(encode(synthetic_text(400, seed=12)), len(tokens),
                      NgramParams(smoothing=smoothing, order=order, epsilon=epsilon, discount=None))
    lm = NgramLM("n", model, start_token=1)
    ids = encode(synthetic_text(60, seed=13))
    check_rows(lm.log_probs(ids), lm.token_nll(ids), ids, 1e-6)   # float32 rows, float64 scores
    assert lm.log_probs(ids).shape[1] == len(Vocab("char", tokens))


@pytest.mark.parametrize("order", [1, 3, 6])
def test_the_caches_rows_are_the_distributions_cache_nll_scores(order):
    x = RNG.integers(0, 9, size=400)
    logp = cache_log_probs(x, order, 9)
    check_rows(logp.astype(np.float32), cache_nll(x, order, 9), x, 1e-6)
