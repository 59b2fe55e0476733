"""Which Kneser-Ney order pays on this corpus: val bpc, size and fit time of modified KN at each order.

    python benchmarks/ngram_orders.py [--orders 5 6 7 8 9 10 12] [--data data/processed]

Val only (the recipe's rule: choose on val, read test once). Reads the encoded splits of the last
`dvc repro` (data/processed/{train,val}.npy). Orders above the schema's limit (NgramParams.MAX_ORDER) are
built past the validation, to see whether raising the limit would pay. Seconds cover fitting and
scoring val in this process; the baseline is the order-5 model of the same run.
"""
from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from charlm.ngram.model import fit_ngram  # noqa: E402
from charlm.params import NgramParams  # noqa: E402


def kneser_ney(order: int) -> NgramParams:
    fields = dict(smoothing="kneser_ney", order=order, epsilon=None, discount=None)
    # model_construct skips the order limit, so the probe can look past it
    return NgramParams(**fields) if order <= NgramParams.MAX_ORDER else NgramParams.model_construct(**fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[5, 6, 7, 8, 9, 10, 12])
    parser.add_argument("--data", type=Path, default=REPO / "data" / "processed")
    args = parser.parse_args()
    train, val = (np.load(args.data / f"{split}.npy") for split in ("train", "val"))
    vocab_size = int(max(train.max(), val.max())) + 1
    print(f"modified Kneser-Ney, train {len(train):,} tokens, val {len(val):,} tokens; val only\n")
    print("| order | val bpc | probabilities stored | seconds | vs order 5 | peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|")
    base = None
    for order in args.orders:
        started = time.perf_counter()
        model = fit_ngram(train, vocab_size, kneser_ney(order))
        bpc = float(-model.log_probs(val).mean()) / math.log(2)
        seconds = time.perf_counter() - started
        base = base or seconds
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"| {order} | {bpc:.4f} | {model.num_parameters:,} | {seconds:.1f} | {seconds / base:.1f}x | "
              f"{rss:,.0f} MB |", flush=True)


if __name__ == "__main__":
    main()
