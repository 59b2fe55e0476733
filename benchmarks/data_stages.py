"""Benchmark: the seed notebook's pure-Python data path against charlm's preprocess + build_vocab + encode.

Both paths run in this one process on the same files: the ten novels (../shared/data/novels when
present, else synthetic text), then synthetic concatenations of 50, 100 and 200 MB (1 GB with --big)
to show that charlm's time and peak memory grow linearly. Times are the best of --repeat runs; peak
memory is measured in a separate tracemalloc pass (Python objects and numpy buffers), so tracing
never slows the timed runs.

    python benchmarks/data_stages.py [--novels DIR] [--sizes 50,100,200] [--big] [--repeat 3]
"""
from __future__ import annotations

import argparse
import collections
import gc
import os
import random
import re
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from charlm.data.clean import strip_gutenberg  # noqa: E402
from charlm.data.corpus import preprocess_books, read_raw_books  # noqa: E402
from charlm.data.vocab import count_tokens, vocab_from_counts  # noqa: E402
from charlm.params import Book, load_params  # noqa: E402

MB = 1_000_000


# ------------------------------------------------------------------ the notebook, cell for cell
def notebook_read(folder_path):
    lines = []
    for file in sorted(os.listdir(folder_path)):  # sorted: the notebook's listdir order is arbitrary
        if not file.startswith("."):
            lines += open(os.path.join(folder_path, file), "r", encoding="utf-8").readlines()
    lines = [re.sub('[^A-Za-z]', ' ', line).strip().lower() for line in lines]
    return [line for line in lines if line]


class NotebookVocab:
    def __init__(self, tokens, min_freq=0, reserved_tokens=()):
        counter = collections.Counter([token for line in tokens for token in line])
        self.token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
        self.unk, uniq_tokens = 0, ['<unk>'] + list(reserved_tokens)
        uniq_tokens += [token for token, freq in self.token_freqs
                        if freq >= min_freq and token not in uniq_tokens]
        self.idx_to_token, self.token_to_idx = [], dict()
        for token in uniq_tokens:
            self.idx_to_token.append(token)
            self.token_to_idx[token] = len(self.idx_to_token) - 1

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(token) for token in tokens]


def notebook_path(folder: Path, books: tuple[Book, ...]):
    """read_novels -> tokenize('char') -> Vocab -> corpus, as load_corpus_novels does it."""
    lines = notebook_read(folder)
    tokens = [list(line) for line in lines]
    vocab = NotebookVocab(tokens)
    corpus = [vocab[token] for line in tokens for token in line if vocab[token] != 0]
    return len(corpus), len(vocab)


# --------------------------------------------------------------------------------- charlm
def charlm_path(folder: Path, books: tuple[Book, ...], params=None):
    """read data/raw -> preprocess_books -> count + vocab_from_counts on train -> encode every split."""
    params = params or load_params(REPO / "params.yaml")
    corpus = preprocess_books(read_raw_books(folder, books), books, params.preprocess, where=str(folder))
    vocab = vocab_from_counts(count_tokens(corpus.texts["train"], "char"), "char", params.vocab.min_freq)
    ids = {split: vocab.encode(text) for split, text in corpus.texts.items()}
    return sum(map(len, ids.values())), len(vocab)


# ------------------------------------------------------------------------------- inputs
def synthetic_text(n_chars: int, seed: int = 0) -> str:
    """Pseudo-English lines with capitals, punctuation, curly quotes and accents."""
    rng = random.Random(seed)
    words = ("the whale said that alice was very tired of sitting by her sister on the bank café "
             "naïve “quoth” holmes’s Elizabeth — dark stormy night captain ahab").split()
    out, size = [], 0
    while size < n_chars:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(6, 12))) + rng.choice([".", ",", ""])
        out.append(line)
        size += len(line) + 1
    return "\n".join(out) + "\n"


