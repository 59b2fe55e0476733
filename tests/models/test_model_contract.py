"""Every model: the same forward contract, loss ≈ ln V at init, chunked == whole-sequence, one factory."""
from __future__ import annotations

import math

import pytest
import torch
import yaml
from torch.nn import functional as F

from charlm.errors import CharlmError
from charlm.models import MAX_ONE_HOT_VOCAB, REGISTRY, build_model, num_parameters
from charlm.params import ARCH_PARAMS, parse_params
from helpers import TINY_PARAMS
from modelkit import VARIANTS, VOCAB, small

IDS = [v[0] for v in VARIANTS]
PARAMS = [v[1] for v in VARIANTS]


@pytest.mark.parametrize("params", PARAMS, ids=IDS)
def test_forward_contract_and_initial_loss_near_ln_vocab(params):
    torch.manual_seed(0)
    model = build_model(params, VOCAB).eval()
    tokens = torch.randint(0, VOCAB, (8, 30))
    logits, state = model(tokens)
    assert logits.shape == (8, 30, VOCAB) and logits.dtype == torch.float32
    loss = F.cross_entropy(logits.flatten(0, 1), tokens.roll(-1, 1).flatten())
    # An untrained model should be near-uniform: anything far from ln V means a bad init (or a leak).
    assert abs(loss.item() - math.log(VOCAB)) < 0.1
    for lm, _ in model.directions():
        out, _ = lm(tokens)
        assert out.shape == (8, 30, VOCAB)
        assert lm.vocab_size == VOCAB   # ln V is the yardstick the training loop's divergence check uses


@pytest.mark.parametrize("params", PARAMS, ids=IDS)
def test_carried_state_equals_one_long_pass(params):
    """Scoring in chunks with the state carried must equal one pass: what streamed validation relies on."""
    torch.manual_seed(0)
    model = build_model(params, VOCAB).eval()
    tokens = torch.randint(0, VOCAB, (3, 20))
    whole, _ = model(tokens)
    first, state = model(tokens[:, :7])
    second, _ = model(tokens[:, 7:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, rtol=1e-5, atol=1e-6)


def test_every_params_class_has_a_builder():
    assert set(REGISTRY) == set(ARCH_PARAMS.values())


def test_unknown_arch_lists_the_valid_ones():
    raw = yaml.safe_load(TINY_PARAMS.read_text())
    raw["models"]["x"] = {**small("lstm").model_dump(), "arch": "mamba"}
    with pytest.raises(CharlmError, match=r"models.x.arch: unknown arch 'mamba' \(valid: bilstm, gru, lstm, rnn, transformer\)"):
        parse_params(raw)


def test_one_hot_refused_for_a_large_vocabulary():
    with pytest.raises(CharlmError, match=rf"models.w.input: one_hot needs a vocabulary of at most {MAX_ONE_HOT_VOCAB}"):
        build_model(small("lstm", "one_hot"), MAX_ONE_HOT_VOCAB + 1, key="models.w")
    build_model(small("lstm", "embedding"), 20000)   # an embedding is fine at word-vocabulary sizes


def test_tied_weights_are_one_tensor():
    model = build_model(small("lstm", tie=True), VOCAB)
    assert model.decoder.weight is model.embedding.weight
    tied_params = small("lstm", tie=True)
    untied = build_model(tied_params.__class__(**{**tied_params.__dict__, "tie_weights": False}), VOCAB)
    assert num_parameters(untied) - num_parameters(model) == VOCAB * 12   # the (V, H) matrix counted once


def test_bilstm_directions_have_separate_recurrent_weights_and_shared_io():
    model = build_model(small("bilstm"), VOCAB)
    (fwd, fwd_rev), (bwd, bwd_rev) = model.directions()
    assert (fwd_rev, bwd_rev) == (False, True)
    assert fwd.rnn is not bwd.rnn and not torch.equal(fwd.rnn.weight_hh_l0, bwd.rnn.weight_hh_l0)
    assert fwd.embedding is bwd.embedding and fwd.decoder is bwd.decoder   # ELMo shares token I/O
    assert not fwd.rnn.bidirectional and not bwd.rnn.bidirectional
    # generation and ranking use the forward LM: the model's own forward is exactly it
    tokens = torch.randint(0, VOCAB, (2, 9))
    model.eval()
    torch.testing.assert_close(model(tokens)[0], fwd(tokens)[0])
