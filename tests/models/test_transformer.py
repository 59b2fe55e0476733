"""The transformer's own promises: strided sliding-window scoring, exact generation, learning, params.

The contract tests every model shares (shapes, loss ≈ ln V at init, causality, chunked == one pass)
run the transformer through `modelkit.VARIANTS`; these cover what only a windowed model can get wrong.
"""
from __future__ import annotations

import pytest
import torch
import yaml
from torch.nn import functional as F

from charlm.errors import CharlmError
from charlm.models import build_model
from charlm.models.lm import NeuralLM
from charlm.models.scoring import stream_nll
from charlm.params import parse_params
from charlm.sampling import sample
from helpers import TINY_PARAMS
from modelkit import VOCAB, small_transformer

CONTEXT, STRIDE = 8, 3


def _model(dropout: float = 0.0):
    torch.manual_seed(0)
    return build_model(small_transformer(CONTEXT, STRIDE, dropout), VOCAB).eval()


def _window_start(i: int) -> int:
    """Where the window that scores the prediction at stream position i starts (the module docstring's grid)."""
    return 0 if i < CONTEXT else (i - CONTEXT) // STRIDE * STRIDE + STRIDE


def test_streamed_scoring_scores_every_token_once_in_its_grid_window():
    model = _model()
    tokens = torch.randint(0, VOCAB, (41,))
    nll = stream_nll(model, tokens, batch_size=1, chunk=5)          # chunks that cut across windows
    assert nll.shape == (tokens.numel() - 1,)                       # every target once, none twice
    for i in range(tokens.numel() - 1):                             # position i predicts token i + 1
        start = _window_start(i)
        assert i - start >= min(i, CONTEXT - STRIDE)                # the documented minimum context
        logits = model._window(tokens[None, start:i + 1])[0, -1]
        expected = -torch.log_softmax(logits, -1)[tokens[i + 1]].double()
        torch.testing.assert_close(nll[i], expected, rtol=1e-5, atol=1e-6)


def test_each_of_many_streams_scores_as_if_it_were_alone():
    model = _model()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.5)   # far from uniform (init gives ≈ ln V everywhere): every score depends on context
    tokens = torch.randint(0, VOCAB, (100,))
    many = stream_nll(model, tokens, batch_size=4)
    assert many.shape == (99,)
    length = 25                   # 99 targets in 4 contiguous streams of 25, the last one padded
    for b in range(4):
        alone = stream_nll(model, tokens[b * length:(b + 1) * length + 1], batch_size=1)
        torch.testing.assert_close(many[b * length:(b + 1) * length], alone, rtol=1e-5, atol=1e-6)
    # Each stream restarts its context, so past the first stream one long stream scores differently:
    # the comparison above would notice a stream that saw its neighbour's tokens.
    one = stream_nll(model, tokens, batch_size=1)
    assert (many[length:] - one[length:]).abs().max() > 0.1


@pytest.mark.parametrize("greedy", [True, False], ids=["greedy", "sampled"])
def test_generation_through_the_state_equals_recomputing_from_the_text(greedy):
    """`generate` feeds one token at a time through the carried state; recomputing each step from the
    whole text so far (no state at all) must produce the same tokens, well past the context length."""
    model = _model()
    lm = NeuralLM("t", model, start_token=1, device=torch.device("cpu"))
    prefix = [2, 3, 4, 5, 6]
    fast = lm.generate(prefix, 30, greedy=greedy, temperature=0.9, top_k=0, seed=7)
    text, generator = list(prefix), torch.Generator().manual_seed(7)
    with torch.no_grad():
        for _ in range(30):
            last = model(torch.tensor([text]))[0][0, -1]
            text.append(int(last.argmax()) if greedy else sample(last, 0.9, 0, generator))
    assert fast == text[len(prefix):]
    assert len(text) > 3 * CONTEXT


def test_it_overfits_a_tiny_text():
    torch.manual_seed(0)
    model = build_model(small_transformer(context=16, stride=4, layers=2), VOCAB)
    text = torch.tensor([[(3 * i * i + i) % VOCAB for i in range(16)]] * 4)   # one fixed 16-token row
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(300):
        logits, _ = model(text[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), text[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05   # memorised: ln(11) ≈ 2.4 at the start


def test_dropout_only_acts_in_training():
    model = _model(dropout=0.5)
    tokens = torch.randint(0, VOCAB, (2, 12))
    torch.testing.assert_close(model(tokens)[0], model(tokens)[0])
    model.train()
    assert not torch.equal(model(tokens)[0], model(tokens)[0])


def _params_with(transformer: dict, **train) -> dict:
    raw = yaml.safe_load(TINY_PARAMS.read_text())
    raw["models"]["tf"] = {"arch": "transformer", "role": "compare", "num_layers": 2, "hidden_size": 16, "num_heads": 2, "context": 16,
                           "stride": 4, "dropout": 0.0, "train": dict(train), **transformer}
    return raw


def test_transformer_params_parse_and_build():
    params = parse_params(_params_with({}, num_steps=16, iterator="random"))
    assert params.models["tf"].label() == "transformer 2×16"
    assert params.model_train("tf").num_steps == 16


@pytest.mark.parametrize("change, train, message", [
    ({"num_heads": 3}, {}, r"models\.tf\.num_heads: must divide hidden_size \(16\), got 3"),
    ({"stride": 16}, {}, r"models\.tf\.stride: must be in 1\.\.context-1 \(15\), got 16"),
    ({"context": 1}, {}, r"models\.tf\.context: must be >= 2, got 1"),
    ({"dropout": 1.0}, {}, r"models\.tf\.dropout: must be in \[0, 1\), got 1\.0"),
    ({"d_model": 8}, {}, r"models\.tf\.d_model: unknown key \(valid: arch, context, dropout, hidden_size"),
    ({}, {"num_steps": 17}, r"models\.tf\.train\.num_steps: must be <= context \(16\) for a transformer, got 17"),
])
def test_bad_transformer_params_name_the_key(change, train, message):
    with pytest.raises(CharlmError, match=message):
        parse_params(_params_with(change, **train))
