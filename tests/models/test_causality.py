"""Causality: changing the text after position t never changes predictions at positions ≤ t.

For the bilstm's backward LM the mirror image holds: changing the text before t never changes its
predictions for positions ≥ t. The notebook's `nn.LSTM(bidirectional=True)` fails the same check,
which shows the check can fail.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from charlm.models import build_model
from modelkit import VARIANTS, VOCAB

T, CUT = 24, 10


def _changed_after(tokens: torch.Tensor, t: int) -> torch.Tensor:
    edited = tokens.clone()
    edited[:, t + 1:] = (edited[:, t + 1:] + 1 + torch.arange(T - t - 1)) % VOCAB  # every later token differs
    return edited


def _forward_log_probs(lm: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(lm(tokens)[0], -1)   # (B, T, V): row t is the distribution of token t+1


@pytest.mark.parametrize("params", [v[1] for v in VARIANTS], ids=[v[0] for v in VARIANTS])
def test_future_tokens_never_change_past_predictions(params):
    torch.manual_seed(0)
    model = build_model(params, VOCAB).eval()
    tokens = torch.randint(0, VOCAB, (4, T))
    for lm, reverse in model.directions():
        if reverse:  # mirror image: edit the text *before* position T-1-CUT; the backward LM reads it last
            edited = _changed_after(tokens.flip(1), CUT).flip(1)
            assert torch.equal(edited[:, T - 1 - CUT:], tokens[:, T - 1 - CUT:])
        else:
            edited = _changed_after(tokens, CUT)
        stream = (lambda x: x.flip(1)) if reverse else (lambda x: x)   # what this LM reads, in its order
        a, b = _forward_log_probs(lm, stream(tokens)), _forward_log_probs(lm, stream(edited))
        # stream positions 0..CUT read only unchanged tokens; the later ones must see the change
        torch.testing.assert_close(a[:, :CUT + 1], b[:, :CUT + 1], rtol=0, atol=0)
        assert not torch.allclose(a[:, CUT + 1:], b[:, CUT + 1:])


class _LeakyBidirectional(nn.Module):
    """The notebook's model: one bidirectional LSTM whose output at t has read tokens after t."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(VOCAB, 8, 2, batch_first=True, bidirectional=True)
        self.decoder = nn.Linear(16, VOCAB)

    def forward(self, tokens, state=None):
        y, state = self.rnn(nn.functional.one_hot(tokens, VOCAB).float(), state)
        return self.decoder(y), state


def test_the_notebooks_bidirectional_lstm_fails_the_same_check():
    torch.manual_seed(0)
    leaky = _LeakyBidirectional().eval()
    tokens = torch.randint(0, VOCAB, (1, T))
    a = _forward_log_probs(leaky, tokens)
    b = _forward_log_probs(leaky, _changed_after(tokens, CUT))
    assert not torch.allclose(a[:, :CUT + 1], b[:, :CUT + 1])
