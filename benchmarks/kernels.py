"""Benchmark: training tokens/s with `runtime.kernels: portable` (AVX2 caps) against `native`, per model shape.

Each library fixes its CPU kernels once per process (src/charlm/kernels.py), so every measurement is a
process of its own: full training steps (forward, backward, AdamW, as model_shapes.py's train_step) of
one default shape for about `--seconds`, portable and native taking turns for `--rounds` rounds, the
best of each kept. What portable costs shows in the ratio; on an AVX2-only machine both are the same
kernels and the ratio is 1 up to noise.

    python benchmarks/kernels.py [--seconds 8] [--rounds 2] [--threads 2]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from charlm.kernels import cpu_flags, use_kernels  # noqa: E402  (neither imports numpy or torch)

# label -> (model_shapes factory, its args, batch, steps): default shapes of params.yaml. Names, not
# functions: this module must not import torch, since its --worker processes choose kernels first.
SHAPES = {
    "LSTM 1×256, 32×64 (lstm, champion)": ("lstm", (1, 256), 32, 64),
    "LSTM 2×256, 32×64 (deep_lstm)": ("lstm", (2, 256), 32, 64),
    "Transformer 2×128, ctx 128, 32×128": ("transformer", (2, 128), 32, 128),
}


def measure(choice: str, shape: str, seconds: float, threads: int) -> tuple[str, float]:
    """(ATen's kernels, tokens/s) of `shape` in a fresh process under `choice` (this file's --worker mode)."""
    out = subprocess.run([sys.executable, __file__, "--worker", choice, shape, "--seconds", str(seconds),
                          "--threads", str(threads)], capture_output=True, text=True, check=True, timeout=600)
    capability, speed = out.stdout.split()
    return capability, float(speed)


def worker(choice: str, shape: str, seconds: float, threads: int) -> None:
    """Print the tokens/s of `shape`'s training steps, with the kernels chosen before torch is imported."""
    use_kernels(choice)
    import model_shapes   # torch, only now
    import torch

    torch.set_num_threads(threads)
    factory, factory_args, batch, steps = SHAPES[shape]
    torch.manual_seed(0)
    model = model_shapes.build_model(getattr(model_shapes, factory)(*factory_args), model_shapes.VOCAB)
    step = model_shapes.train_step(model, batch, steps)
    for _ in range(2):
        step()                                    # warm-up: allocator, oneDNN primitive cache
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        step()
        n += 1
    print(f"{torch.backends.cpu.get_cpu_capability()} {n * batch * steps / (time.perf_counter() - started):.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", nargs=2, metavar=("CHOICE", "SHAPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, args.seconds, args.threads)
        return
    flags = cpu_flags()
    print(f"CPU: {'AVX-512' if 'avx512f' in flags else 'AVX2' if 'avx2' in flags else 'no AVX2'}; "
          f"{args.threads} threads, best of {args.rounds} × {args.seconds:g} s per arm")
    print("| shape | portable tokens/s | native tokens/s | portable / native |\n|---|---:|---:|---:|")
    for shape in SHAPES:
        best, kernels = {"portable": 0.0, "native": 0.0}, {}
        for _ in range(args.rounds):
            for choice in best:
                kernels[choice], speed = measure(choice, shape, args.seconds, args.threads)
                best[choice] = max(best[choice], speed)
        print(f"| {shape} | {best['portable']:,.0f} ({kernels['portable']}) | {best['native']:,.0f} "
              f"({kernels['native']}) | {best['portable'] / best['native']:.2f} |")


if __name__ == "__main__":
    main()
