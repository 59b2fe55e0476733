"""The architecture comparison across seeds: each compare.models entry's scores at every seed it trains at, and
the gap between neighbours, established only when it beats both the test text's noise and the seeds'."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from charlm.evaluate.paired import PairedDiff
from charlm.params import Params
from charlm.report.compare.comparisons import Comparisons
from charlm.report.results import ModelResult


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


def seed_stats(params: Params, results: list[ModelResult], seed_evals: dict[str, list[dict]]) -> list[SeedStats]:
    """Each compare.models entry's test and val bpc at every seed it trains at (Params.seed_runs), in params order:
    its own run's, then its repeats' (`seed_evals`, load.read_seed_evals)."""
    by_name = {r.name: r for r in results}
    out = []
    for name in params.compare.models:
        evals = [by_name[name].eval, *seed_evals[name]]
        out.append(SeedStats(name, by_name[name].description, tuple(params.seed_runs(name)),
                             tuple(e["test.bpc"] for e in evals), tuple(e["val.bpc"] for e in evals)))
    return out


def seed_ranking(stats: list[SeedStats], comparisons: Comparisons) -> list[tuple[SeedStats, SeedGap | None]]:
    """Architectures best seed mean first, each with its gap to the one above (None for the first); none when
    no architecture trains at two seeds."""
    if not stats or max(len(s.seeds) for s in stats) < 2:
        return []
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
