"""Benchmark: training tokens/s under bf16 autocast against fp32 on the CPU, per model shape, in one run.

`train.precision: auto` trains in fp32 on the CPU and in bf16 on CUDA (docs/models.md#training); this
is the measurement behind the CPU half. Each shape runs full training steps (forward, backward, AdamW)
through charlm's model factory on random tokens, fp32 and bf16 autocast taking turns (model_shapes.py's
`best_speeds`), so the bf16/fp32 ratio is measured under the same load; the ratios carry across
machines, the tokens/s do not. bf16 pays on a CPU only with native bf16 arithmetic (AVX-512 BF16 or
AMX): the flags are printed first. Where a kernel rejects bf16 (oneDNN's LSTM without AVX-512), the row
says so: charlm then trains that model in fp32, with a note.

    python benchmarks/precision.py [--seconds 1] [--rounds 3] [--threads 0]
"""
from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

import torch

# benchmarks/ is on sys.path when this runs as a script; model_shapes puts src/ there for charlm.
from model_shapes import VOCAB, best_speeds, lstm, train_step, transformer  # noqa: I001
from charlm.models import build_model  # noqa: E402

# (label, params, batch, steps); LSTM 1×256 and Transformer 2×128 are the default shapes (params.yaml).
SHAPES = [
    ("LSTM 1×256, 32×64", lstm(1, 256), 32, 64),
    ("LSTM 1×512, 32×64", lstm(1, 512), 32, 64),
    ("Transformer 2×128, ctx 128, 32×128", transformer(2, 128), 32, 128),
    ("Transformer 4×256, ctx 128, 32×128", transformer(4, 256), 32, 128),
]
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def cpu_flags(path: Path = Path("/proc/cpuinfo")) -> str:
    """`flag: yes/no` for each bf16-relevant CPU flag (Linux; 'unknown' elsewhere)."""
    try:
        flags = set(next(line for line in path.read_text().splitlines() if line.startswith("flags")).split())
    except (OSError, StopIteration):
        return "CPU flags unknown (no /proc/cpuinfo)"
    return ", ".join(f"{flag}: {'yes' if flag in flags else 'no'}" for flag in FLAGS)


def compare(params, batch: int, steps: int, seconds: float, rounds: int) -> tuple[float, float | None, str]:
    """(fp32 tokens/s, bf16 tokens/s or None, a note on how bf16 was timed), both from the same initial weights."""
    arms = {}
    for name, amp in (("fp32", contextlib.nullcontext()), ("bf16", torch.autocast("cpu", dtype=torch.bfloat16))):
        torch.manual_seed(0)
        arms[name] = train_step(build_model(params, VOCAB), batch, steps, amp)
    tokens = batch * steps
    fp32_alone = lambda: best_speeds({"fp32": arms["fp32"]}, tokens, seconds, rounds, warmup=0)["fp32"]  # noqa: E731
    arms["fp32"]()                                      # warm-up
    tic = time.perf_counter()
    try:
        arms["bf16"]()                                  # warm-up, and the test that bf16 runs at all
    except RuntimeError as e:
        return fp32_alone(), None, f"bf16 rejected ({str(e).splitlines()[0][:70]}…): charlm trains it in fp32"
    first = time.perf_counter() - tic
    if first > seconds * rounds:   # a step outlasting all the timed runs together is measured once: this one
        return fp32_alone(), tokens / first, "bf16: one step"
    speeds = best_speeds(arms, tokens, seconds, rounds, warmup=0)
    return speeds["fp32"], speeds["bf16"], ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds per timed run")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each arm (best one kept)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"kernels for {torch.backends.cpu.get_cpu_capability()}; {cpu_flags()}\n")
    print("| shape | fp32 tokens/s | bf16 tokens/s | bf16 / fp32 | note |\n|---|---:|---:|---:|---|")
    for label, params, batch, steps in SHAPES:
        fp32, bf16, note = compare(params, batch, steps, args.seconds, args.rounds)
        shown = ("—", "—") if bf16 is None else (f"{bf16:,.0f}", f"{bf16 / fp32:.2f}×")
        print(f"| {label} | {fp32:,.0f} | {shown[0]} | {shown[1]} | {note} |", flush=True)


if __name__ == "__main__":
    main()
