"""An entry against zpaq paired over books: the weighted difference, its interval over books, the wins."""
from __future__ import annotations

import pytest

from charlm.errors import CharlmError
from charlm.evaluate.paired_books import book_bpc, compare_over_books

CHARS = {"11": 6775, "120": 17321, "1342": 34625, "1661": 26869, "174": 20602}


def test_an_entry_better_on_every_book_by_the_same_margin_is_better_by_it_for_sure():
    zpaq = {"11": 1.70, "120": 1.80, "1342": 1.55, "1661": 1.65, "174": 1.68}
    entry = {book: bpc - 0.02 for book, bpc in zpaq.items()}
    result = compare_over_books(entry, zpaq, CHARS, samples=2000, seed=0)
    assert result.paired.diff == pytest.approx(-0.02)
    assert result.paired.low == pytest.approx(-0.02) and result.paired.high == pytest.approx(-0.02)
    assert result.paired.significant and result.wins == result.books == 5


def test_the_difference_is_weighted_by_characters_so_it_is_the_gap_between_the_two_test_bpc():
    zpaq = {"11": 1.70, "120": 1.80, "1342": 1.55, "1661": 1.65, "174": 1.68}
    entry = {"11": 1.60, "120": 1.85, "1342": 1.56, "1661": 1.60, "174": 1.70}   # better on 2 books of 5
    result = compare_over_books(entry, zpaq, CHARS, samples=2000, seed=0)
    total = sum(CHARS.values())
    overall = {side: sum(bpc[b] * CHARS[b] for b in CHARS) / total for side, bpc in (("entry", entry), ("zpaq", zpaq))}
    assert result.paired.diff == pytest.approx(overall["entry"] - overall["zpaq"])
    assert result.wins == 2 and result.paired.blocks == 5
    # Better on some books and worse on others: the books disagree, and the interval says so.
    assert result.paired.low < 0 < result.paired.high and not result.paired.significant


def test_the_interval_comes_from_resampling_whole_books_with_a_seed():
    zpaq = {book: 1.7 for book in CHARS}
    entry = {"11": 1.60, "120": 1.65, "1342": 1.72, "1661": 1.66, "174": 1.69}
    first = compare_over_books(entry, zpaq, CHARS, samples=500, seed=3)
    assert compare_over_books(entry, zpaq, CHARS, samples=500, seed=3) == first
    # A bootstrap over books never leaves the range of the books' own differences.
    assert min(entry.values()) - 1.7 <= first.paired.low <= first.paired.diff <= first.paired.high <= 0.02 + 1e-9


@pytest.mark.parametrize("zpaq, chars, message", [
    ({"11": 1.7, "120": 1.8}, {"11": 10, "120": 10, "43": 10}, "not the same test books"),
    ({"11": 1.7, "120": 1.8, "43": 1.6}, {"11": 10, "120": 10}, "not the same test books"),
])
def test_different_books_are_refused(zpaq, chars, message):
    with pytest.raises(CharlmError, match=message):
        compare_over_books({"11": 1.6, "120": 1.7, "43": 1.5}, zpaq, chars, samples=100, seed=0)


def test_one_book_is_too_few_to_resample():
    with pytest.raises(CharlmError, match="1 test book, a bootstrap over books needs 2"):
        compare_over_books({"11": 1.6}, {"11": 1.7}, {"11": 100}, samples=100, seed=0)


def test_book_bpc_reads_the_per_book_keys_of_a_metrics_file():
    metrics = {"test.bpc": 1.7, "test.book.11.bpc": 1.6, "test.book.11.chars": 6775, "test.book.mine.bpc": 1.8,
               "test.book.mine.chars": 10, "dynamic.test.book.11.bpc": 1.5, "dynamic.test.book.11.chars": 6775}
    assert book_bpc(metrics) == ({"11": 1.6, "mine": 1.8}, {"11": 6775, "mine": 10})
    assert book_bpc(metrics, "dynamic.") == ({"11": 1.5}, {"11": 6775})
