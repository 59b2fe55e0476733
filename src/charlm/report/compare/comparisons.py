"""The paired tests between entries (charlm.report.compare lists the entry ids): by character on the same test
text, or over books against zpaq."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from charlm.evaluate.paired import PairedDiff, paired_bootstrap
from charlm.evaluate.paired_books import BookComparison, book_bpc, compare_over_books
from charlm.evaluate.splits import EvalSplit
from charlm.params import EvaluateParams
from charlm.report.load import seed_entry
from charlm.report.results import Anchor, ModelResult


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


def per_book_costs(results: list[ModelResult], mixes: list, anchor: Anchor) -> dict[str, tuple[dict, dict]]:
    # `mixes`: MixResults and the CMResult, each by its entry id (a CMResult's is "cm")
    """Every entry's ({book id: test bpc}, {book id: characters}), zpaq's when zpaq.per_book measured them: what
    the paired comparison over books with zpaq reads (Comparisons.by_books)."""
    books = {}
    for r in results:
        books[r.name] = book_bpc(r.eval)
        if r.dynamic:
            books[f"{r.name}.dynamic"] = book_bpc(r.eval, "dynamic.")
    books.update({getattr(mix, "name", "cm"): book_bpc(mix.eval) for mix in mixes})
    if anchor.metrics is not None:
        books["zpaq"] = book_bpc(anchor.metrics)   # empty without zpaq.per_book: dropped below
    return {entry: costs for entry, costs in books.items() if len(costs[0]) > 1}
