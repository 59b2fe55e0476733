"""Every comparison the report states, in one place. Each "vs." is a paired block bootstrap of two entries'
per-token nll on the same test text (charlm.evaluate.paired), never the overlap of two intervals; the
architecture comparison adds the spread across the seeds of compare.seeds.

    entry id          its per-token test nll
    <model>           data/scores/<model>/test.npy             static, `evaluate.batch_size` streams
    <model>.stream    data/scores/<model>/stream.test.npy      static, one stream (dynamic models only)
    <model>.dynamic   data/scores/<model>/dynamic.test.npy     dynamic evaluation, one stream
    <mix>             data/mix/<mix>/test.npy
    cm                data/mix/cm/test.npy
    <model>@<seed>    data/scores/seeds/<model>/<model>-s<seed>/test.npy   a repeat at another train.seed (compare.seeds)
    zpaq              none: a compressor gives one size per split, so no paired test by character; with
                      zpaq.per_book, one cost per test book, so a paired test over books
                      (charlm.evaluate.paired_books) against any entry with per-book scores

comparisons.py holds the paired tests; ranking.py the rankings they annotate, seeds.py the spread across seeds
and gaps.py the other gaps the report states, all of them tested here, before anything is drawn or written;
bits.py analyses where the best neural model and the best n-gram spend their bits.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from charlm.params import Params
from charlm.report.compare.bits import BitsAnalysis, bits_analysis
from charlm.report.compare.comparisons import Comparisons, per_book_costs
from charlm.report.compare.gaps import Gaps, find_gaps
from charlm.report.compare.ranking import entry_table, kind_rankings, ranking
from charlm.report.compare.seeds import SeedGap, SeedStats, seed_ranking, seed_stats
from charlm.report.load import Inputs
from charlm.report.results import ModelResult


@dataclass(frozen=True)
class Collected:
    """What the report shows: its inputs, and every comparison made on them (compare)."""
    inputs: Inputs
    static: pd.DataFrame            # ranking of every model
    entries: pd.DataFrame           # entry_table: every entry, ranked
    # comparison, champion, n-gram: the kind's models, and the ranked ones' ranking among themselves
    kinds: dict[str, tuple[list[ModelResult], pd.DataFrame | None]]
    seeds: list[SeedStats]          # compare.models over their seeds, in params order
    seed_ranking: list[tuple[SeedStats, SeedGap | None]]   # best seed mean first, with each gap
    gaps: Gaps                      # every other gap the report states
    bits: BitsAnalysis | str        # where the bits go, or the one-line reason it is skipped


def compare(params: Params, inputs: Inputs) -> Collected:
    """Rank every model and every entry with the paired test of each gap, spread each compare.models entry over
    its seeds, test the other gaps the report states, and analyse where the bits go."""
    i = inputs
    comparisons = Comparisons(i.split, i.nll, params.evaluate, per_book_costs(i.results, [*i.mixes, i.cm], i.anchor))
    entries = entry_table(i.results, i.mixes, i.cm, i.anchor, comparisons)
    seeds = seed_stats(params, i.results, i.seed_evals)
    return Collected(i, ranking(i.results, comparisons), entries, kind_rankings(i.results, comparisons), seeds,
                     seed_ranking(seeds, comparisons), find_gaps(i.results, i.mixes, entries, comparisons),
                     bits_analysis(params, i))
