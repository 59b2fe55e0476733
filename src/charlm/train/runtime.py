"""How training runs on its device: thread count, memory reuse, determinism, mixed precision.

Which device and which processes are distributed.py's (`Dist`, `resolve_device`); this module only reads them.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys

import torch
from torch import nn

from charlm.params import TrainParams
from charlm.train.distributed import Dist


def setup_runtime(p: TrainParams, dist: Dist) -> None:
    """Fix threads and determinism, then seed torch's global RNG (model init, dropout) from `p.seed`."""
    threads = p.threads
    if threads == 0 and dist.local_world_size > 1:
        # torchrun sets OMP_NUM_THREADS=1 in each of N > 1 workers (against oversubscription), so torch's
        # default would be one thread per process: 2 processes on a 16-core box would use 2 cores. What
        # threads 0 means ("use the machine") is the cores this process may run on, shared out among the
        # workers on this node. An explicit train.threads always wins.
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = max(1, cores // dist.local_world_size)
    if threads > 0:
        torch.set_num_threads(threads)  # a different thread count can change float summation order
    reuse_freed_memory()
    if dist.device.type == "cpu":
        # On the CPU this costs nothing measurable and makes two runs with one seed bit-identical.
        torch.use_deterministic_algorithms(True)
    else:
        torch.backends.cudnn.benchmark = True  # cuDNN picks the fastest LSTM kernels; CUDA runs are not bitwise
    torch.manual_seed(p.seed)


# glibc's mallopt() parameters (malloc.h) and the size below which freed memory is kept for reuse.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEEP_BYTES = 1 << 30


def reuse_freed_memory() -> bool:
    """Make glibc keep freed blocks up to 1 GiB for reuse instead of returning them to the OS.

    Above its mmap threshold (which glibc raises by itself to at most 32 MB), every allocation gets
    fresh pages from the kernel and every free unmaps them. The 2-layer LSTMs allocate and free
    larger buffers than that on every step (oneDNN workspace, filled with NaN in deterministic mode), so
    each step page-faulted through 65-155 MB of new memory and deep_lstm and bilstm spent about a third of
    their CPU time in the kernel; reuse trains them 1.7x faster (benchmarks/allocator.py). Only where the
    bytes live changes, not a single value.
    Returns False, changing nothing, where the C library has no mallopt (macOS, musl, Windows).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt   # the process's own symbols, libc's among them
    except (AttributeError, OSError, TypeError):   # TypeError: Windows cannot open "no file"
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES) and mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES))


def autocast(model: nn.Module, precision: str) -> contextlib.AbstractContextManager:
    """The context `model`'s training forward runs in: bf16 autocast, or nothing (fp32), per train.precision.

    bf16 needs no loss scaling (unlike fp16); weights, gradients and AdamW's state stay fp32 either way.
    `auto` is bf16 on CUDA, where tensor cores run it several times faster, and fp32 on the CPU: without
    AVX-512 BF16 or AMX, bf16 matmuls take a slow path (on the 2-core AVX2 VM a Transformer trained
    14-25× slower) and round more. benchmarks/precision.py measures a CPU; run it before choosing bf16 there.
    A recurrent model falls back to fp32, with a note, where the RNN kernels reject bf16: cuDNN before
    9.13, oneDNN on AVX2-only CPUs.
    Validation stays outside it, in fp32: val bpc is then the same measure as evaluate's under any precision.
    """
    device = next(model.parameters()).device
    bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    recurrent = any(isinstance(m, nn.RNNBase) for m in model.modules())
    if not bf16 or (recurrent and not _bf16_rnn_works(device)):
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


@functools.cache
def _bf16_rnn_works(device: torch.device) -> bool:
    """Whether an LSTM trains under bf16 autocast on `device`; prints the note when it does not."""
    # fork_rng: building the probe LSTM draws its init from the global RNG, which seeds the run's dropout;
    # the probe runs only on the first call, so without it two runs in one process would differ.
    try:
        with torch.random.fork_rng(devices=[]), torch.autocast(device.type, dtype=torch.bfloat16):
            rnn = nn.LSTM(4, 4, batch_first=True).to(device)
            rnn(torch.zeros(1, 2, 4, device=device))[0].float().sum().backward()
        return True
    except RuntimeError as e:
        print(f"note: bf16 autocast disabled, training in fp32 ({str(e).splitlines()[0]})", file=sys.stderr)
        return False
