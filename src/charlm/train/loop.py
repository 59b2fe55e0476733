"""The one training loop, for every model: it only sees `forward(tokens, state)` and `directions()`.

Its whole position (weights, optimizer, RNG states, epoch/batch, carried hidden state, history) is a
plain dict (`snapshot`) handed to `on_eval` at every evaluation; passing that dict back as `resume`
continues the run exactly where it was, so a resumed CPU run is bit-identical to an unbroken one.

Under torchrun (`dist`, see distributed.py) every process runs this same loop on its own contiguous
share of the B batch rows; DistributedDataParallel averages the gradients, so a step equals the
single-process step on the global batch (up to float rounding). Validation and the reported train loss
are reduced over processes, so every rank takes the same best-checkpoint and stopping decisions.
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
from torch.nn.parallel import DistributedDataParallel

from charlm.errors import CharlmError
from charlm.models.scoring import direction_tokens, stream_nll
from charlm.params import TrainParams
from charlm.train.batches import carries_state, check_length, epoch_starts, gather_batch
from charlm.train.distributed import SINGLE, Dist
from charlm.train.runtime import autocast
from charlm.train.schedule import learning_rate, planned_tokens, plateau_cuts

# History columns that depend on the machine's speed; everything else is a function of the seed.
# tokens_per_s is since the previous evaluation; train_s (training only) and elapsed_s are cumulative.
TIMING_KEYS = ("tokens_per_s", "train_s", "elapsed_s")


@dataclass
class Position:
    """Where the run is: optimizer steps, tokens seen, epoch and next batch in it, and the eval history."""
    step: int = 0
    tokens: int = 0
    epoch: int = 0
    batch: int = 0
    epoch_rng: torch.Tensor | None = None   # batch generator state at the start of `epoch`
    carry: list | None = None               # detached hidden state per direction, mid-epoch (this rank's rows)
    history: list[dict] = field(default_factory=list)
    best: dict | None = None                # the history row with the lowest val bpc
    best_model: dict | None = None          # its weights (CPU copies)
    elapsed_s: float = 0.0
    train_s: float = 0.0                    # elapsed_s minus validation and checkpointing
    stop_reason: str | None = None          # None while training; "max_tokens" | "max_epochs" | "patience"


def make_optimizer(model: nn.Module, p: TrainParams) -> torch.optim.Optimizer:
    """SGD (notebook parity), Adam or AdamW over the model's distinct parameters."""
    if p.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    cls = torch.optim.Adam if p.optimizer == "adam" else torch.optim.AdamW
    # On CUDA, the fused kernel updates every tensor in one launch instead of several launches per tensor.
    fused = {"fused": True} if next(model.parameters()).is_cuda else {}
    return cls(model.parameters(), lr=p.lr, betas=p.betas, weight_decay=p.weight_decay, **fused)


def validate(model: nn.Module, val_tokens: torch.Tensor, batch_size: int, dist: Dist = SINGLE) -> dict:
    """Val nll of every direction, streamed over the whole split: {val_nats, val_bpc, val_bpc_<direction>}.

    Under DDP each rank scores its share of the streams and the nll sums are added up, so every rank
    gets the same numbers.
    """
    directions = model.directions()
    if dist.active:
        sums = [_shard_nll(lm, direction_tokens(val_tokens, reverse), batch_size, dist) for lm, reverse in directions]
        totals = dist.sum(torch.tensor(sums, dtype=torch.float64)).tolist()    # [[nll sum, count] per direction]
        nats = [total / count for total, count in totals]
    else:
        nats = [float(stream_nll(lm, direction_tokens(val_tokens, reverse), batch_size).mean())
                for lm, reverse in directions]
    row = {f"val_bpc_{'backward' if reverse else 'forward'}": n / math.log(2)
           for (_, reverse), n in zip(directions, nats)}
    row["val_nats"] = sum(nats) / len(nats)
    row["val_bpc"] = row["val_nats"] / math.log(2)
    return row


