"""stages/mix.py: mixes the members' score files written by the test, writes metrics keyed as metrics/eval's
plus the weights, and fails in one line naming a missing member file and the stage that writes it."""
from __future__ import annotations

import importlib.util
import json
import math
import re

import numpy as np
import pytest

from charlm.evaluate.scores import save_scores
from charlm.mix.em import MAX_ITERATIONS
from charlm.params import load_params
from charlm.stage import run_stage
from fake_lm import BigramLM, write_eval_inputs
from helpers import REPO, TINY_PARAMS

# tests/tiny_params.yaml: mix.ensemble = {members: [champion.dynamic, kn4], cache_order: 3}
NAME, MEMBERS = "ensemble", ("champion.dynamic", "kn4")


def load_mix_stage():
    spec = importlib.util.spec_from_file_location("stage_mix", REPO / "stages" / "mix.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def spotty_nll(tokens: np.ndarray, seed: int) -> np.ndarray:
    """(N-1,) nats of a member that is sure of a random 30% of the tokens and poor on the rest: one that
    the synthetic text's strong cache cannot replace, so every component keeps a weight."""
    sure = np.random.default_rng(seed).random(len(tokens) - 1) < 0.3
    return np.where(sure, -np.log(0.9), -np.log(0.01))


def write_member_scores(root) -> dict[str, dict[str, np.ndarray]]:
    """data/scores for both members: a bigram as champion's dynamic scores, spotty_nll as kn4's; returns them."""
    _, processed, vocab = write_eval_inputs(root)
    train = np.load(processed / "train.npy")
    bigram = BigramLM(train, len(vocab))
    scores = {"champion.dynamic": {}, "kn4": {}}
    for split in ("val", "test"):
        tokens = np.load(processed / f"{split}.npy")
        scores["champion.dynamic"][split] = bigram.token_nll(tokens).astype(np.float32)
        scores["kn4"][split] = spotty_nll(tokens, seed={"val": 0, "test": 1}[split]).astype(np.float32)
    save_scores(root / "data/scores/champion", {f"dynamic.{s}": v for s, v in scores["champion.dynamic"].items()})
    save_scores(root / "data/scores/ngram/kn4", scores["kn4"])
    return scores


def argv(root, name=NAME, params=TINY_PARAMS):
    return ["--params", str(params), "--name", name, "--scores", str(root / "data/scores"),
            "--data", str(root / "data/processed"), "--vocab", str(root / "data/processed/vocab.json"),
            "--interim", str(root / "data/interim"), "--metrics", str(root / f"metrics/eval/{name}.json"),
            "--out", str(root / f"data/mix/{name}")]


def bpc(nll: np.ndarray) -> float:
    return float(nll.astype(np.float64).sum() / math.log(2) / len(nll))   # a char vocab: one character a token


def test_stage_writes_weights_metrics_and_mixture_scores(tmp_path):
    members = write_member_scores(tmp_path)
    load_mix_stage().main(argv(tmp_path))
    text = (tmp_path / f"metrics/eval/{NAME}.json").read_text()
    metrics = json.loads(text)
    assert list(metrics) == sorted(metrics)
    weights = {k.removeprefix("weight."): v for k, v in metrics.items() if k.startswith("weight.")}
    assert set(weights) == {*MEMBERS, "cache"} and metrics["num_members"] == 2
    assert sum(weights.values()) == pytest.approx(1, abs=1e-3) and min(weights.values()) > 0
    # Keys as metrics/eval/<model>.json has them, so the report can rank a mixture beside the models.
    for key in ("val.bpc", "val.nats", "val.ppl", "val.tokens", "val.chars", "val.oov_rate", "test.bpc",
                "test.bpc_ci_low", "test.bpc_ci_high", "test.book.7.bpc", "test.book.9.chars", "vocab_size"):
        assert key in metrics, key
    # EM fits on val, so the mixture is at least as good there as its best member.
    assert metrics["val.bpc"] <= min(bpc(members[m]["val"]) for m in MEMBERS)
    assert metrics["test.bpc_ci_low"] < metrics["test.bpc"] < metrics["test.bpc_ci_high"]
    assert metrics["em.converged"] is True and 1 < metrics["em.iterations"] < MAX_ITERATIONS

    for split in ("val", "test"):
        nll = np.load(tmp_path / f"data/mix/{NAME}/{split}.npy")
        assert nll.dtype == np.float32 and nll.shape == members["kn4"][split].shape
        assert bpc(nll) == pytest.approx(metrics[f"{split}.bpc"], abs=1e-4)
    scores = {s: (tmp_path / f"data/mix/{NAME}/{s}.npy").read_bytes() for s in ("val", "test")}

    load_mix_stage().main(argv(tmp_path))   # reproducible: a rerun writes the same bytes
    assert (tmp_path / f"metrics/eval/{NAME}.json").read_text() == text
    assert {s: (tmp_path / f"data/mix/{NAME}/{s}.npy").read_bytes() for s in ("val", "test")} == scores


def test_weights_come_from_val_only(tmp_path):
    # Spoil kn4's test scores: the weights (fitted on val) must not move, only test.bpc.
    write_member_scores(tmp_path)
    load_mix_stage().main(argv(tmp_path))
    before = json.loads((tmp_path / f"metrics/eval/{NAME}.json").read_text())
    test = np.load(tmp_path / "data/scores/ngram/kn4/test.npy")
    save_scores(tmp_path / "data/scores/ngram/kn4", {"test": test + 1})
    load_mix_stage().main(argv(tmp_path))
    after = json.loads((tmp_path / f"metrics/eval/{NAME}.json").read_text())
    assert {k: v for k, v in after.items() if k.startswith(("weight.", "val."))} == \
           {k: v for k, v in before.items() if k.startswith(("weight.", "val."))}
    assert after["test.bpc"] > before["test.bpc"]


def test_no_cache_component_without_cache_order(tmp_path):
    write_member_scores(tmp_path)
    params = load_params(TINY_PARAMS).model_dump(mode="json")
    params["mix"][NAME]["cache_order"] = 0
    (tmp_path / "params.yaml").write_text(json.dumps(params))   # JSON is YAML
    load_mix_stage().main(argv(tmp_path, params=tmp_path / "params.yaml"))
    metrics = json.loads((tmp_path / f"metrics/eval/{NAME}.json").read_text())
    assert sorted(k for k in metrics if k.startswith("weight.")) == ["weight.champion.dynamic", "weight.kn4"]


def test_em_stopped_by_its_cap_is_a_metric_and_a_warning_line(tmp_path, capsys):
    # kn4 a near twin of champion.dynamic: the likelihood is almost flat between them, and EM crawls past its cap.
    scores = write_member_scores(tmp_path)
    rng = np.random.default_rng(0)
    save_scores(tmp_path / "data/scores/ngram/kn4", {split: (nll + 0.03 * rng.standard_normal(len(nll))).astype(np.float32)
                                               for split, nll in scores["champion.dynamic"].items()})
    load_mix_stage().main(argv(tmp_path))
    text = (tmp_path / f"metrics/eval/{NAME}.json").read_text()
    metrics = json.loads(text)
    assert metrics["em.converged"] is False and metrics["em.iterations"] == MAX_ITERATIONS
    assert '"em.converged": false,\n  "em.iterations": 1000,' in text and list(metrics) == sorted(metrics)
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: mix.{NAME}: EM did not converge in {MAX_ITERATIONS} steps; its weights may be "
                        "short of the val optimum (metrics: em.converged false)"]


