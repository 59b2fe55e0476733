"""Split each cleaned book into contiguous train/val/test parts and join the books into three texts.

Pure functions. Each book's parts are consecutive (train first, then val, then test at its end),
cut at a space so no word straddles two splits; the space at a cut belongs to no part.
"""
from __future__ import annotations

from typing import Sequence

from charlm.errors import CharlmError

SPLITS = ("train", "val", "test")


def _word_cut(text: str, target: int) -> int:
    """Index of the space nearest to `target` (the earlier one on a tie), or -1 if there is none."""
    before = text.rfind(" ", 0, target + 1)
    after = text.find(" ", target)
    if before < 0 or (after >= 0 and after - target < target - before):
        return after
    return before


def split_book(text: str, val_fraction: float, test_fraction: float, name: str) -> tuple[str, str, str]:
    """(train, val, test): contiguous parts holding about 1-v-t, v and t of the characters, cut at spaces."""
    n = len(text)
    cut_val = _word_cut(text, round(n * (1 - val_fraction - test_fraction)))
    cut_test = _word_cut(text, round(n * (1 - test_fraction)))
    if cut_val < 0:
        raise CharlmError(f"{name}: too short to split ({n} characters after cleaning): no space to cut at")
    # The nearest space moves right as the target does, so cut_val <= cut_test; equal means an empty val.
    parts = (text[:cut_val], text[cut_val + 1:cut_test], text[cut_test + 1:])
    empty = [split for split, part in zip(SPLITS, parts) if not part]
    if empty:
        raise CharlmError(f"{name}: too short to split ({n} characters after cleaning): its "
                          f"{' and '.join(empty)} part would be empty")
    return parts


def join_splits(books: Sequence[tuple[dict, tuple[str, str, str]]]) -> tuple[dict[str, str], dict[str, list]]:
    """Each split's text (the books' parts in order, joined by one space) and each book's offsets in it.

    `books` pairs a description ({"id", "title"}) with the book's (train, val, test) parts. The offsets
    are {"train": [{"id", "title", "start", "end"}, ...], ...}: character positions, end exclusive.
    """
    texts, offsets = {}, {}
    for i, split in enumerate(SPLITS):
        parts, spans, pos = [], [], 0
        for info, book_parts in books:
            part = book_parts[i]
            spans.append({**info, "start": pos, "end": pos + len(part)})
            parts.append(part)
            pos += len(part) + 1
        texts[split] = " ".join(parts)
        offsets[split] = spans
    return texts, offsets
