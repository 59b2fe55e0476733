"""Counting n-grams with numpy: every window of k tokens becomes one int64 key, then `np.unique`.

A window x[s], ..., x[s+k-1] is the base-V number  x[s]·V^(k-1) + ... + x[s+k-1]. With that key
    context = key // V        (the first k-1 tokens, itself a key in the order k-1 table)
    suffix  = key % V^(k-1)   (the last k-1 tokens, also a key in the order k-1 table)
    token   = key % V
so every relation between orders is integer arithmetic plus `searchsorted`, never a Python loop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charlm.data.ids import check_ids
from charlm.errors import CharlmError

_INT64_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class CountTable:
    keys: np.ndarray     # (entries,) int64, sorted and unique
    counts: np.ndarray   # (entries,) int64 occurrences in the training tokens (0 only for unseen unigrams)


def check_key_range(vocab_size: int, order: int) -> None:
    """Raise CharlmError when order-`order` windows over `vocab_size` tokens do not fit an int64 key."""
    if vocab_size ** order > _INT64_MAX:
        raise CharlmError(f"ngram order {order} with a vocabulary of {vocab_size}: {vocab_size}^{order} "
                          "keys do not fit in int64; lower the order")


def as_token_array(tokens, vocab_size: int, what: str) -> np.ndarray:
    """`tokens` as a 1-D int64 array; ids outside 0..vocab_size-1 are a CharlmError naming `what`."""
    return check_ids(tokens, vocab_size, what).astype(np.int64)


def window_keys(x: np.ndarray, k: int, vocab_size: int) -> np.ndarray:
    """Keys of every window of k tokens, shape (len(x)-k+1,) int64; window s covers x[s:s+k]."""
    count = len(x) - k + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    keys = x[:count].copy()
    for j in range(1, k):
        keys *= vocab_size
        keys += x[j:j + count]
    return keys


def count_ngrams(x: np.ndarray, vocab_size: int, order: int) -> list[CountTable]:
    """Count tables for orders 1..order (list index k-1 holds order k).

    Order 1 is dense (keys 0..V-1, unseen tokens with count 0) so every token has a unigram entry;
    higher orders hold only the windows that occur.
    """
    check_key_range(vocab_size, order)
    tables = [CountTable(np.arange(vocab_size, dtype=np.int64), np.bincount(x, minlength=vocab_size))]
    for k in range(2, order + 1):
        keys, counts = np.unique(window_keys(x, k, vocab_size), return_counts=True)
        tables.append(CountTable(keys, counts.astype(np.int64)))
    return tables


def parents(tables: list[CountTable], k: int, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """For each order-k entry: (index of its context, index of its suffix) in the order k-1 table.

    Both always exist, since a seen window's first and last k-1 tokens are seen windows too.
    For k == 1 both point at the single empty context 0.
    """
    keys = tables[k - 1].keys
    if k == 1:
        zeros = np.zeros(len(keys), dtype=np.int64)
        return zeros, zeros
    lower = tables[k - 2].keys
    return np.searchsorted(lower, keys // vocab_size), np.searchsorted(lower, keys % vocab_size ** (k - 1))


def continuation_counts(tables: list[CountTable], x: np.ndarray, k: int, vocab_size: int) -> np.ndarray:
    """N1+(• w): how many distinct tokens precede each order-k entry, shape (entries,) int64.

    The first window of the text has no token before it; it gets one extra left context (the text
    start, like KenLM's <s>), so every seen n-gram has a count >= 1.
    """
    _, suffix = parents(tables, k + 1, vocab_size)
    out = np.bincount(suffix, minlength=len(tables[k - 1].keys)).astype(np.int64)
    if len(x) >= k:
        out[np.searchsorted(tables[k - 1].keys, window_keys(x[:k], k, vocab_size)[0])] += 1
    return out
