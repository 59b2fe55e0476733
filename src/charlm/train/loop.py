"""The one training loop, for every model: it only sees `forward(tokens, state)` and `directions()`.

Each epoch draws its batch layout and steps through it. At every eval point (each eval_every_tokens,
each epoch end, the last step the token budget allows) the loop validates, records the history row and
hands `on_eval` a snapshot of its Position (position.py); passing that dict back as `resume` continues
the run exactly where it was, so a resumed CPU run is bit-identical to an unbroken one.

Under torchrun (`dist`, see distributed.py) every process runs this same loop on its own contiguous
share of the B batch rows; DistributedDataParallel averages the gradients, so a step equals the
single-process step on the global batch (up to float rounding). Validation and the reported train loss
are reduced over processes, so every rank takes the same best-checkpoint and stopping decisions.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from charlm.divergence import Diverged, describe_mean, mean_diverged
from charlm.errors import CharlmError
from charlm.models.checkpoint import cpu_state
from charlm.models.scoring import direction_tokens
from charlm.params import TrainParams
from charlm.train.batches import carries_state, check_length, epoch_starts, gather_batch, tokens_per_epoch
from charlm.train.distributed import SINGLE, Dist
from charlm.train.position import Position, map_state, restore, snapshot
from charlm.train.runtime import autocast
from charlm.train.schedule import learning_rate, planned_tokens, plateau_cuts
from charlm.train.validate import validate

# History columns that depend on the machine's speed; everything else is a function of the seed.
# tokens_per_s is since the previous evaluation; train_s (training only) and elapsed_s are cumulative.
TIMING_KEYS = ("tokens_per_s", "train_s", "elapsed_s")


def make_optimizer(model: nn.Module, p: TrainParams) -> torch.optim.Optimizer:
    """SGD (notebook parity), Adam or AdamW over the model's distinct parameters."""
    if p.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    cls = torch.optim.Adam if p.optimizer == "adam" else torch.optim.AdamW
    # On CUDA, the fused kernel updates every tensor in one launch instead of several launches per tensor.
    fused = {"fused": True} if next(model.parameters()).is_cuda else {}
    return cls(model.parameters(), lr=p.lr, betas=p.betas, weight_decay=p.weight_decay, **fused)


def train(model: nn.Module, train_tokens: torch.Tensor, val_tokens: torch.Tensor, p: TrainParams, *,
          resume: dict | None = None, on_eval: Callable[[dict, dict], None] | None = None,
          on_step: Callable[[int], None] | None = None, dist: Dist = SINGLE) -> Position:
    """Train until the token/epoch budget or early stopping; returns the final Position (history, best weights).

    `on_eval(row, snapshot)` runs after every evaluation; `snapshot` is what `resume` accepts. Callbacks
    run on the main process only, but building the snapshot is a collective: pass `on_eval` on every rank.
    """
    run, pos = _start(model, train_tokens, val_tokens, p, resume, dist)
    meter = _Meter(run.device)
    while pos.stop_reason is None:
        _train_epoch(run, pos, meter, on_eval, on_step)
    return pos


@dataclass(frozen=True)
class _Run:
    """What every step of one train() call shares; none of it changes during the call."""
    model: nn.Module
    step_loss: nn.Module                   # StepLoss, wrapped in DistributedDataParallel under torchrun
    optimizer: torch.optim.Optimizer
    generator: torch.Generator             # draws each epoch's layout (offset, shuffle)
    streams: list[torch.Tensor]            # the train tokens in each direction's reading order, on `device`
    val_tokens: torch.Tensor
    p: TrainParams
    dist: Dist
    device: torch.device
    rows: slice                            # this rank's columns of every batch
    step_tokens: int                       # tokens per optimizer step, all ranks together: B × T
    total_tokens: int                      # the cosine horizon
    amp: contextlib.AbstractContextManager  # bf16 autocast or nothing, per train.precision
    vocab_size: int                        # what a uniform guess costs, ln V, is the yardstick for divergence


