"""The one training loop, for every model: it only sees `forward(tokens, state)` and `directions()`.

Its whole position (weights, optimizer, RNG states, epoch/batch, carried hidden state, history) is a
plain dict (`snapshot`) handed to `on_eval` at every evaluation; passing that dict back as `resume`
continues the run exactly where it was, so a resumed CPU run is bit-identical to an unbroken one.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from charlm.errors import CharlmError
from charlm.models.scoring import direction_tokens, stream_nll
from charlm.params import TrainParams
from charlm.train.batches import carries_state, check_length, epoch_starts, gather_batch
from charlm.train.runtime import autocast
from charlm.train.schedule import learning_rate, planned_tokens, plateau_cuts

# History columns that depend on the machine's speed; everything else is a function of the seed.
TIMING_KEYS = ("tokens_per_s", "elapsed_s")


@dataclass
class Position:
    """Where the run is: optimizer steps, tokens seen, epoch and next batch in it, and the eval history."""
    step: int = 0
    tokens: int = 0
    epoch: int = 0
    batch: int = 0
    epoch_rng: torch.Tensor | None = None   # batch generator state at the start of `epoch`
    carry: list | None = None               # detached hidden state per direction, mid-epoch
    history: list[dict] = field(default_factory=list)
    best: dict | None = None                # the history row with the lowest val bpc
    best_model: dict | None = None          # its weights (CPU copies)
    elapsed_s: float = 0.0
    stop_reason: str | None = None          # None while training; "max_tokens" | "max_epochs" | "patience"


def make_optimizer(model: nn.Module, p: TrainParams) -> torch.optim.Optimizer:
    """SGD (notebook parity), Adam or AdamW over the model's distinct parameters."""
    if p.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    cls = torch.optim.Adam if p.optimizer == "adam" else torch.optim.AdamW
    return cls(model.parameters(), lr=p.lr, betas=p.betas, weight_decay=p.weight_decay)


def validate(model: nn.Module, val_tokens: torch.Tensor, batch_size: int) -> dict:
    """Val nll of every direction, streamed over the whole split: {val_nats, val_bpc, val_bpc_<direction>}."""
    row = {}
    for lm, reverse in model.directions():
        nats = float(stream_nll(lm, direction_tokens(val_tokens, reverse), batch_size).mean())
        row[f"val_bpc_{'backward' if reverse else 'forward'}"] = nats / math.log(2)
        row.setdefault("_nats", []).append(nats)
    row["val_nats"] = sum(row["_nats"]) / len(row.pop("_nats"))
    row["val_bpc"] = row["val_nats"] / math.log(2)
    return row