def novel_bodies(novels: Path | None) -> str:
    """The novels' bodies (markers stripped, so a concatenation keeps every copy), or synthetic text."""
    if novels and novels.is_dir():
        return "\n".join(strip_gutenberg(p.read_text(encoding="utf-8")) for p in sorted(novels.glob("*.txt")))
    return synthetic_text(5 * MB)


def write_books(folder: Path, text: str, n_bytes: int, n_books: int = 10) -> tuple[Book, ...]:
    """Repeat `text` to about n_bytes of UTF-8 and write it as books 1..n_books; returns their Book entries."""
    unit = text.encode("utf-8")
    per_book = n_bytes // n_books
    for i in range(1, n_books + 1):
        (folder / f"{i}.txt").write_bytes((unit * (per_book // len(unit) + 1))[:per_book].rsplit(b"\n", 1)[0])
    return tuple(Book(id=i, title=f"Synthetic {i}", author="benchmark") for i in range(1, n_books + 1))


def novel_books(folder: Path) -> tuple[Book, ...]:
    return tuple(Book(id=int(p.stem), title=p.stem, author="") for p in sorted(folder.glob("*.txt")))


# ----------------------------------------------------------------------------- measuring
def best_time(fn, repeat: int) -> tuple[float, tuple]:
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_mb(fn) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()


def input_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("*.txt")) / MB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--novels", type=Path, default=REPO.parent / "shared" / "data" / "novels")
    parser.add_argument("--sizes", default="50,100,200", help="synthetic sizes in MB, comma-separated")
    parser.add_argument("--big", action="store_true", help="add a 1000 MB row (charlm only; needs ~12 GB RAM)")
    parser.add_argument("--notebook-at", type=int, default=200, help="synthetic size (MB) the notebook also runs at")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement on the novels")
    args = parser.parse_args()
    params = load_params(REPO / "params.yaml")

    print("| input | MB | notebook s | charlm s | speed-up | charlm MB/s | notebook peak MB | charlm peak MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="charlm-bench-") as tmp:
        if args.novels.is_dir():
            label, folder, books = "ten novels", args.novels, novel_books(args.novels)
        else:
            label, folder = "synthetic (no novels)", Path(tmp) / "novels"
            folder.mkdir()
            books = write_books(folder, synthetic_text(5_400_000), 5_400_000)
        rows = [(label, folder, books, True, args.repeat)]
        body = novel_bodies(args.novels)
        sizes = [int(s) for s in args.sizes.split(",") if s] + ([1000] if args.big else [])
        for size in sizes:
            sub = Path(tmp) / f"synthetic-{size}"
            sub.mkdir()
            rows.append((f"synthetic {size} MB", sub, write_books(sub, body, size * MB),
                         size == args.notebook_at, 1))
        vocab_sizes = set()
        for label, folder, books, with_notebook, repeat in rows:
            ours, (n_ours, v_ours) = best_time(lambda: charlm_path(folder, books, params), repeat)
            ours_peak = peak_mb(lambda: charlm_path(folder, books, params))
            size = input_mb(folder)
            if with_notebook:
                theirs, (n_theirs, v_theirs) = best_time(lambda: notebook_path(folder, books), repeat)
                theirs_peak = peak_mb(lambda: notebook_path(folder, books))
                cols = f"{theirs:.3f} | {ours:.3f} | **{theirs / ours:.1f}×** | {size / ours:.0f} | " \
                       f"{theirs_peak:,.0f} | {ours_peak:,.0f}"
            else:
                cols = f"– | {ours:.3f} | – | {size / ours:.0f} | – | {ours_peak:,.0f}"
            print(f"| {label} | {size:,.1f} | {cols} |", flush=True)
            vocab_sizes.add((v_ours, v_theirs) if with_notebook else (v_ours,))
    print(f"\nvocabulary sizes (charlm, notebook): {sorted(vocab_sizes)}; "
          f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