def _start(model: nn.Module, train_tokens: torch.Tensor, val_tokens: torch.Tensor, p: TrainParams,
           resume: dict | None, dist: Dist) -> tuple[_Run, Position]:
    """Check the splits, build the optimizer and the step, and restore `resume` (or start at step 0)."""
    device = next(model.parameters()).device
    check_length(train_tokens.numel(), p.batch_size, p.num_steps, "train")
    rows = dist.shard(p.batch_size, "train.batch_size")
    if val_tokens.numel() < 2:
        raise CharlmError(f"val split: {val_tokens.numel()} tokens; validation needs at least 2")
    streams = [direction_tokens(train_tokens.long(), reverse).to(device) for _, reverse in model.directions()]
    optimizer = make_optimizer(model, p)
    generator = torch.Generator()
    if resume:
        pos = restore(resume, model, optimizer, dist)
    else:
        pos = Position(epoch_rng=generator.manual_seed(p.seed).get_state())
    step_loss = StepLoss(model)
    if dist.active:   # after restore, so DDP's initial broadcast of rank 0's weights is of the resumed ones
        step_loss = DistributedDataParallel(step_loss, device_ids=[device] if device.type == "cuda" else None)
    total = planned_tokens(p, tokens_per_epoch(train_tokens.numel(), p.batch_size, p.num_steps))
    run = _Run(model=model, step_loss=step_loss, optimizer=optimizer, generator=generator, streams=streams,
               val_tokens=val_tokens, p=p, dist=dist, device=device, rows=rows,
               step_tokens=p.batch_size * p.num_steps, total_tokens=total, amp=autocast(model, p.precision),
               vocab_size=model.directions()[0][0].vocab_size)
    model.train()
    return run, pos


def _train_epoch(run: _Run, pos: Position, meter: _Meter, on_eval: Callable[[dict, dict], None] | None,
                 on_step: Callable[[int], None] | None) -> None:
    """Step through the rest of epoch `pos.epoch`, evaluating at each eval point; return at its end or a stop."""
    p, directions = run.p, len(run.streams)
    starts = _epoch_layout(run, pos.epoch_rng)                               # (num_batches, this rank's B)
    carry = pos.carry if pos.carry is not None else [None] * directions
    meter.restart()
    for i in range(pos.batch, len(starts)):
        if not carries_state(p.iterator):
            carry = [None] * directions
        lr = _set_learning_rate(run, pos)
        loss, carry = _step(run.step_loss, run.streams, starts[i], p, carry, run.optimizer, run.amp)
        meter.add(loss)
        pos.step, pos.tokens, pos.batch = pos.step + 1, pos.tokens + run.step_tokens, i + 1
        if on_step and run.dist.is_main:
            on_step(run.step_tokens)
        epoch_end = i + 1 == len(starts)
        budget = pos.tokens + run.step_tokens > p.max_tokens                 # the next step would overrun it
        if epoch_end or budget or _crossed(pos.tokens, run.step_tokens, p.eval_every_tokens):
            row = _evaluate(run, pos, meter, lr, carry, budget=budget, epoch_end=epoch_end)
            if on_eval:
                _hand_snapshot(run, pos, row, on_eval)
            meter.restart()
            if pos.stop_reason or epoch_end:
                return


def _epoch_layout(run: _Run, epoch_rng: torch.Tensor) -> torch.Tensor:
    """This rank's columns of the epoch's start positions, drawn from the generator state `epoch_rng`."""
    run.generator.set_state(epoch_rng)
    # Every rank draws the same global layout (same generator state) and keeps its own rows of it.
    p, num_tokens = run.p, run.streams[0].numel()      # each direction's stream holds every train token
    starts = epoch_starts(num_tokens, p.batch_size, p.num_steps, p.iterator, run.generator)
    return starts[:, run.rows].to(run.device)


def _set_learning_rate(run: _Run, pos: Position) -> float:
    """Set and return the lr of the step about to run (a pure function of where it ends and of the history)."""
    cuts = plateau_cuts([r["val_bpc"] for r in pos.history])
    lr = learning_rate(run.p, pos.tokens + run.step_tokens, run.total_tokens, cuts)
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    return lr


