"""Vocabulary order (unk, reserved, frequency, ties), min_freq, counting, OOV, encode/decode and the id dtype."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from charlm.data.vocab import (UNK, Vocab, count_tokens, id_dtype, load_vocab, oov_rate, save_vocab, vocab_from_counts,
                               vocab_metrics)
from charlm.errors import CharlmError
from helpers import build_vocab


# -------------------------------------------------------------------------------------- ordering
def test_order_is_unk_then_reserved_then_descending_count_with_ties_by_token():
    counts = {"b": 3, "a": 3, "c": 5, "d": 1, "<eos>": 9}
    vocab = vocab_from_counts(counts, "char", min_freq=0, reserved=("<eos>", "<pad>"))
    assert vocab.tokens == (UNK, "<eos>", "<pad>", "c", "a", "b", "d")


def test_min_freq_leaves_out_rare_tokens_and_0_equals_1():
    counts = Counter("aaabbc")
    assert vocab_from_counts(counts, "char", 2).tokens == (UNK, "a", "b")
    assert vocab_from_counts(counts, "char", 0) == vocab_from_counts(counts, "char", 1)
    assert vocab_from_counts(counts, "char", 4).tokens == (UNK,)


def test_build_vocab_from_tokens_agrees_with_counts():
    # The tests' build_vocab (helpers.py) stands in for the stage's count_tokens + vocab_from_counts.
    text = "the cat sat on the mat"
    assert build_vocab(list(text), "char", 0) == vocab_from_counts(count_tokens(text, "char"), "char", 0)


@pytest.mark.parametrize("text", ["hello world", "café über", "whale 🐳 whale", ""])
def test_count_tokens_counts_every_character(text):
    assert count_tokens(text, "char") == Counter(text)


def test_count_tokens_counts_words():
    assert count_tokens("the whale the sea", "word") == Counter({"the": 2, "whale": 1, "sea": 1})
    assert count_tokens("", "word") == Counter()


def test_oov_rate_and_metrics():
    vocab = vocab_from_counts(Counter("aab"), "char", 0)
    assert oov_rate(vocab, Counter("abcd")) == 0.5
    assert oov_rate(vocab, Counter()) == 0.0
    counts = {"train": Counter("aab"), "val": Counter("ax"), "test": Counter("b")}
    assert vocab_metrics(vocab, counts) == {"vocab_size": 3, "tokens": {"train": 3, "val": 2, "test": 1},
                                            "oov_rate": {"val": 0.5, "test": 0.0}}


# -------------------------------------------------------------------------------- encode / decode
@pytest.mark.parametrize("text", ["the quick brown fox", "naïve café", "a 🐳 b", ""])
def test_char_round_trip(text):
    vocab = build_vocab(list(text), "char", 0)
    ids = vocab.encode(text)
    assert ids.dtype == np.uint8 and ids.shape == (len(text),) and ids.flags.writeable
    assert vocab.decode(ids) == text
    assert vocab.decode(ids.tolist()) == text


def test_word_round_trip_and_unknown_words():
    vocab = build_vocab("the whale and the sea".split(" "), "word", 0)
    ids = vocab.encode("the sea and the whale")
    assert vocab.decode(ids) == "the sea and the whale"
    assert vocab.encode("the kraken").tolist() == [vocab.index["the"], 0]
    assert vocab.decode(vocab.encode("the kraken")) == "the <unk>"


def test_unknown_characters_encode_to_zero_and_decode_to_unk():
    vocab = build_vocab(list("abc"), "char", 0)
    assert vocab.encode("abz").tolist() == [vocab.index["a"], vocab.index["b"], 0]
    assert vocab.encode("aé🐳").tolist() == [vocab.index["a"], 0, 0]
    assert vocab.decode([vocab.index["a"], 0]) == "a<unk>"


def test_ascii_fast_path_agrees_with_the_general_path():
    vocab = build_vocab(list("abc xyz"), "char", 0)
    wide = Vocab("char", vocab.tokens + ("é",))  # a non-ASCII token forces the code-point table
    text = "zyx cba abc q"
    assert vocab.encode(text).tolist() == wide.encode(text).tolist()


def test_out_of_range_ids_are_an_error():
    vocab = build_vocab(list("ab"), "char", 0)
    with pytest.raises(CharlmError, match=r"token ids must be in 0\.\.2, got 3\.\.3"):
        vocab.decode([3])


@pytest.mark.parametrize("size, dtype", [(2, np.uint8), (256, np.uint8), (257, np.uint16), (65536, np.uint16),
                                         (65537, np.uint32)])
def test_id_dtype_is_the_smallest_that_fits(size, dtype):
    assert id_dtype(size) == dtype


def test_large_vocab_encodes_in_uint16():
    chars = [chr(0x4E00 + i) for i in range(300)]   # 300 CJK characters: more than uint8 holds
    vocab = build_vocab(chars, "char", 0)
    text = "".join(reversed(chars))
    ids = vocab.encode(text)
    assert ids.dtype == np.uint16 and vocab.decode(ids) == text


# ------------------------------------------------------------------------------------ save / load
def test_save_load_round_trip(tmp_path):
    vocab = vocab_from_counts(Counter("hello world"), "char", 0, reserved=("<eos>",))
    save_vocab(vocab, tmp_path / "vocab.json")
    loaded = load_vocab(tmp_path / "vocab.json")
    assert loaded == vocab and loaded.fingerprint == vocab.fingerprint


@pytest.mark.parametrize("content, message", [
    (None, "vocabulary file not found"),
    ("not json", "not a charlm vocabulary"),
    ('{"token": "char", "tokens": ["a"]}', "<unk> at index 0 missing"),
])
def test_load_vocab_errors_name_the_file(tmp_path, content, message):
    path = tmp_path / "vocab.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CharlmError, match=message) as err:
        load_vocab(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("text", ["the whale and the sea " * 7, "naïve café 🐳 whale " * 5])
def test_chunked_counting_and_encoding_agree_with_whole_text(text, monkeypatch):
    monkeypatch.setattr("charlm.data.vocab.CHUNK", 5)  # many chunk boundaries
    assert count_tokens(text, "char") == Counter(text)
    vocab = build_vocab(list(text), "char", 0)
    ids = vocab.encode(text)
    assert ids.tolist() == [vocab.index[c] for c in text] and vocab.decode(ids) == text
