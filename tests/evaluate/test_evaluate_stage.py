"""stages/evaluate.py: writes canonical metrics, samples and per-token nll, and fails in one line naming a missing
model."""
from __future__ import annotations

import importlib.util
import json
import re

import numpy as np
import pytest

import charlm.evaluate.run
from charlm.stage import run_stage
from fake_lm import BigramLM, write_eval_inputs
from helpers import REPO, TINY_PARAMS


def load_stage(name: str):
    spec = importlib.util.spec_from_file_location(f"stage_{name}", REPO / "stages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def argv(root, name="gru", model=None):
    return ["--params", str(TINY_PARAMS), "--name", name, "--model", str(model or root / "models" / f"{name}.pt"),
            "--data", str(root / "data/processed"), "--vocab", str(root / "data/processed/vocab.json"),
            "--interim", str(root / "data/interim"), "--metrics", str(root / f"metrics/eval/{name}.json"),
            "--samples", str(root / f"reports/samples/{name}.md"), "--scores", str(root / f"data/scores/{name}"),
            "--repeats", str(root / f"models/seeds/{name}"),
            "--repeat-metrics", str(root / f"metrics/eval/seeds/{name}.json"),
            "--repeat-scores", str(root / f"data/scores/seeds/{name}")]


def test_stage_writes_metrics_and_samples(tmp_path, monkeypatch):
    _, processed, vocab = write_eval_inputs(tmp_path)
    (tmp_path / "models" / "seeds" / "gru").mkdir(parents=True)
    (tmp_path / "models" / "gru.pt").write_bytes(b"stand-in checkpoint")
    (tmp_path / "models" / "seeds" / "gru" / "gru-s1.pt").write_bytes(b"its repeat at seed 1 (compare.seeds)")
    (tmp_path / "models" / "seeds" / "gru" / "repeats.json").write_text('{"gru-s1": 1}')   # train@gru's index
    loaded = []
    def fake_load_lm(path, vocab_):
        loaded.append(path)
        share = len(np.load(processed / "train.npy")) // (2 if "seeds" in path.parts else 1)   # the repeat differs
        return BigramLM(np.load(processed / "train.npy")[:share], len(vocab_), name="gru")
    monkeypatch.setattr(charlm.evaluate.run, "load_lm", fake_load_lm)

    load_stage("evaluate").main(argv(tmp_path))
    text = (tmp_path / "metrics/eval/gru.json").read_text()
    metrics = json.loads(text)
    assert loaded == [tmp_path / "models/gru.pt", tmp_path / "models/seeds/gru/gru-s1.pt"]
    assert list(metrics) == sorted(metrics) and metrics["vocab_size"] == len(vocab)
    assert metrics["test.bpc_ci_low"] < metrics["test.bpc"] < metrics["test.bpc_ci_high"]
    page = (tmp_path / "reports/samples/gru.md").read_text()
    assert '## "the whale"' in page   # the tiny profile's prefix

    scores = {split: (tmp_path / f"data/scores/gru/{split}.npy").read_bytes() for split in ("val", "test")}
    test_nll = np.load(tmp_path / "data/scores/gru/test.npy")
    test_tokens = np.load(processed / "test.npy")
    assert test_nll.dtype == np.float32 and test_nll.shape == (len(test_tokens) - 1,)
    # Forward nll in nats, in text order: the same numbers the metrics were computed from.
    expected = BigramLM(np.load(processed / "train.npy"), len(vocab)).token_nll(test_tokens)
    assert test_nll == pytest.approx(expected, rel=1e-6)
    assert test_nll.sum() / np.log(2) / len(test_nll) == pytest.approx(metrics["test.bpc"], abs=1e-4)

    # The repeat: its metrics under its name, and its per-token nll beside the model's, no samples.
    repeat = json.loads((tmp_path / "metrics/eval/seeds/gru.json").read_text())
    assert list(repeat) == ["gru-s1"] and repeat["gru-s1"]["test.bpc"] > metrics["test.bpc"]
    repeat_nll = np.load(tmp_path / "data/scores/seeds/gru/gru-s1/test.npy")
    assert repeat_nll.sum() / np.log(2) / len(repeat_nll) == pytest.approx(repeat["gru-s1"]["test.bpc"], abs=1e-4)
    assert not list((tmp_path / "reports/samples").glob("gru-s*"))
    assert json.loads((tmp_path / "data/scores/seeds/gru/repeats.json").read_text()) == {"gru-s1": 1}

    load_stage("evaluate").main(argv(tmp_path))   # reproducible: a rerun writes the same bytes
    assert (tmp_path / "metrics/eval/gru.json").read_text() == text
    assert {split: (tmp_path / f"data/scores/gru/{split}.npy").read_bytes() for split in ("val", "test")} == scores


@pytest.mark.parametrize("name, model, message", [
    ("gru", None,
     r"error: model 'gru' \(models.gru in params\) has no checkpoint at .*gru.pt: run `dvc repro train@gru`"),
    ("kn4", None,    # the stage ngram scores the n-grams
     r"error: models.kn4: no such model \(defined in models: bilstm, champion, deep_lstm, gru, lstm, rnn, transformer\)"),
    ("gpt", None,
     r"error: models.gpt: no such model \(defined in models: bilstm, champion, deep_lstm, gru, lstm, rnn, transformer\)"),
])
def test_missing_model_is_one_line_naming_it(tmp_path, capsys, name, model, message):
    write_eval_inputs(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run_stage(load_stage("evaluate").main, argv(tmp_path, name, model and tmp_path / model))
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and len(err.strip().splitlines()) == 1
    assert re.search(message, err)
    assert not (tmp_path / "metrics").exists()


def test_repeats_other_than_params_ask_for_are_one_line_asking_to_retrain(tmp_path, capsys):
    """compare.seeds edited since train@gru ran (its index lists gru-s7, params ask for gru-s1): one line before
    anything is scored."""
    write_eval_inputs(tmp_path)
    (tmp_path / "models" / "seeds" / "gru").mkdir(parents=True)
    (tmp_path / "models" / "gru.pt").write_bytes(b"stand-in checkpoint")
    (tmp_path / "models" / "seeds" / "gru" / "gru-s7.pt").write_bytes(b"a repeat from older params")
    (tmp_path / "models" / "seeds" / "gru" / "repeats.json").write_text('{"gru-s7": 7}')
    with pytest.raises(SystemExit) as exit_info:
        run_stage(load_stage("evaluate").main, argv(tmp_path))
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and len(err.strip().splitlines()) == 1
    assert re.search(r"models/seeds/gru/repeats.json: lists \['gru-s7'\], but compare.models and compare.seeds ask "
                     r"for \['gru-s1'\]: run `dvc repro train@gru`", err), err
    assert not (tmp_path / "metrics").exists()
