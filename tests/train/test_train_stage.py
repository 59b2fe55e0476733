"""stages/train.py in-process: outputs, one-line errors for bad input, stale resume checkpoints ignored."""
from __future__ import annotations

import importlib.util
import json
import re

import numpy as np
import pytest
import yaml

from charlm.errors import CharlmError
from charlm.models.checkpoint import MODEL_FORMAT, load_checkpoint
from helpers import REPO
from trainkit import tiny_corpus, tiny_params

_spec = importlib.util.spec_from_file_location("train_stage", REPO / "stages" / "train.py")
stage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stage)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tiny_corpus(tmp_path_factory.mktemp("data"))[0]


def _argv(tmp_path, data, params, name="gru", out="out"):
    out = tmp_path / out
    return ["--params", str(params), "--name", name, "--data", str(data), "--vocab", str(data / "vocab.json"),
            "--model", str(out / "m.pt"), "--resume", str(out / "r.pt"), "--metrics", str(out / "m.json"),
            "--live", str(out / "live"), "--runtime", str(out / "runtime.json"), "--repeats", str(out / "seeds"),
            "--repeat-metrics", str(out / "seeds-metrics.json"), "--repeat-runtime", str(out / "seeds-runtime")]


def test_a_compared_model_trains_each_repeat_as_that_seed_s_own_run(tmp_path, data):
    """train@gru with compare.seeds [1] writes gru-s1.pt: exactly what train.seed = 1 trains, not seed 0's model;
    every resume checkpoint is gone once the stage completes."""
    params = tiny_params(tmp_path / "p.yaml", train={"max_tokens": 1200, "eval_every_tokens": 600})
    raw = yaml.safe_load(params.read_text())
    assert raw["train"]["seed"] == 0 and "gru" in raw["compare"]["models"]
    raw["compare"]["seeds"] = [1]
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    seeded = tmp_path / "p1.yaml"       # seed 1 as its own run, and no repeats
    raw["train"]["seed"], raw["compare"]["models"] = 1, []
    seeded.write_text(yaml.safe_dump(raw, sort_keys=False))
    stage.main(_argv(tmp_path, data, params, "gru", out="compared"))
    stage.main(_argv(tmp_path, data, seeded, "gru", out="seeded"))
    compared, seeded_out = tmp_path / "compared", tmp_path / "seeded"
    weights = {out: load_checkpoint(path, MODEL_FORMAT)["state_dict"]
               for out, path in (("repeat", compared / "seeds" / "gru-s1.pt"), ("seeded", seeded_out / "m.pt"),
                                 ("own", compared / "m.pt"))}
    assert all(bool((weights["repeat"][k] == weights["seeded"][k]).all()) for k in weights["seeded"])
    assert not all(bool((weights["repeat"][k] == weights["own"][k]).all()) for k in weights["own"])
    repeat_metrics = json.loads((compared / "seeds-metrics.json").read_text())
    assert repeat_metrics == {"gru-s1": json.loads((seeded_out / "m.json").read_text())}
    assert json.loads((compared / "seeds" / "repeats.json").read_text()) == {"gru-s1": 1}
    assert json.loads((compared / "seeds-runtime" / "gru-s1.json").read_text())["tokens_per_s"] > 0
    assert not list(compared.glob("*.resume.pt")) and not list(compared.glob("*r.pt"))
    # A model outside compare.models has no repeats, but its outputs exist, never empty: DVC warns of an empty
    # output folder on every run.
    assert [p.name for p in (seeded_out / "seeds").iterdir()] == ["repeats.json"]
    assert json.loads((seeded_out / "seeds" / "repeats.json").read_text()) == {}
    assert json.loads((seeded_out / "seeds-metrics.json").read_text()) == {}


def test_outputs_model_metrics_and_curves(tmp_path, data):
    params = tiny_params(tmp_path / "p.yaml", train={"max_tokens": 2500, "eval_every_tokens": 1000})
    stage.main(_argv(tmp_path, data, params, "bilstm"))
    out = tmp_path / "out"
    metrics = json.loads((out / "m.json").read_text())
    assert metrics["evaluations"] == 3 and metrics["train.tokens"] <= 2500 and metrics["num_parameters"] > 0
    # Named as in metrics/eval: val.bpc is the forward direction; the mean of both picks the best evaluation.
    curves = {name: [float(line.split("\t")[1]) for line in
                     (out / f"live/plots/metrics/val/{name}.tsv").read_text().splitlines()[1:]]
              for name in ("bpc", "bpc_forward", "bpc_backward")}
    best = curves["bpc"].index(min(curves["bpc"]))
    assert metrics["mean.val.bpc"] == curves["bpc"][best]
    assert metrics["val.bpc"] == curves["bpc_forward"][best] and metrics["backward.val.bpc"] == curves["bpc_backward"][best]
    model = load_checkpoint(out / "m.pt", MODEL_FORMAT)
    assert model["params"]["arch"] == "bilstm"
    # Timings vary run to run, so they stay out of every DVC output (model, metrics, DVCLive dir) ...
    timing = {"tokens_per_s", "wall_time_s", "elapsed_s", "train_s"}
    assert not timing & set(model["summary"]) and not timing & set(metrics)
    assert not list((out / "live").rglob("tokens_per_s*"))
    assert "tokens_per_s" not in (out / "live" / "metrics.json").read_text()
    # ... and go to the runtime log instead: one curve point per evaluation, cumulative and increasing.
    runtime = json.loads((out / "runtime.json").read_text())
    assert runtime["world_size"] == 1 and runtime["device"] == "cpu" and runtime["tokens_per_s"] > 0
    curve = runtime["curve"]
    evaluated = (out / "live/plots/metrics/val/bpc.tsv").read_text().splitlines()[1:]
    assert [point["tokens"] for point in curve] == [int(line.split("\t")[0]) for line in evaluated]
    assert 0 < curve[0]["train_s"] <= curve[0]["elapsed_s"]
    assert all(a["train_s"] < b["train_s"] and a["elapsed_s"] < b["elapsed_s"] for a, b in zip(curve, curve[1:]))
    assert runtime["wall_time_s"] == pytest.approx(curve[-1]["elapsed_s"], abs=0.06)   # both rounded


