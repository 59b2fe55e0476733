"""Saving and loading n-gram models: no pickle, byte-identical files, and the vocabulary check."""
from __future__ import annotations

import zipfile

import numpy as np
import pytest

from charlm.data.vocab import Vocab
from charlm.errors import CharlmError
from charlm.lm import load_lm
from charlm.ngram.store import load_ngram_model, save_ngram_model
from ngram_fixtures import char_vocab, clean_text, encode, fit

TEXT = clean_text(200, seed=6)
TOKENS = char_vocab(TEXT)
VOCAB = Vocab("char", TOKENS)


@pytest.fixture
def model():
    return fit(encode(TEXT, TOKENS), len(TOKENS), "kneser_ney", 3)


def test_round_trip_scores_the_same(tmp_path, model):
    path = tmp_path / "ngram-kn3.npz"
    save_ngram_model(path, model, VOCAB.fingerprint)
    loaded = load_ngram_model(path, VOCAB.fingerprint)
    ids = encode(TEXT[:300], TOKENS)
    np.testing.assert_array_equal(loaded.log_probs(ids), model.log_probs(ids))
    np.testing.assert_array_equal(loaded.discounts, model.discounts)
    with np.load(path, allow_pickle=False) as npz:   # plain arrays only
        assert all(npz[name].dtype != object for name in npz.files)


def test_saving_twice_gives_identical_bytes(tmp_path, model):
    save_ngram_model(tmp_path / "a.npz", model, VOCAB.fingerprint)
    save_ngram_model(tmp_path / "b.npz", fit(encode(TEXT, TOKENS), len(TOKENS), "kneser_ney", 3), VOCAB.fingerprint)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_a_model_from_another_vocabulary_is_refused(tmp_path, model):
    path = tmp_path / "ngram-kn3.npz"
    save_ngram_model(path, model, VOCAB.fingerprint)
    other = Vocab("char", (*TOKENS, "!"))
    with pytest.raises(CharlmError, match="fitted on a different vocabulary"):
        load_lm(path, other)
    assert load_lm(path, VOCAB).name == "ngram-kn3"


@pytest.mark.parametrize("content", [b"not a zip", None])
def test_a_file_that_is_not_a_model_is_refused(tmp_path, content):
    path = tmp_path / "bad.npz"
    if content is None:   # a valid .npz written by someone else
        np.savez(path, weights=np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(CharlmError, match="not a charlm n-gram model"):
        load_ngram_model(path, VOCAB.fingerprint)


def test_a_pickled_array_is_not_loaded(tmp_path, model):
    good, bad = tmp_path / "good.npz", tmp_path / "pickled.npz"
    save_ngram_model(good, model, VOCAB.fingerprint)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for name in src.namelist():
            if name != "smoothing.npy":
                dst.writestr(name, src.read(name))
        with dst.open("smoothing.npy", "w") as f:   # the same field as an object (pickled) array
            np.lib.format.write_array(f, np.array(["kneser_ney"], dtype=object), allow_pickle=True)
    with pytest.raises(CharlmError, match="not a charlm n-gram model"):
        load_ngram_model(bad, VOCAB.fingerprint)
