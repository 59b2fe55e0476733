"""Counting with int64 window keys and the hash index, against plain Python."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from charlm.errors import CharlmError
from charlm.ngram.counts import count_ngrams, window_keys
from charlm.ngram.hashindex import HashIndex
from ngram_fixtures import char_vocab, clean_text, encode


def test_counts_equal_a_python_counter():
    text = clean_text(150, seed=2)
    tokens = char_vocab(text)
    v = len(tokens)
    tables = count_ngrams(encode(text, tokens), v, 4)
    for k, table in enumerate(tables, start=1):
        expected = Counter(text[i:i + k] for i in range(len(text) - k + 1))
        got = {"".join(tokens[key // v ** (k - 1 - j) % v] for j in range(k)): int(c)
               for key, c in zip(table.keys, table.counts) if c}
        assert got == dict(expected)
        assert (np.diff(table.keys) > 0).all()
    assert len(tables[0].keys) == v   # order 1 is dense: <unk> is there with count 0
    assert tables[0].counts[0] == 0


def test_window_keys_are_base_v_numbers():
    x = np.array([1, 2, 3, 0, 2])
    assert window_keys(x, 3, 4).tolist() == [1 * 16 + 2 * 4 + 3, 2 * 16 + 3 * 4 + 0, 3 * 16 + 0 + 2]
    assert window_keys(x, 6, 4).tolist() == []


@pytest.mark.parametrize("size", [0, 1, 7, 5000])
def test_hash_index_agrees_with_binary_search(size):
    rng = np.random.default_rng(size)
    keys = np.unique(rng.integers(0, 28 ** 6, size))
    queries = np.concatenate([keys, rng.integers(0, 28 ** 6, 3000), keys[::3] + 1])
    at = np.minimum(np.searchsorted(keys, queries), max(len(keys) - 1, 0))
    expected = np.where(keys[at] == queries, at, -1) if len(keys) else np.full(len(queries), -1)
    np.testing.assert_array_equal(HashIndex(keys).find(queries), expected)


def test_keys_that_overflow_int64_are_refused():
    with pytest.raises(CharlmError, match="do not fit in int64"):
        count_ngrams(np.array([0, 1, 2]), 50_000, 5)
