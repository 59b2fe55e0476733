"""Generation: greedy is the notebook's warm-up-then-argmax; sampling is reproducible for a seed."""
from __future__ import annotations

import pytest
import torch

from charlm.lm import load_lm
from modelkit import saved_model


@pytest.fixture
def lm_and_model(tmp_path):
    model, vocab = saved_model(tmp_path / "m.pt", "gru", seed=3)
    return load_lm(tmp_path / "m.pt", vocab), model


def _notebook_greedy(model, prefix: list[int], length: int) -> list[int]:
    """predict_ch8 from the seed notebook: feed the prefix one token at a time, then argmax repeatedly."""
    state, outputs = None, [prefix[0]]
    for y in prefix[1:]:
        _, state = model(torch.tensor([[outputs[-1]]]), state)
        outputs.append(y)
    for _ in range(length):
        logits, state = model(torch.tensor([[outputs[-1]]]), state)
        outputs.append(int(logits[0, -1].argmax()))
    return outputs[len(prefix):]


def test_greedy_matches_the_notebooks_decoder(lm_and_model):
    lm, model = lm_and_model
    prefix = [2, 3, 1, 4, 5]
    assert lm.generate(prefix, 30, greedy=True) == _notebook_greedy(model, prefix, 30)


def test_sampling_is_reproducible_for_a_seed_and_varies_across_seeds(lm_and_model):
    lm, _ = lm_and_model
    a = lm.generate([2, 3], 60, greedy=False, temperature=1.5, seed=7)
    assert a == lm.generate([2, 3], 60, greedy=False, temperature=1.5, seed=7)
    assert a != lm.generate([2, 3], 60, greedy=False, temperature=1.5, seed=8)
    assert len(a) == 60 and all(0 <= t < 11 for t in a)


def test_top_k_one_is_greedy_and_top_k_limits_the_choices(lm_and_model):
    lm, model = lm_and_model
    assert lm.generate([2], 25, greedy=False, top_k=1, seed=5) == lm.generate([2], 25, greedy=True)
    # With k = 2, every sampled token is one of the two likeliest at its step.
    out = lm.generate([2], 25, greedy=False, temperature=3.0, top_k=2, seed=5)
    logits, _ = model(torch.tensor([[2, *out[:-1]]]))
    top2 = logits[0].topk(2, dim=-1).indices
    assert all(t in top2[i].tolist() for i, t in enumerate(out))


def test_empty_prefix_starts_from_a_space(lm_and_model):
    lm, _ = lm_and_model
    space = 1
    assert lm.generate([], 20, greedy=True) == lm.generate([space], 20, greedy=True)
