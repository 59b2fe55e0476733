"""The gaps the report states beyond its rankings, each chosen here and tested by Comparisons: the best neural
model against the best n-gram, dynamic evaluation's gain, each mixture against its best member, the context
mixer against the best other entry and zpaq, and each kind's best entry against zpaq."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from charlm.evaluate.paired import PairedDiff
from charlm.evaluate.paired_books import BookComparison
from charlm.report.compare.comparisons import Comparisons
from charlm.report.compare.ranking import pays_every_character
from charlm.report.results import MixResult, ModelResult


@dataclass(frozen=True)
class Gaps:
    """The gaps of the module docstring, each a paired test (Comparisons)."""
    # (the best ranked neural entry, the best ranked n-gram, bpc(n-gram) − bpc(neural)), rows of entry_table;
    # None without one of them
    neural_vs_ngram: tuple[pd.Series, pd.Series, PairedDiff] | None
    # ranked dynamic model -> bpc(static, one stream) − bpc(dynamic)
    dynamic: dict[str, PairedDiff | None]
    # ranked mixture -> (its best member, bpc(mix) − bpc(member))
    mix_vs_member: dict[str, tuple[str, PairedDiff | None]]
    # when cm is ranked: (the best other ranked entry, bpc(cm) − bpc(it)), and cm against zpaq over books (when
    # both have per-book costs)
    cm_vs_best: tuple[pd.Series, PairedDiff | None] | None
    cm_vs_zpaq: BookComparison | None
    # each kind's best ranked entry with per-book costs (a namedtuple of entry_table), against zpaq over books
    vs_zpaq: list[tuple[tuple, BookComparison]]


def find_gaps(results: list[ModelResult], mixes: list[MixResult], entries: pd.DataFrame, comparisons: Comparisons
              ) -> Gaps:
    """Every gap of Gaps, from the ranked entries (entry_table)."""
    by_id = entries.set_index("entry")
    dynamic = {r.name: comparisons.paired(f"{r.name}.stream", f"{r.name}.dynamic") for r in results
               if r.dynamic and pays_every_character(r.eval, "dynamic.")}
    mix_vs_member = {}
    for mix in mixes:
        if by_id.loc[mix.name, "ranked"]:
            best = by_id.loc[list(mix.members), "test_bpc"].idxmin()
            mix_vs_member[mix.name] = (best, comparisons.paired(mix.name, best))
    cm_vs_best, cm_vs_zpaq = None, None
    if by_id.loc["cm", "ranked"]:
        others = entries[entries["ranked"] & ~entries["entry"].isin(["cm", "zpaq"])]
        if len(others):
            cm_vs_best = (others.iloc[0], comparisons.paired("cm", others.iloc[0].entry))
        if comparisons.by_books("cm", "zpaq"):
            cm_vs_zpaq = comparisons.against_zpaq("cm")
    return Gaps(neural_vs_ngram(entries, comparisons), dynamic, mix_vs_member, cm_vs_best, cm_vs_zpaq,
                kinds_vs_zpaq(entries, comparisons))


def neural_vs_ngram(entries: pd.DataFrame, comparisons: Comparisons) -> tuple[pd.Series, pd.Series, PairedDiff] | None:
    """The best ranked single neural model and n-gram (static scores), and bpc(n-gram) − bpc(neural)."""
    ranked = entries[entries["ranked"]]
    neural, ngram = (ranked[ranked["kind"].isin(kinds)] for kinds in (["comparison", "champion"], ["n-gram"]))
    if not (len(neural) and len(ngram)):
        return None
    n, g = neural.iloc[0], ngram.iloc[0]
    return n, g, comparisons.paired(g.model, n.model)


def kinds_vs_zpaq(entries: pd.DataFrame, comparisons: Comparisons) -> list[tuple[tuple, BookComparison]]:
    """The best ranked entry of each kind against zpaq, paired over the test books (when zpaq.per_book measured
    them): each entry's row (a namedtuple of entry_table) and its comparison."""
    ranked = entries[entries["ranked"] & (entries["kind"] != "compressor")]
    best = ranked.groupby("kind", sort=False).head(1)
    return [(e, comparisons.against_zpaq(e.entry)) for e in best.itertuples() if comparisons.by_books(e.entry, "zpaq")]
