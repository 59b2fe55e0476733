"""Held-out splits: token widths make bpc mean characters for word vocabs too; book offsets become token spans."""
from __future__ import annotations

import numpy as np
import pytest

from charlm.errors import CharlmError
from charlm.evaluate.splits import book_spans, load_eval_split, token_layout
from fake_lm import write_eval_inputs


def test_char_layout_is_one_character_per_token():
    widths, starts = token_layout("ab c", "char")
    assert widths.tolist() == [1, 1, 1, 1] and starts.tolist() == [0, 1, 2, 3]


def test_word_layout_counts_each_word_and_one_space():
    widths, starts = token_layout("the whale said", "word")
    assert widths.tolist() == [4, 6, 5] and starts.tolist() == [0, 4, 10]
    # Forward scoring skips the first word: the rest covers every other character, spaces included.
    assert widths[1:].sum() == len("the whale said") - len("the")


def test_book_spans_tile_the_tokens():
    text = "aa bbb c"      # books "aa" (0..2) and "bbb c" (3..8)
    books = [{"id": 1, "title": "A", "start": 0, "end": 2}, {"id": 2, "title": "B", "start": 3, "end": 8}]
    _, char_starts = token_layout(text, "char")
    assert [(b.start, b.end) for b in book_spans(books, char_starts, len(text), "x")] == [(0, 3), (3, 8)]
    _, word_starts = token_layout(text, "word")
    assert [(b.start, b.end) for b in book_spans(books, word_starts, len(text), "x")] == [(0, 1), (1, 3)]


@pytest.mark.parametrize("books, message", [
    ([{"id": 1, "title": "A", "start": 1, "end": 8}], r"\[0\] \(book 1\): offsets 1..8"),
    ([{"id": 1, "title": "A", "start": 0, "end": 5}, {"id": 2, "title": "B", "start": 3, "end": 8}],
     r"\[1\] \(book 2\)"),
    ([{"id": 1, "title": "A", "start": 0, "end": 6}], "books end at 6, but the text has 8 characters"),
    ([{"id": 1, "start": 0, "end": 8}], r"\[0\]: needs an id \(integer or name\), integer start/end and a title"),
])
def test_bad_book_offsets_name_the_file_and_book(books, message):
    with pytest.raises(CharlmError, match=message) as error:
        book_spans(books, np.arange(8), 8, "books.json: test")
    assert str(error.value).startswith("books.json: test")


@pytest.mark.parametrize("token", ["char", "word"])
def test_load_split_matches_text(tmp_path, token):
    interim, processed, vocab = write_eval_inputs(tmp_path, token)
    split = load_eval_split("test", processed, interim, vocab)
    text = (interim / "test.txt").read_text()
    assert split.widths.sum() == len(text) + (token == "word")   # the last word has no space after it
    assert [b.id for b in split.books] == [7, 9] and split.books[-1].end == len(split.tokens)


def test_stale_tokens_are_an_error(tmp_path):
    interim, processed, vocab = write_eval_inputs(tmp_path)
    np.save(processed / "test.npy", np.load(processed / "test.npy")[:-1])
    with pytest.raises(CharlmError, match=r"test.npy: is not .*test.txt encoded .*dvc repro encode"):
        load_eval_split("test", processed, interim, vocab)
