"""The n-gram model behind the LanguageModel protocol: scoring and generation like a neural model."""
from __future__ import annotations

import numpy as np
import pytest

from charlm.data.vocab import Vocab
from charlm.errors import CharlmError
from charlm.lm import load_lm
from charlm.ngram.store import save_ngram_model
from ngram_fixtures import char_vocab, clean_text, encode, fit

TEXT = clean_text(400, seed=12)
TOKENS = char_vocab(TEXT)
VOCAB = Vocab("char", TOKENS)


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "ngram-kn4.npz"
    save_ngram_model(path, fit(encode(TEXT, TOKENS), len(TOKENS), "kneser_ney", 4), VOCAB.fingerprint)
    return load_lm(path, VOCAB)


def test_protocol_surface(lm):
    assert lm.name == "ngram-kn4" and lm.directions == ("forward",)
    assert lm.num_parameters > len(TOKENS)
    ids = encode(TEXT[:200], TOKENS)
    nll = lm.token_nll(ids)
    assert nll.shape == (199,) and nll.dtype == np.float64 and (nll > 0).all()
    with pytest.raises(CharlmError, match="only the 'forward' direction"):
        lm.token_nll(ids, direction="backward")


def test_greedy_generation_follows_the_argmax(lm):
    prefix = list(encode("the whale", TOKENS))
    out = lm.generate(prefix, 30, greedy=True)
    assert len(out) == 30 and out == lm.generate(prefix, 30, greedy=True)
    context = prefix
    for token in out:
        assert token == int(lm.model.next_log_probs(context[-3:]).argmax())
        context = context + [token]


def test_sampling_is_seeded_and_top_k_one_is_greedy(lm):
    prefix = list(encode("it was", TOKENS))
    a = lm.generate(prefix, 80, greedy=False, temperature=0.9, seed=1)
    assert a == lm.generate(prefix, 80, greedy=False, temperature=0.9, seed=1)
    assert a != lm.generate(prefix, 80, greedy=False, temperature=0.9, seed=2)
    assert lm.generate(prefix, 40, greedy=False, top_k=1, seed=3) == lm.generate(prefix, 40, greedy=True)
    assert lm.generate([], 5, greedy=True) == lm.generate([TOKENS.index(" ")], 5, greedy=True)
    with pytest.raises(CharlmError, match="temperature"):
        lm.generate(prefix, 5, greedy=False, temperature=0)


def test_charlm_generate_works_with_an_ngram_model(tmp_path):
    from charlm.cli import generate
    from charlm.data.vocab import save_vocab

    save_vocab(VOCAB, tmp_path / "vocab.json")
    model = tmp_path / "ngram-kn4.npz"
    save_ngram_model(model, fit(encode(TEXT, TOKENS), len(TOKENS), "kneser_ney", 4), VOCAB.fingerprint)
    greedy = generate(model, tmp_path / "vocab.json", "the whale", 40, greedy=True)
    assert greedy.startswith("the whale") and len(greedy) == len("the whale") + 40
    sampled = generate(model, tmp_path / "vocab.json", "the whale", 40, temperature=0.8, top_k=5, seed=7)
    assert sampled == generate(model, tmp_path / "vocab.json", "the whale", 40, temperature=0.8, top_k=5, seed=7)
    assert set(sampled) <= set(TOKENS[1:])
