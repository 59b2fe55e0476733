"""The training loop: it learns, it is deterministic, it resumes exactly, and it honours its budgets."""
from __future__ import annotations

import math

import pytest
import torch

from charlm.models import build_model
from charlm.models.scoring import stream_nll
from charlm.params import ARCH_PARAMS, load_params
from charlm.train.loop import TIMING_KEYS, train
from helpers import TINY_PARAMS, synthetic_text

BASE = load_params(TINY_PARAMS).train
TEXT = "".join(c if c.isalpha() else " " for c in synthetic_text(60, seed=1).lower())[:200]
ALPHABET = sorted(set(TEXT))
TOKENS = torch.tensor([ALPHABET.index(c) for c in TEXT])


def _model(arch="lstm", hidden=32, dropout=0.0, layers=1, seed=0):
    torch.manual_seed(seed)
    params = ARCH_PARAMS[arch](arch=arch, role="compare", num_layers=layers, hidden_size=hidden, embedding_size=16,
                               input="embedding", dropout=dropout, tie_weights=False, train={})
    return build_model(params, len(ALPHABET))


def _train(model, **kw):
    p = BASE.model_copy(update={"batch_size": 4, "num_steps": 16, "warmup_tokens": 0, "max_epochs": 10_000, **kw})
    torch.manual_seed(p.seed)
    return train(model, TOKENS, TOKENS, p)


def _deterministic(history):
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in history]


def test_a_tiny_model_overfits_a_200_char_text():
    assert len(TEXT) == 200
    model = _model(hidden=64)
    before = stream_nll(model, TOKENS, batch_size=1).mean().item()
    assert abs(before - math.log(len(ALPHABET))) < 0.15
    _train(model, lr=0.03, schedule="cosine", min_lr_ratio=0.1, max_tokens=20_000, eval_every_tokens=10_000)
    after = stream_nll(model, TOKENS, batch_size=1).mean().item()
    assert after < 0.05, f"train-set loss {after:.3f} nats after overfitting"


@pytest.mark.parametrize("arch, iterator", [("lstm", "sequential"), ("bilstm", "random")])
def test_same_seed_same_weights_and_history(arch, iterator):
    runs = []
    for _ in range(2):
        model = _model(arch, dropout=0.2, layers=2)
        pos = _train(model, max_tokens=3000, eval_every_tokens=1000, iterator=iterator)
        runs.append((model.state_dict(), _deterministic(pos.history)))
    (w1, h1), (w2, h2) = runs
    assert h1 == h2 and len(h1) >= 3
    assert all(torch.equal(w1[k], w2[k]) for k in w1)


def test_resuming_from_any_snapshot_matches_the_unbroken_run():
    snapshots = []
    model = _model("bilstm", dropout=0.2, layers=2)
    p = BASE.model_copy(update=dict(batch_size=4, num_steps=16, warmup_tokens=0, max_tokens=4000, max_epochs=100,
                                    eval_every_tokens=700))
    torch.manual_seed(p.seed)
    full = train(model, TOKENS, TOKENS, p, on_eval=lambda row, snap: snapshots.append(snap))
    assert len(snapshots) >= 4
    for snap in (snapshots[1], snapshots[-2]):       # mid-epoch and late
        resumed_model = _model("bilstm", dropout=0.2, layers=2, seed=123)   # different init: must be overwritten
        torch.manual_seed(999)                                               # likewise the dropout RNG
        resumed = train(resumed_model, TOKENS, TOKENS, p, resume=snap)
        assert _deterministic(resumed.history) == _deterministic(full.history)
        state = model.state_dict()
        assert all(torch.equal(state[k], v) for k, v in resumed_model.state_dict().items())
        assert all(torch.equal(full.best_model[k], v) for k, v in resumed.best_model.items())


def test_bilstm_validation_reports_both_directions_and_their_mean():
    pos = _train(_model("bilstm"), max_tokens=1000, eval_every_tokens=1000)
    row = pos.history[-1]
    assert row["val_bpc"] == pytest.approx((row["val_bpc_forward"] + row["val_bpc_backward"]) / 2)
    assert row["val_bpc"] == pytest.approx(row["val_nats"] / math.log(2))


def test_budgets_and_early_stopping():
    pos = _train(_model(), max_tokens=2000, eval_every_tokens=500)
    assert pos.stop_reason == "max_tokens" and 2000 - 64 < pos.tokens <= 2000
    pos = _train(_model(), max_tokens=10**6, max_epochs=3, eval_every_tokens=10**6)
    assert pos.stop_reason == "max_epochs" and pos.epoch == 3 and len(pos.history) == 3
    # lr so small that no weight changes in float32, so val bpc never improves on the first evaluation:
    # patience stops it. (An lr so high that training blows up is an error now: charlm.divergence.)
    pos = _train(_model(), max_tokens=10**6, eval_every_tokens=128, patience=2, lr=1e-30, optimizer="sgd",
                 schedule="constant")
    assert pos.stop_reason == "patience"
    best = [r["step"] for r in pos.history].index(pos.best["step"])
    assert len(pos.history) - 1 - best == 2
