"""Streamed scoring: every token after the first scored once, state carried, streams cut contiguously."""
from __future__ import annotations

import pytest
import torch

from charlm.models import build_model
from charlm.models.scoring import stream_nll
from modelkit import VOCAB, small


def _naive_nll(lm, tokens: torch.Tensor) -> torch.Tensor:
    """One pass over the whole sequence as a single row: the reference."""
    logp = torch.log_softmax(lm(tokens[None, :-1])[0][0], -1)         # (N-1, V)
    return -logp.gather(1, tokens[1:, None]).squeeze(1).double()


@pytest.fixture(scope="module")
def lm():
    torch.manual_seed(0)
    return build_model(small("gru"), VOCAB).eval()


def test_one_stream_in_chunks_equals_one_pass(lm):
    tokens = torch.randint(0, VOCAB, (301,))
    torch.testing.assert_close(stream_nll(lm, tokens, batch_size=1, chunk=37), _naive_nll(lm, tokens),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n, streams", [(301, 4), (300, 7), (5, 16)])
def test_streams_are_contiguous_pieces_scored_from_a_cold_state(lm, n, streams):
    tokens = torch.randint(0, VOCAB, (n,))
    got = stream_nll(lm, tokens, batch_size=streams, chunk=16)
    assert got.shape == (n - 1,) and got.dtype == torch.float64
    # Stream b scores targets b*L+1 .. (b+1)*L from inputs starting at b*L (zero state at its start).
    length = -(-(n - 1) // min(streams, n - 1))
    expected = torch.cat([_naive_nll(lm, tokens[s:s + length + 1]) for s in range(0, n - 1, length)])
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_backward_direction_scores_the_reversed_text():
    from charlm.models.lm import NeuralLM

    torch.manual_seed(0)
    model = build_model(small("bilstm"), VOCAB)
    neural = NeuralLM("bi", model, start_token=1, device=torch.device("cpu"))
    assert neural.directions == ("forward", "backward")
    tokens = torch.randint(0, VOCAB, (120,))
    backward = torch.from_numpy(neural.token_nll(tokens.numpy(), "backward", batch_size=1))
    torch.testing.assert_close(backward, _naive_nll(model.backward_lm, tokens.flip(0)), rtol=1e-5, atol=1e-6)
    forward = torch.from_numpy(neural.token_nll(tokens.numpy(), "forward", batch_size=1))
    torch.testing.assert_close(forward, _naive_nll(model.forward_lm, tokens), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no 'sideways' direction"):
        neural.token_nll(tokens.numpy(), "sideways")
