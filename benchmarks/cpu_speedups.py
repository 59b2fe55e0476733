"""Benchmark: two CPU speed-ups charlm does not use, each against its baseline measured in the same run.

1. torch.compile of the Transformer (2×128, ctx 128, batch 32 × 128): the model's forward and, through
   AOTAutograd, its backward compiled by Inductor to C++; AdamW stays eager. Compile seconds are
   reported apart from the steady tokens/s. Skipped, with the error, where compiling fails (no C++
   compiler, for one).
2. Threads for the default LSTM (1×256, batch 32 × 64): 1 against 2 intra-op threads, in one process.

Arms take turns (model_shapes.py's `best_speeds`), so load from elsewhere hits both alike; read the
ratios, not the tokens/s.

    python benchmarks/cpu_speedups.py [--seconds 1] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import time

import torch

# benchmarks/ is on sys.path when this runs as a script; model_shapes puts src/ there for charlm.
from model_shapes import VOCAB, best_speeds, lstm, train_step, transformer  # noqa: I001
from charlm.models import build_model  # noqa: E402


def compiled_transformer(seconds: float, rounds: int) -> None:
    batch, steps = 32, 128
    torch.manual_seed(0)
    eager = train_step(build_model(transformer(2, 128), VOCAB), batch, steps)
    torch.manual_seed(0)
    model = torch.compile(build_model(transformer(2, 128), VOCAB))
    compiled = train_step(model, batch, steps)
    print("1. torch.compile, Transformer 2×128, ctx 128, 32×128")
    tic = time.perf_counter()
    try:
        compiled()                          # the first step compiles forward and backward
    except Exception as e:  # noqa: BLE001 (any failure of the compiler stack means: not available here)
        print(f"   skipped: torch.compile failed ({type(e).__name__}: {str(e).splitlines()[0][:100]})")
        return
    print(f"   first step (compiling): {time.perf_counter() - tic:.0f} s")
    speeds = best_speeds({"eager": eager, "compiled": compiled}, batch * steps, seconds, rounds)
    print(f"   eager {speeds['eager']:,.0f} tokens/s, compiled {speeds['compiled']:,.0f} tokens/s: "
          f"compiled / eager {speeds['compiled'] / speeds['eager']:.2f}×")


def lstm_threads(seconds: float, rounds: int) -> None:
    batch, steps = 32, 64
    torch.manual_seed(0)
    step = train_step(build_model(lstm(1, 256), VOCAB), batch, steps)

    def with_threads(n: int):
        def run():
            torch.set_num_threads(n)        # microseconds, against a step of tens of milliseconds
            step()
        return run

    speeds = best_speeds({1: with_threads(1), 2: with_threads(2)}, batch * steps, seconds, rounds)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"2. threads, LSTM 1×256, 32×64 ({cores} cores this process may use)")
    print(f"   1 thread {speeds[1]:,.0f} tokens/s, 2 threads {speeds[2]:,.0f} tokens/s: "
          f"2 / 1 threads {speeds[2] / speeds[1]:.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds per timed run")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each arm (best one kept)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, kernels for {torch.backends.cpu.get_cpu_capability()}\n")
    compiled_transformer(args.seconds, args.rounds)
    lstm_threads(args.seconds, args.rounds)


if __name__ == "__main__":
    main()
