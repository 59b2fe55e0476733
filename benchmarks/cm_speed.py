"""Benchmark: the cm model's cost per character beside zpaq's, on the same text (train, then test).

Both read train and then test, as the cm stage and the zpaq anchor do: cm learns from every character of
train and scores every character of test; zpaq compresses the two as one file (what the anchor's
size(train + test) costs). cm runs here without members (zpaq has none) and with the params in
params.yaml's `cm` section; zpaq with -m5 and with the anchor's expert method (the last of zpaq.methods).
One thread each. The ratio is measured in this run, on this machine.

    python benchmarks/cm_speed.py [--params params.yaml] [--data data/processed] [--repeat 1]
"""
from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from charlm.params import load_params  # noqa: E402
from charlm.stage import stage_params  # noqa: E402


def cm_seconds(params, train, test, vocab) -> tuple[float, float, float]:
    """(seconds to read train, seconds to score test, test bpc) of the cm model without members."""
    import numpy as np   # here, not at the top: runtime.kernels must be chosen before numpy loads

    from charlm.cm.model import ContextMixer
    cm_params = params.cm.model_copy(update={"members": ()})
    v = len(vocab)
    space = vocab.tokens.index(" ")
    started = time.perf_counter()
    model = ContextMixer(cm_params, v, np.bincount(train, minlength=v), space, 0, 0)
    model.read(train, 0, len(train))
    read = time.perf_counter() - started
    text = np.concatenate([train, test])
    started = time.perf_counter()
    nll, _ = model.score(text, len(train), np.zeros((0, len(test), v), np.float32))
    return read, time.perf_counter() - started, float(nll[1:].mean() / np.log(2))


def zpaq_seconds(exe: str, method, text: str) -> float:
    from charlm.evaluate.zpaq import compress, method_argument
    with tempfile.TemporaryDirectory() as tmp:
        argument = method_argument(exe, method, len(text.encode()), text, Path(tmp) / "analyse")
        started = time.perf_counter()
        compress(exe, text, argument, Path(tmp) / "run")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default=str(REPO / "params.yaml"))
    parser.add_argument("--data", type=Path, default=REPO / "data" / "processed")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs of each")
    args = parser.parse_args()
    params = stage_params(args.params)   # runtime.kernels first: numba and numpy read it when imported
    import numpy as np

    from charlm.data.ids import load_ids
    from charlm.data.vocab import load_vocab
    from charlm.evaluate.zpaq import find_zpaq

    vocab = load_vocab(args.data / "vocab.json")
    train = load_ids(args.data / "train.npy", len(vocab)).astype(np.int64)
    test = load_ids(args.data / "test.npy", len(vocab)).astype(np.int64)
    chars = len(train) + len(test)
    # compile once, outside the timings (numba caches it on disk for the stage too)
    cm_seconds(load_params(args.params), train[:2000], test[:200], vocab)
    runs = [cm_seconds(params, train, test, vocab) for _ in range(args.repeat)]
    read, score, bpc = min(runs, key=lambda r: r[0] + r[1])
    print(f"machine: {platform.processor() or platform.machine()}, {chars:,} characters (train {len(train):,}, "
          f"test {len(test):,}); cm params from {args.params}")
    print(f"cm peak RSS so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB\n")
    rows = [("cm (no members)", read + score, f"{bpc:.4f} (test, given train)")]
    exe = find_zpaq()
    if exe is None:
        print("zpaq is not installed: cm alone (apt-get install zpaq for the comparison)")
    else:
        text = vocab.decode(np.concatenate([train, test]).tolist())
        for method in dict.fromkeys([5, params.zpaq.methods[-1]]):
            seconds = min(zpaq_seconds(exe, method, text) for _ in range(args.repeat))
            rows.append((f"zpaq -m{method}", seconds, "the zpaq stage's metrics"))
    base = rows[-1][1]
    print("| reader | seconds | µs/char | chars/s | vs. the last row | bpc |")
    print("|---|---:|---:|---:|---:|---|")
    for name, seconds, bpc_note in rows:
        print(f"| {name} | {seconds:.1f} | {seconds / chars * 1e6:.2f} | {chars / seconds:,.0f} | "
              f"{seconds / base:.2f}x | {bpc_note} |")
    print(f"\ncm: read train {read:.1f} s ({len(train) / read:,.0f} chars/s), score test {score:.1f} s "
          f"({len(test) / score:,.0f} chars/s)")


if __name__ == "__main__":
    main()
