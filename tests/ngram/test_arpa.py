"""ARPA export: parsed back and queried with the standard back-off rule, it gives the model's probabilities."""
from __future__ import annotations

import math

import numpy as np
import pytest

from arpa_reader import arpa_log10_prob, parse_arpa
from charlm.errors import CharlmError
from charlm.ngram.arpa import SPACE, arpa_words, write_arpa
from ngram_fixtures import char_vocab, clean_text, encode, fit

TEXT = clean_text(250, seed=9)
TRAIN, HELD_OUT = TEXT[:1000], TEXT[1000:1300]


@pytest.mark.parametrize("smoothing, order, epsilon, discount", [
    ("kneser_ney", 4, None, None), ("kneser_ney", 3, None, 0.6), ("additive", 3, (1.0, 2.0, 3.0), None),
    ("laplace", 3, None, None), ("kneser_ney", 1, None, None)])
def test_arpa_round_trip(tmp_path, smoothing, order, epsilon, discount):
    tokens = char_vocab(TRAIN)
    model = fit(encode(TRAIN, tokens), len(tokens), smoothing, order, epsilon, discount)
    write_arpa(tmp_path / "m.arpa", model, tokens)
    arpa = parse_arpa(tmp_path / "m.arpa")

    assert sorted(arpa) == list(range(1, order + 1))
    assert {"<s>", "</s>", "<unk>", SPACE} <= {g[0] for g in arpa[1]}
    words = arpa_words(tokens)
    ids = encode(HELD_OUT, tokens)
    ids[40:42] = 0   # <unk>: an unseen token, unseen contexts
    expected = model.log_probs(ids) / math.log(10)
    got = [arpa_log10_prob(arpa, [words[i] for i in ids[max(0, t - order + 1):t]], words[ids[t]])
           for t in range(1, len(ids))]
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6)   # 7 significant digits in the file
    # Every distribution written for a seen context is a whole one.
    if order > 1:
        context = tuple(words[i] for i in ids[:order - 1])
        assert sum(10 ** arpa_log10_prob(arpa, context, w) for w in words) == pytest.approx(1, abs=1e-5)


def test_unwritable_tokens_are_refused():
    with pytest.raises(CharlmError, match="cannot be written as an ARPA word"):
        arpa_words(["<unk>", "a b"])
    with pytest.raises(CharlmError, match="cannot be written as an ARPA word"):
        arpa_words(["<unk>", "<s>"])


def test_a_header_that_disagrees_with_the_body_is_refused(tmp_path):
    path = tmp_path / "bad.arpa"
    path.write_text("\\data\\\nngram 1=3\n\n\\1-grams:\n-1\ta\n-1\tb\n\n\\end\\\n")
    with pytest.raises(CharlmError, match="header says ngram 1=3, found 2"):
        parse_arpa(path)
