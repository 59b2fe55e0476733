"""Every comparison the report states, in one place. Each "vs." is a paired block bootstrap of two entries'
per-token nll on the same test text (charlm.evaluate.paired), never the overlap of two intervals; the
architecture comparison adds the spread across the seeds of compare.seeds.

    entry id          its per-token test nll
    <model>           data/scores/<model>/test.npy             static, `evaluate.batch_size` streams
    <model>.stream    data/scores/<model>/stream.test.npy      static, one stream (dynamic models only)
    <model>.dynamic   data/scores/<model>/dynamic.test.npy     dynamic evaluation, one stream
    <mix>             data/mix/<mix>/test.npy
    <model>@<seed>    data/scores/<model>-s<seed>/test.npy      a repeat at another train.seed (compare.seeds)
    zpaq              none: a compressor gives one size per split, so no paired test by character; with
                      zpaq.per_book, one cost per test book, so a paired test over books
                      (charlm.evaluate.paired_books) against any entry with per-book scores
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from charlm.evaluate.paired import PairedDiff, paired_bootstrap
from charlm.evaluate.paired_books import BookComparison, compare_over_books
from charlm.evaluate.scores import load_scores
from charlm.evaluate.splits import EvalSplit
from charlm.params import EvaluateParams, Params
from charlm.model_names import eval_stage


def seed_entry(model: str, seed: int) -> str:
    """The entry id of `model` trained at `seed` (`<model>@<seed>`)."""
    return f"{model}@{seed}"


def seed_scores_name(model: str, seed: int) -> str:
    """The scores folder (data/scores/<name>) and metrics file (metrics/eval/seeds/<name>.json) of a repeat; the
    dash keeps it apart from every model name (letters, digits and _)."""
    return f"{model}-s{seed}"


@dataclass
class Comparisons:
    """The test split's per-token nll of every entry that has one, and the paired tests between them."""
    split: EvalSplit                  # the test split: each token's width and character offset
    nll: dict[str, np.ndarray]        # entry id -> (N-1,) nll in nats
    evaluate: EvaluateParams          # bootstrap_block, bootstrap_samples, seed: as every interval uses
    # entry id -> ({book id: test bpc}, {book id: characters}); "zpaq" only when zpaq.per_book measured it
    books: dict[str, tuple[dict, dict]] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)

    def paired(self, a: str, b: str) -> PairedDiff | None:
        """bpc(a) − bpc(b) with its 95% interval: by character, or over books against zpaq (`by_books`); None
        when there is nothing to pair (zpaq without per-book costs)."""
        if (a, b) not in self._cache:
            if a in self.nll and b in self.nll:
                self._cache[(a, b)] = self._test(self.nll[a], self.nll[b])
            elif self.by_books(a, b):
                self._cache[(a, b)] = self._test_books(a, b)
            else:
                return None
        return self._cache[(a, b)]

    def by_books(self, a: str, b: str) -> bool:
        """Whether a and b are paired over books: one of them is zpaq, and both have per-book costs."""
        return "zpaq" in (a, b) and a in self.books and b in self.books

    def against_zpaq(self, entry: str) -> BookComparison:
        """bpc(entry) − bpc(zpaq) paired over the test books, and the books the entry wins (needs by_books)."""
        if entry not in self._cache:
            bpc, chars = self.books[entry]
            self._cache[entry] = compare_over_books(bpc, self.books["zpaq"][0], chars,
                                                    self.evaluate.bootstrap_samples, self.evaluate.seed)
        return self._cache[entry]

    def _test_books(self, a: str, b: str) -> PairedDiff:
        if b == "zpaq":
            return self.against_zpaq(a).paired
        d = self.against_zpaq(b).paired
        return PairedDiff(-d.diff, -d.high, -d.low, d.p_value, d.blocks, d.samples)

    def paired_seed_means(self, a: str, seeds_a: list[int], b: str, seeds_b: list[int]) -> PairedDiff:
        """The paired test of two models' seed means: each token's nll averaged over a model's seeds, so the
        interval is that of the difference of the mean scores on this text."""
        return self._test(self.seed_mean(a, seeds_a), self.seed_mean(b, seeds_b))

    def seed_mean(self, model: str, seeds: list[int]) -> np.ndarray:
        return np.mean([self.nll[seed_entry(model, seed)] for seed in seeds], axis=0)

    def _test(self, nll_a: np.ndarray, nll_b: np.ndarray) -> PairedDiff:
        # Scored tokens 1..N-1: the widths and offsets of the tokens the nll is for.
        e = self.evaluate
        return paired_bootstrap(nll_a, nll_b, self.split.widths[1:], self.split.starts[1:], e.bootstrap_block,
                                e.bootstrap_samples, e.seed)


