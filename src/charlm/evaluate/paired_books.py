"""An entry against zpaq, paired over the test books: the only pairing a compressor's totals allow.

    book        b1     b2    …    bn
    entry       x_1    x_2        x_n    bpc of the book's test text   ┐ the same text, so one
    zpaq        z_1    z_2        z_n    (anchor.py: test.book.<id>)   ┘ difference per book
    diff        Σ c_b (x_b − z_b) / Σ c_b       c_b: the book's characters; the entry's test bpc − zpaq's
    interval    whole books resampled with replacement, the same books for both sides (paired.py, a book
                being the block); p-value as there
    wins        the books on which the entry's bpc is below zpaq's

zpaq gives one total per archive, not a cost per character, so the per-character bootstrap that compares
two models cannot include it. Its per-book costs give n paired observations instead: with the ten books
of the default corpus the interval is wide (a bootstrap over so few units is also a little narrow), and
"wins on 8 of 10 books" says as much as it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from charlm.errors import CharlmError
from charlm.evaluate.paired import PairedDiff, paired_bootstrap

_BOOK_KEY = "test.book."


@dataclass(frozen=True)
class BookComparison:
    """An entry's test bpc minus zpaq's, paired over books (negative: the entry is better)."""
    paired: PairedDiff   # diff, its interval and p-value; blocks = books
    wins: int            # books on which the entry's bpc is lower than zpaq's
    books: int


def book_bpc(metrics: Mapping[str, object], prefix: str = "") -> tuple[dict[str, float], dict[str, int]]:
    """({book id: bpc}, {book id: characters}) from a metrics file's `<prefix>test.book.<id>.bpc` and `.chars` keys
    (prefix "dynamic." for an entry's dynamic scores); ids as text, as in the keys."""
    bpc, chars = {}, {}
    start = prefix + _BOOK_KEY
    for key, value in metrics.items():
        if key.startswith(start):
            book, _, field = key[len(start):].rpartition(".")
            if field == "bpc":
                bpc[book] = float(value)
            elif field == "chars":
                chars[book] = int(value)
    return bpc, chars


def compare_over_books(entry_bpc: Mapping[str, float], zpaq_bpc: Mapping[str, float], chars: Mapping[str, int],
                       samples: int, seed: int, level: float = 0.95) -> BookComparison:
    """The entry's bpc minus zpaq's over the same test books, weighted by `chars` (the entry's characters per
    book), with a paired bootstrap over books; different books or fewer than 2: CharlmError."""
    books = sorted(entry_bpc)
    if set(zpaq_bpc) != set(books) or set(chars) != set(books):
        raise CharlmError(f"per-book comparison with zpaq: the entry has books {books}, zpaq "
                          f"{sorted(zpaq_bpc)}, the character counts {sorted(chars)}: not the same test books")
    if len(books) < 2:
        raise CharlmError(f"per-book comparison with zpaq: {len(books)} test book, a bootstrap over books needs 2")
    width = np.array([chars[b] for b in books], dtype=np.float64)
    # Each book is one "token" of its characters' nats, and its own block: paired_bootstrap resamples books.
    nats = {side: np.array([bpc[b] for b in books]) * width * math.log(2) for side, bpc in
            (("entry", entry_bpc), ("zpaq", zpaq_bpc))}
    paired = paired_bootstrap(nats["entry"], nats["zpaq"], width, np.arange(len(books)), 1, samples, seed, level)
    wins = sum(entry_bpc[b] < zpaq_bpc[b] for b in books)
    return BookComparison(paired, wins, len(books))