def train(model: nn.Module, train_tokens: torch.Tensor, val_tokens: torch.Tensor, p: TrainParams, *,
          resume: dict | None = None, on_eval: Callable[[dict, dict], None] | None = None,
          on_step: Callable[[int], None] | None = None) -> Position:
    """Train until the token/epoch budget or early stopping; returns the final Position (history, best weights).

    `on_eval(row, snapshot)` runs after every evaluation; `snapshot` is what `resume` accepts.
    """
    device = next(model.parameters()).device
    directions = model.directions()
    check_length(train_tokens.numel(), p.batch_size, p.num_steps, "train")
    if val_tokens.numel() < 2:
        raise CharlmError(f"val split: {val_tokens.numel()} tokens; validation needs at least 2")
    streams = [direction_tokens(train_tokens.long(), reverse).to(device) for _, reverse in directions]
    optimizer = make_optimizer(model, p)
    generator = torch.Generator()
    pos = _restore(resume, model, optimizer) if resume else Position(epoch_rng=generator.manual_seed(p.seed).get_state())
    step_tokens = p.batch_size * p.num_steps
    total = planned_tokens(p, ((train_tokens.numel() - 1) // p.batch_size // p.num_steps) * step_tokens)
    amp = autocast(device)
    model.train()

    loss_sum, steps_since, segment_start, train_s = torch.zeros((), device=device), 0, time.perf_counter(), 0.0
    while pos.stop_reason is None:
        generator.set_state(pos.epoch_rng)
        starts = epoch_starts(train_tokens.numel(), p.batch_size, p.num_steps, p.iterator, generator).to(device)
        carry = pos.carry if pos.carry is not None else [None] * len(directions)
        tic = time.perf_counter()
        for i in range(pos.batch, len(starts)):
            if not carries_state(p.iterator):
                carry = [None] * len(directions)
            lr = learning_rate(p, pos.tokens + step_tokens, total, plateau_cuts([r["val_bpc"] for r in pos.history]))
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss, carry = _step(directions, streams, starts[i], p, carry, optimizer, amp)
            loss_sum += loss
            steps_since += 1
            pos.step, pos.tokens, pos.batch = pos.step + 1, pos.tokens + step_tokens, i + 1
            if on_step:
                on_step(step_tokens)

            epoch_end = i + 1 == len(starts)
            crossed = pos.tokens // p.eval_every_tokens > (pos.tokens - step_tokens) // p.eval_every_tokens
            budget = pos.tokens + step_tokens > p.max_tokens
            if not (crossed or epoch_end or budget):
                continue
            train_loss = float(loss_sum) / steps_since   # waits for queued GPU work, so the timing is honest
            train_s += time.perf_counter() - tic
            if epoch_end:
                pos.epoch, pos.batch, carry, pos.epoch_rng = pos.epoch + 1, 0, None, generator.get_state()
            row = {"step": pos.step, "tokens": pos.tokens, "epoch": pos.epoch, "lr": lr,
                   "train_loss_nats": train_loss, **validate(model, val_tokens, p.batch_size)}
            model.train()
            pos.elapsed_s += time.perf_counter() - segment_start
            segment_start = time.perf_counter()
            row.update(tokens_per_s=steps_since * step_tokens / max(train_s, 1e-9), elapsed_s=pos.elapsed_s)
            _record(pos, row, model, p, budget, epoch_end)
            pos.carry = [_detach(s) for s in carry] if carry is not None else None
            if on_eval:
                on_eval(row, _snapshot(pos, model, optimizer))
            loss_sum, steps_since, train_s, tic = torch.zeros((), device=device), 0, 0.0, time.perf_counter()
            if pos.stop_reason or epoch_end:
                break
    return pos


def _step(directions, streams, starts, p: TrainParams, carry: list, optimizer, amp) -> tuple[torch.Tensor, list]:
    """One optimizer step on the mean loss over directions; returns (loss in nats, detached new carry)."""
    losses, new_carry = [], []
    with amp:
        for (lm, _), stream, state in zip(directions, streams, carry):
            inputs, targets = gather_batch(stream, starts, p.num_steps)        # (B, T) each
            logits, state = lm(inputs, state)                                   # (B, T, V)
            losses.append(F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten()))
            new_carry.append(_detach(state))
    loss = torch.stack(losses).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if p.clip_norm > 0:
        nn.utils.clip_grad_norm_([q for g in optimizer.param_groups for q in g["params"]], p.clip_norm)
    optimizer.step()
    return loss.detach(), new_carry


def _record(pos: Position, row: dict, model: nn.Module, p: TrainParams, budget: bool, epoch_end: bool) -> None:
    """Append `row`, keep the best weights, and decide whether training stops here."""
    pos.history.append(row)
    if pos.best is None or row["val_bpc"] < pos.best["val_bpc"]:
        pos.best = {k: v for k, v in row.items() if k not in TIMING_KEYS}
        pos.best_model = _cpu_copy(model.state_dict())
    since_best = sum(1 for r in pos.history if r["step"] > pos.best["step"])
    if budget:
        pos.stop_reason = "max_tokens"
    elif epoch_end and pos.epoch >= p.max_epochs:
        pos.stop_reason = "max_epochs"
    elif p.patience and since_best >= p.patience:
        pos.stop_reason = "patience"


def _cpu_copy(state_dict: dict) -> dict:
    return {k: v.detach().cpu().clone() for k, v in state_dict.items()}


def _detach(state):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def _snapshot(pos: Position, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Everything `train(resume=...)` needs, as tensors, numbers, strings, lists and dicts only."""
    return {
        "position": {"step": pos.step, "tokens": pos.tokens, "epoch": pos.epoch, "batch": pos.batch,
                     "elapsed_s": pos.elapsed_s, "stop_reason": pos.stop_reason},
        "epoch_rng": pos.epoch_rng, "carry": pos.carry, "history": [dict(r) for r in pos.history], "best": pos.best,
        "best_model": pos.best_model, "model": _cpu_copy(model.state_dict()),
        "optimizer": copy.deepcopy(optimizer.state_dict()),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _restore(snap: dict, model: nn.Module, optimizer: torch.optim.Optimizer) -> Position:
    """Load a snapshot's weights, optimizer and RNG states; return its Position."""
    device = next(model.parameters()).device
    model.load_state_dict(snap["model"])
    optimizer.load_state_dict(snap["optimizer"])
    torch.set_rng_state(snap["torch_rng"])
    if snap["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(snap["cuda_rng"])
    carry = snap["carry"]
    if carry is not None:
        carry = [None if s is None else tuple(t.to(device) for t in s) if isinstance(s, tuple) else s.to(device)
                 for s in carry]
    return Position(**snap["position"], epoch_rng=snap["epoch_rng"], carry=carry, history=list(snap["history"]),
                    best=snap["best"], best_model=snap["best_model"])
