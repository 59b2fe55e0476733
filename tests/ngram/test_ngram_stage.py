"""stages/ngram.py: every n-gram's model, ARPA and metrics from the encoded splits, then its held-out scores as
evaluate@ writes them; `dvc repro ngram` on the tiny profile."""
from __future__ import annotations

import importlib.util
import json
import math
import re

import numpy as np
import pytest
import yaml

from arpa_reader import arpa_log10_prob, parse_arpa
from charlm.data.vocab import load_vocab
from charlm.lm import load_lm
from charlm.ngram.arpa import arpa_words
from helpers import REPO, TINY_PARAMS
from fake_lm import write_eval_inputs


def load_stage():
    spec = importlib.util.spec_from_file_location("stage_ngram", REPO / "stages" / "ngram.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_inputs(root):
    """data/interim (texts, books.json) and data/processed (vocab, token arrays) under root; the vocab."""
    return write_eval_inputs(root)[2]


def run(root, params=TINY_PARAMS):
    """The stage as dvc.yaml runs it, every output folder under root (models/, train/, eval/, samples/, scores/)."""
    data = root / "data" / "processed"
    load_stage().main(["--params", str(params), "--data", str(data), "--vocab", str(data / "vocab.json"),
                       "--interim", str(root / "data" / "interim"), "--models", str(root / "models"),
                       "--train-metrics", str(root / "train"), "--eval-metrics", str(root / "eval"),
                       "--samples", str(root / "samples"), "--scores", str(root / "scores"),
                       "--runtime", str(root / "runtime")])


def outputs(root) -> dict[str, bytes]:
    """The files DVC tracks for the stage (the runtime logs are deliberately not among them)."""
    files = [f for folder in ("models", "train", "eval", "samples", "scores") for f in (root / folder).rglob("*")
             if f.is_file()]
    return {f.relative_to(root).as_posix(): f.read_bytes() for f in sorted(files)}


def test_stage_writes_model_arpa_and_metrics_of_every_ngram(tmp_path):
    vocab = write_inputs(tmp_path)
    run(tmp_path)
    names = list(yaml.safe_load(TINY_PARAMS.read_text())["ngram"])
    assert names == ["add3", "kn4"]
    for name in names:   # each entry, under its own name in every output folder
        assert {f.stem for f in (tmp_path / "models").glob(f"{name}.*")} == {name}
        assert (tmp_path / "train" / f"{name}.json").is_file() and (tmp_path / "eval" / f"{name}.json").is_file()
        assert (tmp_path / "samples" / f"{name}.md").is_file() and (tmp_path / "scores" / name / "test.npy").is_file()
    metrics = json.loads((tmp_path / "train" / "kn4.json").read_text())
    assert metrics["smoothing"] == "kneser_ney" and metrics["order"] == 4
    assert {k for k in metrics if k.startswith(("ngrams.", "discounts."))} == {
        f"{kind}.{k}" for kind in ("ngrams", "discounts") for k in range(1, 5)}
    assert 1 < metrics["val.bpc"] < math.log2(len(vocab))
    runtime = json.loads((tmp_path / "runtime" / "ngram-kn4.json").read_text())
    # The neural runtime log's keys (less its per-evaluation curve), so one table lines every model up.
    assert set(runtime) == {"wall_time_s", "tokens_per_s", "world_size", "device", "kernels"} and runtime["wall_time_s"] >= 0
    assert runtime["kernels"] == "portable"

    lm = load_lm(tmp_path / "models" / "kn4.npz", vocab)
    val, test = (np.load(tmp_path / "data" / "processed" / f"{split}.npy") for split in ("val", "test"))
    assert lm.token_nll(val).mean() / math.log(2) == pytest.approx(metrics["val.bpc"], rel=1e-12)
    # Then scored as evaluate@ scores a model: the per-token nll is the saved model's, and the held-out metrics
    # and samples are beside it.
    assert np.load(tmp_path / "scores" / "kn4" / "test.npy") == pytest.approx(lm.token_nll(test), rel=1e-6)
    evaluation = json.loads((tmp_path / "eval" / "kn4.json").read_text())
    assert evaluation["test.bpc_ci_low"] < evaluation["test.bpc"] < evaluation["test.bpc_ci_high"]
    assert '## "the whale"' in (tmp_path / "samples" / "kn4.md").read_text()
    arpa, words = parse_arpa(tmp_path / "models" / "kn4.arpa"), arpa_words(vocab.tokens)
    assert arpa_log10_prob(arpa, [words[i] for i in val[:3]], words[val[3]]) == pytest.approx(
        -lm.token_nll(val[:4])[-1] / math.log(10), abs=2e-6)
    add3 = json.loads((tmp_path / "eval" / "add3.json").read_text())
    assert add3["test.bpc"] != evaluation["test.bpc"]     # each entry its own model, not one copied


def test_rerun_gives_byte_identical_outputs(tmp_path):
    """Fit time differs between runs; the models, ARPA and metrics files (DVC outputs) must not."""
    write_inputs(tmp_path)
    run(tmp_path)
    first = outputs(tmp_path)
    for f in first:
        (tmp_path / f).unlink()   # a rerun must write them afresh, not leave the old bytes in place
    run(tmp_path)
    assert outputs(tmp_path) == first
    assert not re.search(r"second|time|per_s", first["train/kn4.json"].decode() + first["eval/add3.json"].decode())


def test_no_ngrams_still_writes_every_output_folder(tmp_path):
    """`ngram: {}` (no baselines): the stage's outputs are folders, so they exist, empty."""
    write_inputs(tmp_path)
    raw = yaml.safe_load(TINY_PARAMS.read_text())
    raw["ngram"] = {}
    raw["mix"] = {}
    raw["cm"]["members"] = [m for m in raw["cm"]["members"] if m.split(".")[0] in raw["models"]]
    raw["evaluate"]["distributions"] = [m for m in raw["evaluate"]["distributions"] if m in raw["models"]]
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    run(tmp_path, params)
    assert all((tmp_path / folder).is_dir() for folder in ("models", "train", "eval", "samples", "scores"))
    assert outputs(tmp_path) == {}


@pytest.mark.e2e
def test_dvc_repro_ngram_stage(tiny_repo):
    tiny_repo.dvc("repro", "ngram")
    root = tiny_repo.root
    metrics = json.loads((root / "metrics" / "train" / "ngram" / "kn4.json").read_text())
    assert math.isfinite(metrics["val.bpc"]) and metrics["order"] == 4
    assert parse_arpa(root / "models" / "ngram" / "kn4.arpa")[4]
    vocab = load_vocab(root / "data" / "processed" / "vocab.json")
    lm = load_lm(root / "models" / "ngram" / "kn4.npz", vocab)
    assert len(lm.generate(list(vocab.encode("the whale")), 20, greedy=True)) == 20
    assert "ngram" not in tiny_repo.stale_stages()
    # The fit time goes to the runtime log, which DVC does not track (its bytes change every run).
    assert json.loads((root / "metrics" / "runtime" / "ngram-kn4.json").read_text())["wall_time_s"] >= 0
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]["ngram"]
    assert {out["path"] for out in lock["outs"]} == {"models/ngram", "metrics/train/ngram", "metrics/eval/ngram",
                                                     "reports/samples/ngram", "data/scores/ngram"}