def test_a_finished_run_drops_its_checkpoint_and_a_stale_one_is_ignored(tmp_path, data, capsys):
    from charlm.data.vocab import load_vocab
    from charlm.params import load_params
    from charlm.data.ids import load_ids
    from charlm.train.run import fit

    params = tiny_params(tmp_path / "p.yaml", train={"max_tokens": 1500})
    stage.main(_argv(tmp_path, data, params))
    first = (tmp_path / "out" / "m.pt").read_bytes()
    assert not (tmp_path / "out" / "r.pt").exists()      # complete: nothing left to resume
    stage.main(_argv(tmp_path, data, params))
    assert (tmp_path / "out" / "m.pt").read_bytes() == first   # a fresh rerun is bit-identical

    # A checkpoint left by a run with other params (lr) must not be continued.
    vocab = load_vocab(data / "vocab.json")
    ids = [load_ids(data / f"{split}.npy", len(vocab)) for split in ("train", "val")]
    fit(load_params(tiny_params(tmp_path / "other.yaml", train={"max_tokens": 1500, "lr": 0.02})), "gru", vocab,
        *ids, resume_path=tmp_path / "out" / "r.pt")
    capsys.readouterr()
    stage.main(_argv(tmp_path, data, params))
    captured = capsys.readouterr()
    assert "is from another run" in captured.err and "gru step" in captured.out
    assert (tmp_path / "out" / "m.pt").read_bytes() == first


@pytest.mark.parametrize("train, message", [
    ({"batch_size": 1024, "num_steps": 16}, r"train split: \d+ tokens is shorter than one batch \(batch_size 1024 × num_steps 16"),
    ({"lr": -1.0}, r"train.lr: must be > 0, got -1.0"),
    ({"batch_size": 0}, r"train.batch_size: must be > 0, got 0"),
])
def test_bad_input_is_one_clear_line(tmp_path, data, train, message):
    params = tiny_params(tmp_path / "p.yaml", train=train)
    with pytest.raises(CharlmError, match=message) as err:
        stage.main(_argv(tmp_path, data, params))
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out" / "m.pt").exists()


@pytest.mark.parametrize("train, model, key", [
    ({"optimizer": "sgd", "lr": 1e4, "clip_norm": 0.0}, {}, "train.lr"),
    ({"optimizer": "sgd", "clip_norm": 0.0}, {"train": {"lr": 1e4}}, "models.gru.train.lr"),
])
def test_a_diverged_run_names_the_lr_that_set_it(tmp_path, data, train, model, key):
    # SGD at lr 1e4 without clipping blows up on any CPU, as inf/nan or as finite costs far above ln V:
    # the loop's check reads both the same way (charlm.divergence).
    params = tiny_params(tmp_path / "p.yaml", train={**train, "max_tokens": 4000, "eval_every_tokens": 1000},
                         gru=model)
    with pytest.raises(CharlmError, match=rf"^{re.escape(key)}: training diverged by token 1,\d{{3}}: "
                                          r"(mean train loss|val nll) (nan nats|inf nats|.* nats, more than 2 × ln \d+ = [\d.]+, the cost of a "
                                          r"uniform guess); "
                                          r"lower the lr \(it was [\d.e+]+ there\)$") as err:
        stage.main(_argv(tmp_path, data, params))
    assert "\n" not in str(err.value) and not (tmp_path / "out" / "m.pt").exists()


def test_unknown_model_name_and_out_of_vocab_ids(tmp_path, data):
    params = tiny_params(tmp_path / "p.yaml")
    with pytest.raises(CharlmError, match=r"models.gpt: no such model \(defined in models: bilstm, champion, deep_lstm, gru, lstm, rnn, transformer\)"):
        stage.main(_argv(tmp_path, data, params, name="gpt"))
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("vocab.json", "val.npy"):
        (bad / name).write_bytes((data / name).read_bytes())
    np.save(bad / "train.npy", np.array([0, 1, 250], dtype=np.uint8))
    with pytest.raises(CharlmError, match=r"train.npy: token ids must be in 0\.\."):
        stage.main(_argv(tmp_path, bad, params))