@dataclass(frozen=True)
class ScorePaths:
    scores: Path          # data/scores: each model's, and each compare.seeds repeat's
    mix: Path             # data/mix


def load_comparisons(params: Params, split: EvalSplit, paths: ScorePaths,
                     books: dict[str, tuple[dict, dict]]) -> Comparisons:
    """Every entry's test nll (module docstring), checked against the split's length, and `books`, each entry's
    per-book costs (Comparisons.books); a missing file: CharlmError."""
    tokens = len(split.tokens)
    nll = {}
    for name in [*params.models, *params.ngram]:
        stage = eval_stage(params, name)
        nll[name] = load_scores(paths.scores / name, "test", tokens, stage)
        if name in params.evaluate.dynamic.models:
            for mode in ("stream", "dynamic"):
                nll[f"{name}.{mode}"] = load_scores(paths.scores / name, f"{mode}.test", tokens, stage)
    for name in params.mix:
        nll[name] = load_scores(paths.mix / name, "test", tokens, f"mix@{name}")
    nll["cm"] = load_scores(paths.mix / "cm", "test", tokens, "cm")
    for name in params.compare.models:
        nll[seed_entry(name, params.model_train(name).seed)] = nll[name]
        for seed in params.compare.seeds:
            folder = seed_scores_name(name, seed)
            nll[seed_entry(name, seed)] = load_scores(paths.scores / folder, "test", tokens,
                                                      f"evaluate_seed@{folder}")
    return Comparisons(split, nll, params.evaluate, books)


@dataclass(frozen=True)
class SeedStats:
    """One architecture's scores over its seeds: train@<model> at its train.seed, then each compare.seeds repeat."""
    model: str
    description: str                  # 'LSTM 1×128'
    seeds: tuple[int, ...]
    bpc: tuple[float, ...]            # test bpc per seed, in `seeds` order
    val_bpc: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.bpc))

    @property
    def sd(self) -> float:
        """The sample standard deviation across seeds (NaN for one seed)."""
        return float(np.std(self.bpc, ddof=1)) if len(self.bpc) > 1 else math.nan

    @property
    def low(self) -> float:
        return min(self.bpc)

    @property
    def high(self) -> float:
        return max(self.bpc)


@dataclass(frozen=True)
class SeedGap:
    """The gap from one architecture's seed mean to the next better one's."""
    diff: PairedDiff                  # of the seed-mean scores (Comparisons.paired_seed_means)
    apart: bool                       # every seed of the better beats every seed of the worse

    @property
    def established(self) -> bool:
        """Beyond both the test text's noise (the bootstrap) and the training noise (the seeds)."""
        return self.diff.significant and self.apart


def seed_ranking(stats: list[SeedStats], comparisons: Comparisons) -> list[tuple[SeedStats, SeedGap | None]]:
    """Architectures best seed mean first, each with its gap to the one above (None for the first)."""
    ranked = sorted(stats, key=lambda s: (s.mean, s.model))
    out = []
    for i, s in enumerate(ranked):
        if i == 0:
            out.append((s, None))
            continue
        better = ranked[i - 1]
        diff = comparisons.paired_seed_means(s.model, list(s.seeds), better.model, list(better.seeds))
        out.append((s, SeedGap(diff, better.high < s.low)))
    return out


def gap_cell(diff: PairedDiff | None, gap: float, by_books: bool = False) -> str:
    """'+0.0669 [+0.0602, +0.0741]', '+0.0109 [−0.0010, +0.0230] (n.s.)', '… over books⁴' (against zpaq), or
    '+0.0160 (no paired test⁴)'."""
    if diff is None:
        return f"{gap:+.4f} (no paired test⁴)"
    cell = f"{diff.diff:+.4f} [{diff.low:+.4f}, {diff.high:+.4f}]" + (" over books⁴" if by_books else "")
    return cell if diff.significant else f"{cell} (n.s.)"
