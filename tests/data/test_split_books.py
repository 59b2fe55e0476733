"""Splitting a cleaned book into contiguous train/val/test parts at word boundaries, and joining books into splits."""
from __future__ import annotations

import random

import pytest

from charlm.data.split import _word_cut, join_splits, split_book
from charlm.errors import CharlmError


def words(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return " ".join("".join(rng.choice("abcdefgh") for _ in range(rng.randint(1, 9))) for _ in range(n))


@pytest.mark.parametrize("seed", range(5))
def test_parts_are_contiguous_and_cut_at_spaces(seed):
    text = words(2000, seed)
    train, val, test = split_book(text, 0.05, 0.05, "book 1")
    assert f"{train} {val} {test}" == text
    for part in (train, val, test):
        assert part and part[0] != " " and part[-1] != " "
    # Each cut is the space nearest to the target, so no part is off by more than one word.
    assert abs(len(train) - 0.9 * len(text)) <= 10
    assert abs(len(test) - 0.05 * len(text)) <= 10


@pytest.mark.parametrize("target, cut", [(0, 3), (3, 3), (5, 3), (6, 7), (10, 7), (11, 7)])
def test_word_cut_is_the_nearest_space_earlier_on_a_tie(target, cut):
    assert _word_cut("abc def ghi", target) == cut


def test_cut_at_the_target_when_it_is_a_space():
    text = "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj"   # 49 chars, spaces every 5
    train, val, test = split_book(text, 0.2, 0.2, "book 1")
    assert (train, val, test) == ("aaaa bbbb cccc dddd eeee ffff", "gggg hhhh", "iiii jjjj")


@pytest.mark.parametrize("text, empty", [
    ("justoneword", "no space to cut at"),
    ("a b", "val part would be empty"),
    ("", "no space to cut at"),
])
def test_too_short_books_are_an_error_naming_the_book(text, empty):
    with pytest.raises(CharlmError) as err:
        split_book(text, 0.05, 0.05, "book 43 (data/raw/43.txt)")
    message = str(err.value)
    assert message.startswith("book 43 (data/raw/43.txt): too short to split") and empty in message


def test_join_splits_offsets_point_at_each_book_part():
    books = [({"id": 11, "title": "A"}, ("one two", "three", "four")),
             ({"id": 43, "title": "B"}, ("five six seven", "eight nine", "ten"))]
    texts, offsets = join_splits(books)
    assert texts == {"train": "one two five six seven", "val": "three eight nine", "test": "four ten"}
    for split, spans in offsets.items():
        assert [s["id"] for s in spans] == [11, 43]
        for (info, parts), span in zip(books, spans):
            assert span["title"] == info["title"]
            assert texts[split][span["start"]:span["end"]] == parts[("train", "val", "test").index(split)]
    assert offsets["val"] == [{"id": 11, "title": "A", "start": 0, "end": 5},
                              {"id": 43, "title": "B", "start": 6, "end": 16}]
