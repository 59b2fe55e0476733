"""Samples: greedy is the argmax chain, sampling is seeded, the page shows every prefix."""
from __future__ import annotations

import numpy as np
import pytest

from charlm.errors import CharlmError
from charlm.evaluate.samples import generate_samples, samples_markdown
from charlm.params import load_params
from fake_lm import BigramLM
from helpers import TINY_PARAMS, build_vocab

TEXT = "the whale said that the whale was tired of the sea"


@pytest.fixture
def setup():
    params = load_params(TINY_PARAMS).evaluate.model_copy(update={"prefixes": ("the wh", "sea"), "length": 12})
    vocab = build_vocab(list(TEXT), "char", 0)
    return BigramLM(vocab.encode(TEXT), len(vocab)), vocab, params


def test_greedy_is_the_argmax_chain(setup):
    lm, vocab, params = setup
    samples = generate_samples(lm, vocab, params)
    last, expected = vocab.encode("h")[0], []
    for _ in range(params.length):
        last = int(np.argmax(lm.tables["forward"][last]))
        expected.append(vocab.tokens[last])
    assert samples[0].prefix == "the wh" and samples[0].greedy == "".join(expected)
    assert [len(s.greedy) for s in samples] == [12, 12]


def test_sampling_is_seeded(setup):
    lm, vocab, params = setup
    assert generate_samples(lm, vocab, params) == generate_samples(lm, vocab, params)
    other = generate_samples(lm, vocab, params.model_copy(update={"seed": 1}))
    assert [s.sampled for s in other] != [s.sampled for s in generate_samples(lm, vocab, params)]


def test_word_continuations_keep_the_joining_space():
    vocab = build_vocab(TEXT.split(" "), "word", 0)
    lm = BigramLM(vocab.encode(TEXT), len(vocab))
    params = load_params(TINY_PARAMS).evaluate.model_copy(update={"prefixes": ("the whale",), "length": 3})
    (sample,) = generate_samples(lm, vocab, params)
    assert sample.greedy.startswith(" ") and len(sample.greedy.split()) == 3


def test_markdown_lists_every_prefix_and_flags_unknown_tokens(setup):
    lm, vocab, params = setup
    params = params.model_copy(update={"prefixes": ("the wh", "sez")})   # no "z" in TEXT
    samples = generate_samples(lm, vocab, params)
    page = samples_markdown("gru", samples, params)
    assert page.startswith("# Samples from `gru`")
    assert '## "the wh"' in page and f"[the wh]{samples[0].greedy}" in page and f"[the wh]{samples[0].sampled}" in page
    assert '## "se<unk>"' in page and "1 prefix token(s) are not in the vocabulary" in page


def test_empty_prefix_is_an_error(setup):
    lm, vocab, params = setup
    with pytest.raises(CharlmError, match=r"evaluate.prefixes\[1\]: must not be empty"):
        generate_samples(lm, vocab, params.model_copy(update={"prefixes": ("the", "")}))
