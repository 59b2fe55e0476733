"""The Python API (charlm.load, charlm.read_metrics): what a notebook user calls, on a small saved model."""
from __future__ import annotations

import json

import numpy as np
import pytest

import charlm
from charlm.data.vocab import save_vocab
from charlm.errors import CharlmError
from modelkit import saved_model


@pytest.fixture
def project(tmp_path):
    """A project folder as the pipeline leaves it: models/lstm.pt and data/processed/vocab.json."""
    (tmp_path / "models").mkdir()
    model, vocab = saved_model(tmp_path / "models" / "lstm.pt")
    (tmp_path / "data" / "processed").mkdir(parents=True)
    save_vocab(vocab, tmp_path / "data" / "processed" / "vocab.json")
    return tmp_path


def test_load_finds_the_vocabulary_beside_the_models_and_scores_in_one_stream(project):
    lm = charlm.load(project / "models" / "lstm.pt")
    text = "abc deaf bad cafe"
    ids = lm.ids(text)
    expected = lm.lm.token_nll(ids, "forward", 1).mean() / np.log(2)
    result = lm.score(text)
    assert result["chars"] == len(text) - 1 and result["bpc"] == pytest.approx(expected)
    assert result["ppl"] == pytest.approx(2 ** expected)
    logp = lm.log_probs(text)
    assert logp.shape == (len(text) - 1, len(lm.vocab))
    assert np.allclose(-logp[np.arange(len(ids) - 1), ids[1:]], lm.lm.token_nll(ids, "forward", 1), atol=1e-6)


def test_next_probs_is_the_row_after_the_context_most_likely_first(project):
    lm = charlm.load(project / "models" / "lstm.pt", project / "data" / "processed" / "vocab.json")
    probs = lm.next_probs("bad ca")
    assert sum(probs.values()) == pytest.approx(1, abs=1e-5)
    assert list(probs.values()) == sorted(probs.values(), reverse=True)
    row = np.exp(lm.log_probs("bad caf")[-1])
    assert probs[lm.vocab.tokens[int(row.argmax())]] == pytest.approx(row.max(), rel=1e-5)
    assert lm.generate("bad", 10, seed=3) == lm.generate("bad", 10, seed=3)
    assert lm.generate("bad", 10, seed=3).startswith("bad")


def test_text_outside_the_vocabulary_and_a_missing_vocabulary_are_one_line_errors(project, tmp_path):
    lm = charlm.load(project / "models" / "lstm.pt")
    with pytest.raises(CharlmError, match=r"'Z', 'z' not in lstm's vocabulary"):
        lm.score("abz Z")
    with pytest.raises(CharlmError, match="needs at least 2 characters"):
        lm.score("a")
    lone = tmp_path / "elsewhere" / "models"   # no data/processed/vocab.json above it
    lone.mkdir(parents=True)
    (lone / "m.pt").write_bytes((project / "models" / "lstm.pt").read_bytes())
    with pytest.raises(CharlmError, match="vocabulary not found; pass vocab_path="):
        charlm.load(lone / "m.pt")


def test_read_metrics_is_one_row_per_entry(tmp_path):
    (tmp_path / "metrics" / "eval").mkdir(parents=True)
    for name, bpc in (("gru", 2.3), ("cm", 1.58)):
        (tmp_path / "metrics" / "eval" / f"{name}.json").write_text(json.dumps({"test.bpc": bpc, "val.bpc": bpc + 0.01}))
    df = charlm.read_metrics(root=tmp_path)
    assert list(df.index) == ["cm", "gru"] and df.loc["gru", "test.bpc"] == 2.3
    with pytest.raises(CharlmError, match="no metrics"):
        charlm.read_metrics(root=tmp_path / "nothing")


@pytest.mark.e2e
def test_the_docstring_examples_run_on_a_finished_run(tiny_run, monkeypatch, capsys):
    """docs/api.md's promise: the examples in charlm.api's docstrings are doctests, run where `dvc repro` ran."""
    import doctest

    import charlm.api

    monkeypatch.chdir(tiny_run.root)
    result = doctest.testmod(charlm.api, optionflags=doctest.ELLIPSIS)
    report = capsys.readouterr().out   # doctest prints each failing example with what it got
    assert result.failed == 0, report
    assert result.attempted >= 20   # every public function's examples were found and run
