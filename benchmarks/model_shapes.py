"""Benchmark: training tokens/s of candidate model shapes on this machine, as ratios to the default LSTM.

The recipe (docs/recipe.md) spends a fixed number of CPU-minutes, so what a shape costs per token
decides how much text it sees. Each shape runs full training steps (forward, backward, AdamW) through
charlm's own model factory, on random tokens (speed does not depend on the text), for a few seconds
after a warm-up. The baseline, LSTM 1×256 at batch 32 × 64, is measured in the same run; the ratios are
what to compare across machines, not the absolute numbers.

    python benchmarks/model_shapes.py [--seconds 4] [--threads 0]
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Callable

import torch
from torch.nn import functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from charlm.models import build_model, num_parameters  # noqa: E402
from charlm.params import RecurrentParams, TransformerParams  # noqa: E402

VOCAB = 28   # the default alphabet's vocabulary: <unk>, space, a-z


def lstm(layers: int, hidden: int) -> RecurrentParams:
    return RecurrentParams(arch="lstm", role="compare", num_layers=layers, hidden_size=hidden, embedding_size=64,
                           input="embedding", dropout=0.0, tie_weights=False, train={})


def transformer(layers: int, hidden: int, context: int = 128) -> TransformerParams:
    return TransformerParams(arch="transformer", role="compare", num_layers=layers, hidden_size=hidden, num_heads=4,
                             context=context, stride=context // 2, dropout=0.0, train={})


# (label, params, batch, steps); the first row is the baseline.
SHAPES = [
    ("LSTM 1×256, 32×64 (default)", lstm(1, 256), 32, 64),
    ("LSTM 1×256, 64×64", lstm(1, 256), 64, 64),
    ("LSTM 1×256, 32×128", lstm(1, 256), 32, 128),
    ("LSTM 1×320, 32×64", lstm(1, 320), 32, 64),
    ("LSTM 1×384, 32×64", lstm(1, 384), 32, 64),
    ("LSTM 1×512, 64×64", lstm(1, 512), 64, 64),
    ("LSTM 2×256, 32×64", lstm(2, 256), 32, 64),
    ("GRU 1×256, 32×64", RecurrentParams(**{**lstm(1, 256).__dict__, "arch": "gru"}), 32, 64),
    ("Transformer 2×128, ctx 128, 32×128", transformer(2, 128), 32, 128),
    ("Transformer 4×128, ctx 128, 32×128", transformer(4, 128), 32, 128),
]


def train_step(model: torch.nn.Module, batch: int, steps: int,
               amp: contextlib.AbstractContextManager | None = None) -> Callable[[], None]:
    """One full training step (forward and loss under `amp`, as charlm's loop runs them; backward; AdamW) on
    fixed random tokens, batch × steps of them, as a callable. The other benchmarks import this."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, VOCAB, (batch, steps + 1), generator=torch.Generator().manual_seed(0))
    amp = amp or contextlib.nullcontext()

    def step():
        with amp:
            logits, _ = model(x[:, :-1])                                       # (B, T, V)
            loss = F.cross_entropy(logits.flatten(0, 1).float(), x[:, 1:].flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def best_speeds(arms: dict[str, Callable[[], None]], tokens_per_step: int, seconds: float, rounds: int,
                warmup: int = 2) -> dict[str, float]:
    """Each arm's best tokens/s over `rounds` timed runs of about `seconds` each, after `warmup` untimed steps.

    The arms take turns within each round, in an order that rotates, so that load from elsewhere on the
    machine hits them alike; the best run is the one least disturbed.
    """
    for step in arms.values():
        for _ in range(warmup):
            step()
    best = dict.fromkeys(arms, 0.0)
    names = list(arms)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            n, start = 0, time.perf_counter()
            while n == 0 or time.perf_counter() - start < seconds:
                arms[name]()
                n += 1
            best[name] = max(best[name], n * tokens_per_step / (time.perf_counter() - start))
    return best


def tokens_per_s(params, batch: int, steps: int, seconds: float) -> tuple[float, int]:
    torch.manual_seed(0)
    model = build_model(params, VOCAB)
    speed = best_speeds({"step": train_step(model, batch, steps)}, batch * steps, seconds, rounds=1)["step"]
    return speed, num_parameters(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="timed seconds per shape")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| shape | parameters | tokens/s | vs. baseline |\n|---|---:|---:|---:|")
    baseline = None
    for label, params, batch, steps in SHAPES:
        speed, size = tokens_per_s(params, batch, steps, args.seconds)
        baseline = baseline or speed
        print(f"| {label} | {size:,} | {speed:,.0f} | {speed / baseline:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
