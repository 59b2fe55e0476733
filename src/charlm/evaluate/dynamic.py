"""Dynamic evaluation (Krause et al. 2018): score a split in one stream, learning from each segment once it is scored.

    inputs    t0 ....... t63 | t64 ...... t127 | t128 ...      one stream (batch 1), state carried, detached
    segment   └── k = 0 ─────┘ └─── k = 1 ─────┘
    per segment:  logits with the current weights -> record each token's nll (its score)
                  -> mean nll of the segment, backward -> one update -> next segment

A segment is scored by weights that have learned only from the segments before it, so no token is ever
scored by a model that has trained on it: the number is as honest as static evaluation's, on the same
tokens, and the model still adapts to names and phrasing that recur in a book. The one forward pass
serves both the score and the gradient, because the update comes after it.

Updates, with g the gradient of the segment's mean nll and w0 the trained weights:
    sgd    w <- w - lr * g
    rms    ms <- the mean of g² over every update so far;   w <- w - lr * g / (sqrt(ms) + EPS)
    both   then w <- w + decay * (w0 - w)          (decay 0: no pull back)
Krause et al. normalise by an RMS of gradients measured on training data; the plain running mean over
the text already scored is its causal stand-in, needs no training data at evaluation time, and is
deterministic (no schedule, no seed).
"""
from __future__ import annotations

import contextlib
import copy

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from charlm.divergence import WINDOW, diverged_at
from charlm.errors import CharlmError
from charlm.models.scoring import vocab_size
from charlm.params import DynamicEvalParams

EPS = 1e-8   # keeps a parameter with a zero gradient so far from dividing by zero


def dynamic_nll(lm: nn.Module, tokens: np.ndarray, params: DynamicEvalParams) -> np.ndarray:
    """nll in nats of tokens[1:], each given all before it by weights that learned from the segments before
    its own, (N-1,) float64. `lm` is one causal direction; it is copied (fp32, CPU), never changed."""
    nll, _ = _adapt(lm, tokens, params, keep_distributions=False)
    return nll


def dynamic_log_probs(lm: nn.Module, tokens: np.ndarray, params: DynamicEvalParams) -> np.ndarray:
    """The distributions dynamic_nll scores: log-probabilities in nats of every next token after each of
    tokens[:-1], (N-1, V) float32; row i's entry for tokens[i+1] is dynamic_nll's entry i, negated."""
    _, logp = _adapt(lm, tokens, params, keep_distributions=True)
    return logp


def _adapt(lm: nn.Module, tokens: np.ndarray, params: DynamicEvalParams, keep_distributions: bool
           ) -> tuple[np.ndarray, np.ndarray | None]:
    """(nll (N-1,) float64, and with keep_distributions the (N-1, V) float32 log-probabilities) of one
    adapting pass over `tokens`."""
    check_segment(lm, params.segment)
    model = copy.deepcopy(lm).to("cpu", torch.float32).eval()   # eval: no dropout while adapting
    x = torch.as_tensor(np.asarray(tokens, dtype=np.int64))
    inputs, targets = x[:-1], x[1:]                                 # (N-1,) each
    update = Update(model, params)
    state, out, distributions = None, [], []
    with _one_thread():
        for start in range(0, len(inputs), params.segment):
            stop = start + params.segment
            logits, state = model(inputs[None, start:stop], state)     # (1, S, V)
            logp = torch.log_softmax(logits[0].float(), dim=-1)        # (S, V)
            nll = -logp.gather(1, targets[start:stop, None]).squeeze(1)                       # (S,)
            out.append(nll.detach().double().numpy())
            if keep_distributions:
                distributions.append(logp.detach().numpy().copy())
            _stop_if_diverged(out, start, logits.shape[-1], params)   # before learning from a blown-up segment
            update(nll.mean())
            state = _detached(state)   # truncated back-propagation: a step never reaches older segments
    nll = np.concatenate(out) if out else np.zeros(0, dtype=np.float64)
    if not keep_distributions:
        return nll, None
    return nll, np.concatenate(distributions) if distributions else np.zeros((0, vocab_size(model)), np.float32)


def _stop_if_diverged(out: list[np.ndarray], start: int, vocab_size: int, params: DynamicEvalParams) -> None:
    """The one-line evaluate.dynamic.lr error as soon as the newest segment (out[-1], from scored token
    `start`) shows that the adapted weights have blown up (charlm.divergence)."""
    # Windows that end before this segment were checked with the segments before it: only those that end
    # inside it are new, and they reach back at most WINDOW - 1 tokens, into these earlier segments.
    earlier = -(-(WINDOW - 1) // params.segment)
    recent = np.concatenate(out[-1 - earlier:])
    # + 1: nll[i] is the cost of token i + 1, the first token is never scored
    problem = diverged_at(recent, vocab_size, first_token=start - (len(recent) - len(out[-1])) + 1)
    if problem:
        raise CharlmError(f"evaluate.dynamic.lr: dynamic evaluation {problem}; lower the lr ({params.lr})")


def check_segment(lm: nn.Module, segment: int) -> None:
    """A CharlmError when a segment cannot be scored inside the model's attention window."""
    # A Transformer reads windows of `context` tokens (models/transformer.py): a segment must be shorter,
    # so that each update learns from text the model can read at once, with context before it.
    context = getattr(lm, "context", None)
    if context is not None and segment > context - 1:
        raise CharlmError(f"evaluate.dynamic.segment: {segment} tokens do not fit the transformer's window of "
                          f"{context} with context before them; use at most {context - 1}")


class Update:
    """One step of the sgd or rms rule on every weight of `model`, then the decay towards the trained ones."""

    def __init__(self, model: nn.Module, params: DynamicEvalParams):
        self.params = params
        self.weights = list(model.parameters())   # tied weights appear once
        self.trained = [w.detach().clone() for w in self.weights]
        self.square_sum = [torch.zeros_like(w) for w in self.weights]   # rms: Σ g² over the updates so far
        self.steps = 0

    def __call__(self, loss: torch.Tensor) -> None:
        grads = torch.autograd.grad(loss, self.weights, allow_unused=True)
        self.steps += 1
        lr, decay = self.params.lr, self.params.decay
        with torch.no_grad():
            for w, g, w0, square_sum in zip(self.weights, grads, self.trained, self.square_sum):
                if g is not None:
                    if self.params.optimizer == "rms":
                        square_sum.add_(g * g)
                        g = g / ((square_sum / self.steps).sqrt_() + EPS)
                    w.add_(g, alpha=-lr)
                if decay:
                    w.lerp_(w0, decay)   # w + decay * (w0 - w)


@contextlib.contextmanager
def _one_thread():
    """torch on one intra-op thread for the duration: a batch of one token row is too small to split, and
    on a busy 2-core machine a second thread made each step 10x slower. One thread also gives the same
    bits on any core count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _detached(state):
    """The carried state cut from the graph: a tensor (RNN/GRU, a Transformer's token history) or an LSTM's pair."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()
