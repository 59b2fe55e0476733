"""data/scores/<name>/{val,test}.npy: float32 nll that reads back as written, the same bytes every time, and a
stale or missing file is a one-line CharlmError naming it and the stage to rerun."""
from __future__ import annotations

import numpy as np
import pytest

from charlm.errors import CharlmError
from charlm.evaluate.scores import load_scores, save_scores

NLL = {"val": np.array([0.5, 1.25, 3.0]), "test": np.array([2.0, 0.125])}


def test_scores_round_trip_as_float32(tmp_path):
    save_scores(tmp_path / "lstm", NLL)
    test = load_scores(tmp_path / "lstm", "test", tokens=3, stage="evaluate@lstm")
    assert test.dtype == np.float32 and test.tolist() == [2.0, 0.125]
    assert sorted(p.name for p in (tmp_path / "lstm").iterdir()) == ["test.npy", "val.npy"]   # no temp files left


def test_rewriting_scores_gives_identical_bytes(tmp_path):
    save_scores(tmp_path / "a", NLL)
    save_scores(tmp_path / "b", NLL)
    for split in NLL:
        assert (tmp_path / "a" / f"{split}.npy").read_bytes() == (tmp_path / "b" / f"{split}.npy").read_bytes()


def test_scores_of_another_text_ask_for_a_rerun(tmp_path):
    save_scores(tmp_path / "kn5", NLL)
    with pytest.raises(CharlmError, match=r"kn5/test\.npy: holds float32 \(2,\), expected float32 \(4,\) for the 5 "
                                          r"tokens of the test split \(run `dvc repro ngram`\)$"):
        load_scores(tmp_path / "kn5", "test", tokens=5, stage="ngram")
    with pytest.raises(CharlmError, match=r"gru/test\.npy: not found \(run `dvc repro evaluate@gru`\)$"):
        load_scores(tmp_path / "gru", "test", tokens=5, stage="evaluate@gru")
    (tmp_path / "kn5" / "test.npy").write_bytes(b"not an array")
    with pytest.raises(CharlmError, match=r"kn5/test\.npy: not a \.npy array \(run `dvc repro ngram`\)$"):
        load_scores(tmp_path / "kn5", "test", tokens=3, stage="ngram")