@pytest.mark.parametrize("missing, message", [
    ("champion/dynamic.val.npy",
     r"error: .*data/scores/champion/dynamic\.val\.npy: not found \(run `dvc repro evaluate@champion`\)"),
    ("ngram/kn4/test.npy", r"error: .*data/scores/ngram/kn4/test\.npy: not found \(run `dvc repro ngram`\)"),
])
def test_missing_member_file_is_one_line_naming_it(tmp_path, capsys, missing, message):
    write_member_scores(tmp_path)
    (tmp_path / "data/scores" / missing).unlink()
    with pytest.raises(SystemExit) as exit_info:
        run_stage(load_mix_stage().main, argv(tmp_path))
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert not (tmp_path / "metrics").exists() and not (tmp_path / "data/mix").exists()


@pytest.mark.parametrize("bad", [3.6e30, np.nan])
def test_a_member_whose_scores_diverged_is_one_line_not_a_zero_weight(tmp_path, capsys, bad):
    # Scores written before the divergence checks (a run cache, a remote) could be finite and huge; EM would
    # give such a member weight 0 and the mixture would quietly go on without it.
    scores = write_member_scores(tmp_path)
    val = scores["champion.dynamic"]["val"].copy()
    val[40:] = bad
    save_scores(tmp_path / "data/scores/champion", {"dynamic.val": val})
    with pytest.raises(SystemExit):
        run_stage(load_mix_stage().main, argv(tmp_path))
    err = capsys.readouterr().err
    assert re.fullmatch(r"error: .*data/scores/champion/dynamic\.val\.npy: member 'champion\.dynamic' diverged at "
                        r"token 41 \(nll .*\); run `dvc repro -f evaluate@champion` again\n", err), err
    assert not (tmp_path / "metrics").exists()


def test_unknown_mixture_is_one_line(tmp_path, capsys):
    write_member_scores(tmp_path)
    with pytest.raises(SystemExit):
        run_stage(load_mix_stage().main, argv(tmp_path, name="blend"))
    assert capsys.readouterr().err.strip() == "error: mix.blend: no such mixture (defined: ensemble)"