def _crossed(tokens: int, step_tokens: int, every: int) -> bool:
    """Whether the step that ended at `tokens` passed a multiple of `every` (an eval point)."""
    return tokens // every > (tokens - step_tokens) // every


def _evaluate(run: _Run, pos: Position, meter: _Meter, lr: float, carry: list, *, budget: bool,
              epoch_end: bool) -> dict:
    """Validate, append the history row (best weights, stopping decision) and make `pos` resumable here."""
    train_loss, train_s = meter.close(run.dist)
    _stop_if_diverged("mean train loss", train_loss, pos.tokens, lr, run.vocab_size)   # before a val pass
    pos.train_s += train_s
    if epoch_end:   # the next epoch carries no state, and draws its layout where this one's draws left off
        pos.epoch, pos.batch, pos.epoch_rng = pos.epoch + 1, 0, run.generator.get_state()
    row = {"step": pos.step, "tokens": pos.tokens, "epoch": pos.epoch, "lr": lr,
           "train_loss_nats": train_loss, **validate(run.model, run.val_tokens, run.p.batch_size, run.dist)}
    _stop_if_diverged("val nll", row["val_nats"], pos.tokens, lr, run.vocab_size)
    run.model.train()
    pos.elapsed_s += meter.lap()
    row.update(tokens_per_s=meter.steps * run.step_tokens / max(train_s, 1e-9), train_s=pos.train_s,
               elapsed_s=pos.elapsed_s)
    _record(pos, row, run.model, run.p, budget, epoch_end)
    pos.carry = None if epoch_end else [_detach(s) for s in carry]
    return row


def _stop_if_diverged(what: str, nats: float, tokens: int, lr: float, vocab_size: int) -> None:
    """Diverged (the caller names the lr key) when a mean loss says the weights blew up (charlm.divergence).
    Train loss and val score are both reduced over ranks, so every rank of a DDP job stops here alike."""
    if mean_diverged(nats, vocab_size):
        raise Diverged(f"training diverged by token {tokens:,}: {what} {describe_mean(nats, vocab_size)}; "
                       f"lower the lr (it was {lr:.3g} there)")


def _hand_snapshot(run: _Run, pos: Position, row: dict, on_eval: Callable[[dict, dict], None]) -> None:
    """Build the snapshot of `pos` (on every rank: it gathers per-rank state) and give it to `on_eval` on rank 0."""
    snap = snapshot(pos, run.model, run.optimizer, run.dist)
    if run.dist.is_main:
        on_eval(row, snap)


class _Meter:
    """Since the last evaluation: the summed step losses, and the clocks behind the timing columns."""

    def __init__(self, device: torch.device):
        self.device = device
        self.wall = time.perf_counter()     # elapsed_s: wall clock, validation and checkpointing included
        self.restart()

    def restart(self) -> None:
        """Start a run of steps: nothing summed yet, the training clock (train_s, tokens_per_s) from now."""
        self.loss_sum, self.steps, self.tic = torch.zeros((), device=self.device), 0, time.perf_counter()

    def add(self, loss: torch.Tensor) -> None:
        self.loss_sum += loss
        self.steps += 1

    def close(self, dist: Dist) -> tuple[float, float]:
        """(mean train loss in nats over the steps and ranks, seconds the steps took)."""
        # float() waits for queued GPU work, so the timing is honest; the mean over ranks is the global mean
        train_loss = float(dist.sum(self.loss_sum)) / dist.world_size / self.steps
        return train_loss, time.perf_counter() - self.tic

    def lap(self) -> float:
        """Wall-clock seconds since the previous lap (or since the start)."""
        now = time.perf_counter()
        elapsed, self.wall = now - self.wall, now
        return elapsed


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
        pos.best_model = cpu_state(model)
    since_best = sum(1 for r in pos.history if r["step"] > pos.best["step"])
    if budget:
        pos.stop_reason = "max_tokens"
    elif epoch_end and pos.epoch >= p.max_epochs:
        pos.stop_reason = "max_epochs"
    elif p.patience and since_best >= p.patience:
        pos.stop_reason = "patience"


def _detach(state):
    return map_state(torch.Tensor.detach, state)
