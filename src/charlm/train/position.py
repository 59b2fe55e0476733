"""Where a training run is (`Position`), and its snapshot: the plain dict that `train(resume=...)` continues.

The snapshot holds the whole position (weights, optimizer, RNG states, epoch/batch, carried hidden
state, history) as tensors, numbers, strings, lists and dicts only, so it saves with torch.save and
loads with weights_only=True; restoring it makes a resumed CPU run bit-identical to an unbroken one.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from charlm.errors import CharlmError
from charlm.models.checkpoint import cpu_state
from charlm.train.distributed import Dist


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


def map_state(fn, state):
    """`fn` applied to a carried state: None, a tensor, or a tuple of tensors (the LSTM's (h, c))."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(fn(s) for s in state)
    return fn(state)


def snapshot(pos: Position, model: nn.Module, optimizer: torch.optim.Optimizer, dist: Dist) -> dict | None:
    """Everything `train(resume=...)` needs, as tensors, numbers, strings, lists and dicts only.

    What differs between ranks (the carried state of its rows, its dropout RNG) is gathered from every
    rank into `ranks`, indexed by rank, so a collective: call it on every rank; the others get None.
    """
    carry = None if pos.carry is None else [map_state(torch.Tensor.cpu, s) for s in pos.carry]
    ranks = dist.all_gather_object({
        "carry": carry, "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []})
    if not dist.is_main:
        return None
    return {
        "position": {"step": pos.step, "tokens": pos.tokens, "epoch": pos.epoch, "batch": pos.batch,
                     "elapsed_s": pos.elapsed_s, "train_s": pos.train_s, "stop_reason": pos.stop_reason},
        "epoch_rng": pos.epoch_rng, "history": [dict(r) for r in pos.history], "best": pos.best,
        "best_model": pos.best_model, "model": cpu_state(model),
        "optimizer": copy.deepcopy(optimizer.state_dict()), "ranks": ranks,
    }


def restore(snap: dict, model: nn.Module, optimizer: torch.optim.Optimizer, dist: Dist) -> Position:
    """Load a snapshot's weights, optimizer and this rank's RNG states and carry; return its Position."""
    if len(snap["ranks"]) != dist.world_size:   # the run fingerprint includes the world size; never expected
        raise CharlmError(f"resume snapshot is from {len(snap['ranks'])} processes, this run has {dist.world_size}")
    device = next(model.parameters()).device
    model.load_state_dict(snap["model"])
    # load_state_dict keeps the snapshot's tensors, which training then updates in place: copy, so the
    # snapshot stays what was saved (resuming twice from one in-memory snapshot must repeat the run).
    optimizer.load_state_dict(copy.deepcopy(snap["optimizer"]))
    mine = snap["ranks"][dist.rank]
    torch.set_rng_state(mine["torch_rng"])
    if mine["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(mine["cuda_rng"])
    carry = mine["carry"]
    if carry is not None:
        carry = [map_state(lambda t: t.to(device), s) for s in carry]
    return Position(**snap["position"], epoch_rng=snap["epoch_rng"], carry=carry, history=list(snap["history"]),
                    best=snap["best"], best_model=snap["best_model"])
