"""Benchmark: charlm's n-gram models against nltk.lm on the default corpus, in one process.

The ten novels (../shared/data/novels) are cleaned and split the charlm way (params.yaml: 90/5/5 per
book), the vocabulary is built from train. Then, at order 5:
- fit time and test-split scoring speed (chars/s) for Laplace and Kneser-Ney, ours against nltk's;
- Laplace: our perplexity must equal nltk's (checked, relative 1e-9) on the full-context test 5-grams;
- nltk's KN is scored on the first test 5-grams for --kn-seconds only (its whole test split takes hours),
  and charlm's speed is compared on the same sample and on the whole split.
Finally, test bpc of charlm's modified KN at orders 3..6. Timings are the median of --repeat runs
(ours) or one run (nltk); the machine is shared, so read the ratios, not the absolute numbers.

    python benchmarks/ngram_speed.py [--novels DIR] [--kn-seconds 20] [--repeat 3] [--train-chars N]
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from nltk.lm import KneserNeyInterpolated, Laplace  # noqa: E402
from nltk.util import everygrams, ngrams  # noqa: E402

from charlm.data.corpus import preprocess_books, read_raw_books  # noqa: E402
from charlm.data.vocab import count_tokens, vocab_from_counts  # noqa: E402
from charlm.ngram.model import fit_ngram  # noqa: E402
from charlm.params import NgramParams, load_params  # noqa: E402

ORDER = 5


def load_corpus(novels: Path, train_chars: int | None):
    """(train, test) texts and encoded ids, cleaned and split as the preprocess stage does."""
    params = load_params(REPO / "params.yaml")
    corpus = preprocess_books(read_raw_books(novels, params.data.books), params.data.books, params.preprocess,
                              where=str(novels))
    train, test = corpus.texts["train"][:train_chars], corpus.texts["test"]
    vocab = vocab_from_counts(count_tokens(train, "char"), "char", params.vocab.min_freq, params.vocab.reserved)
    return train, test, vocab, vocab.encode(train), vocab.encode(test)


def timed(fn, repeat: int = 1):
    """(result of the last call, median seconds over `repeat` calls)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def nltk_scores(lm, grams, seconds: float | None = None):
    """log2 P of each n-gram's last token, in order; stops after `seconds` when given. (values, elapsed)"""
    out, start = [], time.perf_counter()
    for g in grams:
        out.append(lm.logscore(g[-1], g[:-1]))
        if seconds is not None and time.perf_counter() - start > seconds:
            break
    return np.array(out), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--novels", type=Path, default=REPO.parent / "shared" / "data" / "novels")
    parser.add_argument("--kn-seconds", type=float, default=20.0, help="time budget for nltk's KN scoring")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--train-chars", type=int, default=None, help="use only the first N train characters")
    args = parser.parse_args()
    if not args.novels.is_dir():
        sys.exit(f"{args.novels}: not found (the ten novels; see ../shared/data/novels/README.md)")

    train, test, vocab, train_ids, test_ids = load_corpus(args.novels, args.train_chars)
    v = len(vocab)
    print(f"corpus: {len(train):,} train / {len(test):,} test characters, vocabulary {v} (<unk> + {v - 1})\n")

    # ---- ours
    laplace, fit_laplace = timed(lambda: fit_ngram(train_ids, v, NgramParams(smoothing="laplace", order=ORDER, epsilon=None, discount=None)),
                                 args.repeat)
    kn, fit_kn = timed(lambda: fit_ngram(train_ids, v, NgramParams(smoothing="kneser_ney", order=ORDER, epsilon=None, discount=None)), args.repeat)
    ours_laplace, t_laplace = timed(lambda: laplace.log_probs(test_ids), args.repeat)
    ours_kn, t_kn = timed(lambda: kn.log_probs(test_ids), args.repeat)

    # ---- nltk: one counting pass serves both models (KN's fit is the same NgramCounter)
    train_chars, test_chars = list(train), list(test)
    nltk_laplace, fit_nltk = timed(lambda: _nltk_fit(train_chars))
    nltk_kn = KneserNeyInterpolated(ORDER, vocabulary=nltk_laplace.vocab, counter=nltk_laplace.counts)
    grams = list(ngrams(test_chars, ORDER))   # full-context positions: test index ORDER-1 onwards
    nltk_lap_log2, t_nltk_laplace = nltk_scores(nltk_laplace, grams)
    nltk_kn_log2, t_nltk_kn = nltk_scores(nltk_kn, grams, args.kn_seconds)
    sample = len(nltk_kn_log2)

    # ---- checks
    ours_full = ours_laplace[ORDER - 2:]
    ppl_ours = math.exp(-ours_full.mean())
    ppl_nltk = nltk_laplace.perplexity(grams)
    rel = abs(ppl_ours - ppl_nltk) / ppl_nltk
    max_diff = float(np.abs(ours_full - nltk_lap_log2 * math.log(2)).max())
    sample_ids = test_ids[:sample + ORDER - 1]
    _, t_kn_sample = timed(lambda: kn.log_probs(sample_ids), args.repeat)
    nltk_inf = int(np.isinf(nltk_kn_log2).sum())

    speed = lambda n, s: n / s   # noqa: E731
    n_test = len(test_ids) - 1
    rows = [
        ("Laplace", fit_laplace, fit_nltk, speed(n_test, t_laplace), speed(len(grams), t_nltk_laplace)),
        ("Kneser-Ney", fit_kn, fit_nltk, speed(n_test, t_kn), speed(sample, t_nltk_kn)),
    ]
    print(f"| order {ORDER} | fit ours (s) | fit nltk (s) | score ours (chars/s) | score nltk (chars/s) | speed-up")
    print("|---|---:|---:|---:|---:|---:|")
    for name, f_ours, f_nltk, s_ours, s_nltk in rows:
        print(f"| {name} | {f_ours:.2f} | {f_nltk:.1f} | {s_ours:,.0f} | {s_nltk:,.0f} | {s_ours / s_nltk:,.0f}× |")
    print(f"\nnltk fit is one NgramCounter pass shared by Laplace and KN. nltk KN scored on the first {sample:,} "
          f"test 5-grams in {t_nltk_kn:.1f} s ({nltk_inf} of them -inf); charlm on the same sample: "
          f"{speed(sample, t_kn_sample):,.0f} chars/s ({speed(sample, t_kn_sample) / speed(sample, t_nltk_kn):,.0f}×, "
          f"fixed overhead included).")
    print(f"Laplace perplexity on {len(grams):,} full-context test 5-grams: charlm {ppl_ours:.10f}, "
          f"nltk {ppl_nltk:.10f} (relative difference {rel:.1e}, max |Δ log p| {max_diff:.1e}): "
          f"{'EQUAL' if rel <= 1e-9 else 'DIFFERENT'}")
    print(f"goals: KN scoring >= 1000x nltk: {speed(n_test, t_kn) / speed(sample, t_nltk_kn):,.0f}x; "
          f"Laplace >= 50x nltk: {speed(n_test, t_laplace) / speed(len(grams), t_nltk_laplace):,.0f}x\n")

    print("| KN order | test bpc | fit (s) | n-grams at top order | score (chars/s) |")
    print("|---:|---:|---:|---:|---:|")
    best = math.inf
    for order in (3, 4, 5, 6):
        model, fit_s = timed(lambda: fit_ngram(train_ids, v, NgramParams(smoothing="kneser_ney", order=order, epsilon=None, discount=None)))
        logp, score_s = timed(lambda: model.log_probs(test_ids), args.repeat)
        bpc = -logp.mean() / math.log(2)
        best = min(best, bpc)
        print(f"| {order} | {bpc:.4f} | {fit_s:.2f} | {int(model.seen[-1]):,} | {speed(n_test, score_s):,.0f} |")
    print(f"\nbest KN test bpc {best:.4f} (goal <= 2.05: {'met' if best <= 2.05 else 'NOT met'})")


def _nltk_fit(train_chars):
    lm = Laplace(ORDER)
    lm.fit([everygrams(train_chars, max_len=ORDER)], train_chars)
    return lm


if __name__ == "__main__":
    main()
