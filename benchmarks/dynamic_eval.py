"""Benchmark: what dynamic evaluation gains on val, and what it costs, for a grid of update rules.

The recipe's tool for choosing `evaluate.dynamic` (docs/evaluation.md#dynamic-evaluation): every row scores
the whole val split in one stream (src/charlm/evaluate/dynamic.py) with one optimizer / lr / decay, next
to the same model's static score in one stream, the baseline that differs only by the updates. It reads
val only: choosing the lr on test would make the test number a tuned one.

    python benchmarks/dynamic_eval.py [--model models/champion.pt] [--segment 64] [--grid sgd:0.1,rms:1e-4]

The last row tries `--decay` with the best sgd lr of the grid. Seconds are wall time on this machine,
one torch thread (what dynamic_nll uses).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from charlm.data.vocab import load_vocab  # noqa: E402
from charlm.evaluate.dynamic import dynamic_nll  # noqa: E402
from charlm.evaluate.splits import load_eval_split  # noqa: E402
from charlm.models.checkpoint import load_model  # noqa: E402
from charlm.models.scoring import stream_nll  # noqa: E402
from charlm.params import DynamicEvalParams  # noqa: E402

# rms takes a step of about lr on every weight at once (g over its own RMS), so it wants a far smaller lr.
GRID = "sgd:0.03,sgd:0.1,sgd:0.3,rms:1e-4,rms:3e-4,rms:1e-3,rms:3e-3"


def bpc(nll: np.ndarray, widths: np.ndarray) -> float:
    """Bits per character of per-token nll in nats over the characters the scored tokens stand for."""
    return float(nll.sum()) / math.log(2) / float(widths.sum())


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "champion.pt")
    parser.add_argument("--vocab", type=Path, default=REPO / "data" / "processed" / "vocab.json")
    parser.add_argument("--data", type=Path, default=REPO / "data" / "processed", help="folder with val.npy")
    parser.add_argument("--interim", type=Path, default=REPO / "data" / "interim", help="val.txt, books.json")
    parser.add_argument("--segment", type=int, default=64)
    parser.add_argument("--grid", default=GRID, help="optimizer:lr pairs, comma-separated")
    parser.add_argument("--decay", type=float, default=0.01, help="tried with the best sgd lr (0: no decay row)")
    parser.add_argument("--tokens", type=int, default=0, help="score only the first N val tokens (0 = all)")
    args = parser.parse_args()

    vocab = load_vocab(args.vocab)
    model, params, _ = load_model(args.model, vocab)
    split = load_eval_split("val", args.data, args.interim, vocab)
    tokens = split.tokens[:args.tokens or None]
    widths = split.widths[1:len(tokens)]
    lm = next(lm for lm, reverse in model.directions() if not reverse)
    torch.set_num_threads(1)
    static, seconds = timed(lambda: stream_nll(lm, torch.as_tensor(tokens.astype(np.int64)), 1).numpy())
    base = bpc(static, widths)
    print(f"{args.model} ({params.label()}), val: {len(tokens) - 1:,} "
          f"scored tokens, segment {args.segment}, torch {torch.__version__}\n")
    print("| optimizer | lr | decay | val bpc | vs static | seconds |\n|---|---:|---:|---:|---:|---:|")
    print(f"| static (one stream) | | | {base:.4f} | | {seconds:.1f} |", flush=True)
    results = {}
    grid = [(optimizer, float(lr), 0.0) for optimizer, lr in (pair.split(":") for pair in args.grid.split(","))]
    with_decay = args.decay and any(optimizer == "sgd" for optimizer, _, _ in grid)
    for optimizer, lr, decay in grid + ([("sgd", None, args.decay)] if with_decay else []):
        if lr is None:   # the decay row: the best sgd lr of the grid
            lr = min((r, lr) for (o, lr, d), r in results.items() if o == "sgd")[1]
        rule = DynamicEvalParams(models=[], segment=args.segment, optimizer=optimizer, lr=lr, decay=decay)
        nll, seconds = timed(lambda: dynamic_nll(lm, tokens, rule))
        results[optimizer, lr, decay] = bpc(nll, widths)
        print(f"| {optimizer} | {lr:g} | {decay:g} | {results[optimizer, lr, decay]:.4f} | "
              f"{results[optimizer, lr, decay] - base:+.4f} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