def _shard_nll(lm: nn.Module, tokens: torch.Tensor, batch_size: int, dist: Dist) -> list[float]:
    """[nll sum, count] over this rank's contiguous share of the streams stream_nll cuts `tokens` into.

    The share is cut out (and its tail padded) so that stream_nll splits it into exactly those streams,
    each starting where it starts in the single-process layout; padding is only ever read after a
    stream's real tokens, so it changes nothing, and only the real targets are summed.
    """
    n = tokens.numel() - 1
    streams = min(batch_size, n)
    length = math.ceil(n / streams)                                         # stream_nll's layout
    first, last = dist.rank * streams // dist.world_size, (dist.rank + 1) * streams // dist.world_size
    start = first * length
    real = max(0, min(last * length, n) - start)                            # targets this rank scores
    if real == 0:
        return [0.0, 0.0]
    piece = tokens[start:start + real + 1]
    piece = F.pad(piece, (0, (last - first) * length + 1 - piece.numel()))
    return [float(stream_nll(lm, piece, last - first)[:real].sum()), float(real)]


def train(model: nn.Module, train_tokens: torch.Tensor, val_tokens: torch.Tensor, p: TrainParams, *,
          resume: dict | None = None, on_eval: Callable[[dict, dict], None] | None = None,
          on_step: Callable[[int], None] | None = None, dist: Dist = SINGLE) -> Position:
    """Train until the token/epoch budget or early stopping; returns the final Position (history, best weights).

    `on_eval(row, snapshot)` runs after every evaluation; `snapshot` is what `resume` accepts. Callbacks
    run on the main process only, but building the snapshot is a collective: pass `on_eval` on every rank.
    """
    device = next(model.parameters()).device
    directions = model.directions()
    check_length(train_tokens.numel(), p.batch_size, p.num_steps, "train")
    rows = dist.shard(p.batch_size, "train.batch_size")   # this rank's columns of every batch
    if val_tokens.numel() < 2:
        raise CharlmError(f"val split: {val_tokens.numel()} tokens; validation needs at least 2")
    streams = [direction_tokens(train_tokens.long(), reverse).to(device) for _, reverse in directions]
    optimizer = make_optimizer(model, p)
    generator = torch.Generator()
    if resume:
        pos = _restore(resume, model, optimizer, dist)
    else:
        pos = Position(epoch_rng=generator.manual_seed(p.seed).get_state())
    step_loss = StepLoss(model)
    if dist.active:   # after _restore, so DDP's initial broadcast of rank 0's weights is of the resumed ones
        step_loss = DistributedDataParallel(step_loss, device_ids=[device] if device.type == "cuda" else None)
    step_tokens = p.batch_size * p.num_steps
    total = planned_tokens(p, ((train_tokens.numel() - 1) // p.batch_size // p.num_steps) * step_tokens)
    amp = autocast(device)
    model.train()

    loss_sum, steps_since, segment_start, train_s = torch.zeros((), device=device), 0, time.perf_counter(), 0.0
    while pos.stop_reason is None:
        generator.set_state(pos.epoch_rng)
        # Every rank draws the same global layout (same generator state) and keeps its own rows of it.
        starts = epoch_starts(train_tokens.numel(), p.batch_size, p.num_steps, p.iterator, generator)[:, rows]
        starts = starts.to(device)
        carry = pos.carry if pos.carry is not None else [None] * len(directions)
        tic = time.perf_counter()
        for i in range(pos.batch, len(starts)):
            if not carries_state(p.iterator):
                carry = [None] * len(directions)
            lr = learning_rate(p, pos.tokens + step_tokens, total, plateau_cuts([r["val_bpc"] for r in pos.history]))
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss, carry = _step(step_loss, streams, starts[i], p, carry, optimizer, amp)
            loss_sum += loss
            steps_since += 1
            pos.step, pos.tokens, pos.batch = pos.step + 1, pos.tokens + step_tokens, i + 1
            if on_step and dist.is_main:
                on_step(step_tokens)

            epoch_end = i + 1 == len(starts)
            crossed = pos.tokens // p.eval_every_tokens > (pos.tokens - step_tokens) // p.eval_every_tokens
            budget = pos.tokens + step_tokens > p.max_tokens
            if not (crossed or epoch_end or budget):
                continue
            # float() waits for queued GPU work, so the timing is honest; the mean over ranks is the global mean
            train_loss = float(dist.sum(loss_sum)) / dist.world_size / steps_since
            train_s += time.perf_counter() - tic
            pos.train_s += train_s
            if epoch_end:
                pos.epoch, pos.batch, carry, pos.epoch_rng = pos.epoch + 1, 0, None, generator.get_state()
            row = {"step": pos.step, "tokens": pos.tokens, "epoch": pos.epoch, "lr": lr,
                   "train_loss_nats": train_loss, **validate(model, val_tokens, p.batch_size, dist)}
            model.train()
            pos.elapsed_s += time.perf_counter() - segment_start
            segment_start = time.perf_counter()
            row.update(tokens_per_s=steps_since * step_tokens / max(train_s, 1e-9), train_s=pos.train_s,
                       elapsed_s=pos.elapsed_s)
            _record(pos, row, model, p, budget, epoch_end)
            pos.carry = [_detach(s) for s in carry] if carry is not None else None
            if on_eval:
                snapshot = _snapshot(pos, model, optimizer, dist)   # on every rank: it gathers per-rank state
                if dist.is_main:
                    on_eval(row, snapshot)
            loss_sum, steps_since, train_s, tic = torch.zeros((), device=device), 0, 0.0, time.perf_counter()
            if pos.stop_reason or epoch_end:
                break
    return pos


class StepLoss(nn.Module):
    """One step's loss over every direction: (per-direction (inputs, targets), carried states) -> (mean loss,
    detached new states).

    The model's directions are separate LMs that the loop calls one by one; DistributedDataParallel syncs
    gradients only for what runs inside its own forward, so the whole step is one module, and DDP wraps it.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batches: list[tuple[torch.Tensor, torch.Tensor]], carry: list) -> tuple[torch.Tensor, list]:
        losses, new_carry = [], []
        for (lm, _), (inputs, targets), state in zip(self.model.directions(), batches, carry):
            logits, state = lm(inputs, state)                                   # (B, T, V)
            losses.append(F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten()))
            new_carry.append(_detach(state))
        return torch.stack(losses).mean(), new_carry


def _step(step_loss: nn.Module, streams, starts, p: TrainParams, carry: list, optimizer, amp
          ) -> tuple[torch.Tensor, list]:
    """One optimizer step on the mean loss over directions; returns (loss in nats, detached new carry)."""
    batches = [gather_batch(stream, starts, p.num_steps) for stream in streams]   # (B, T) inputs and targets
    with amp:
        loss, new_carry = step_loss(batches, carry)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()                     # under DDP this also averages the gradients over ranks
    if p.clip_norm > 0:                 # identical gradients on every rank, so identical clipping
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
    return _map_state(torch.Tensor.detach, state)


def _map_state(fn, state):
    """`fn` applied to a carried state: None, a tensor, or a tuple of tensors (the LSTM's (h, c))."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(fn(s) for s in state)
    return fn(state)


def _snapshot(pos: Position, model: nn.Module, optimizer: torch.optim.Optimizer, dist: Dist) -> dict | None:
    """Everything `train(resume=...)` needs, as tensors, numbers, strings, lists and dicts only.

    What differs between ranks (the carried state of its rows, its dropout RNG) is gathered from every
    rank into `ranks`, indexed by rank, so a collective: call it on every rank; the others get None.
    """
    carry = None if pos.carry is None else [_map_state(torch.Tensor.cpu, s) for s in pos.carry]
    ranks = dist.all_gather_object({
        "carry": carry, "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []})
    if not dist.is_main:
        return None
    return {
        "position": {"step": pos.step, "tokens": pos.tokens, "epoch": pos.epoch, "batch": pos.batch,
                     "elapsed_s": pos.elapsed_s, "train_s": pos.train_s, "stop_reason": pos.stop_reason},
        "epoch_rng": pos.epoch_rng, "history": [dict(r) for r in pos.history], "best": pos.best,
        "best_model": pos.best_model, "model": _cpu_copy(model.state_dict()),
        "optimizer": copy.deepcopy(optimizer.state_dict()), "ranks": ranks,
    }


def _restore(snap: dict, model: nn.Module, optimizer: torch.optim.Optimizer, dist: Dist) -> Position:
    """Load a snapshot's weights, optimizer and this rank's RNG states and carry; return its Position."""
    if len(snap["ranks"]) != dist.world_size:   # the run fingerprint includes the world size; never expected
        raise CharlmError(f"resume snapshot is from {len(snap['ranks'])} processes, this run has {dist.world_size}")
    device = next(model.parameters()).device
    model.load_state_dict(snap["model"])
    optimizer.load_state_dict(snap["optimizer"])
    mine = snap["ranks"][dist.rank]
    torch.set_rng_state(mine["torch_rng"])
    if mine["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(mine["cuda_rng"])
    carry = mine["carry"]
    if carry is not None:
        carry = [_map_state(lambda t: t.to(device), s) for s in carry]
    return Position(**snap["position"], epoch_rng=snap["epoch_rng"], carry=carry, history=list(snap["history"]),
                    best=snap["best"], best_model=snap["best_model"])
