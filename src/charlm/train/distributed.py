"""Data-parallel training across processes started by torchrun; one process is the unchanged default.

torchrun starts one process per device and tells each who it is through the environment (RANK,
WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR/PORT). `session()` turns that into a `Dist` and a
process group: NCCL between GPUs (one per process, cuda:LOCAL_RANK), gloo between CPU processes. Without
torchrun, or with a world of one, there is no process group and every helper below is the identity, so a
single-process run takes exactly the code path (and gives exactly the bytes) it always did.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Iterator

import torch
import torch.distributed as tdist

from charlm.errors import CharlmError


@dataclass(frozen=True)
class Dist:
    """This process's place in the job; `device` is where it trains (and where NCCL collectives run)."""
    rank: int = 0
    world_size: int = 1
    local_world_size: int = 1    # processes on this machine (they share its cores)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def active(self) -> bool:
        """Whether there is a process group (more than one process)."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that writes files and prints."""
        return self.rank == 0

    def shard(self, n: int, key: str) -> slice:
        """This rank's contiguous share of `n` rows. Shards must be equal: the mean of the per-rank mean
        losses is the global mean loss only when every rank averages over as many rows."""
        if n % self.world_size:
            raise CharlmError(f"{key}: {n} is not divisible by the world size {self.world_size} (processes in "
                              f"the torchrun job); each process takes an equal share of the batch rows")
        size = n // self.world_size
        return slice(self.rank * size, (self.rank + 1) * size)

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise sum over ranks (a collective: every rank must call it), on `values`'s device."""
        if not self.active:
            return values
        reduced = values.detach().to(self.device, copy=True)
        tdist.all_reduce(reduced)
        return reduced.to(values.device)

    def all_gather_object(self, obj: object) -> list:
        """[rank 0's obj, rank 1's obj, ...] on every rank (pickled; keep tensors on the CPU)."""
        if not self.active:
            return [obj]
        gathered = [None] * self.world_size
        tdist.all_gather_object(gathered, obj)
        return gathered

    def broadcast_object(self, obj: object) -> object:
        """Rank 0's `obj` on every rank (what the others pass is ignored)."""
        if not self.active:
            return obj
        box = [obj]
        tdist.broadcast_object_list(box, src=0)
        return box[0]


SINGLE = Dist()   # the default everywhere: one process, no collectives


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA when present, else the CPU; asking for CUDA without one is a CharlmError."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise CharlmError("train.device: cuda requested but torch sees no CUDA device (use auto or cpu)")
    return torch.device(name)


@contextlib.contextmanager
def session(device_name: str) -> Iterator[Dist]:
    """The Dist for this process, with its process group up for the duration (destroyed even on errors).

    `device_name` is train.device; under torchrun, CUDA means cuda:LOCAL_RANK (one GPU per process).
    """
    device = resolve_device(device_name)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        yield Dist(device=device)
        return
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise CharlmError(f"train.device: local rank {local_rank} needs a GPU of its own, but torch sees "
                              f"{torch.cuda.device_count()} (use --nproc_per_node <= the GPU count)")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)   # NCCL and object collectives use the current device
    tdist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield Dist(rank, world_size, int(os.environ.get("LOCAL_WORLD_SIZE", world_size)), device)
    finally:
        tdist.destroy_process_group()
