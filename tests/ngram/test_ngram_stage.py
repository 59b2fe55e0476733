"""stages/ngram.py: model, ARPA and metrics from the encoded splits; `dvc repro ngram@kn4` on the tiny profile."""
from __future__ import annotations

import importlib.util
import json
import math
import re

import numpy as np
import pytest
import yaml

from arpa_reader import arpa_log10_prob, parse_arpa
from charlm.data.vocab import Vocab, load_vocab, save_vocab
from charlm.errors import CharlmError
from charlm.lm import load_lm
from charlm.ngram.arpa import arpa_words
from helpers import REPO, TINY_PARAMS
from ngram_fixtures import char_vocab, clean_text, encode


def load_stage():
    spec = importlib.util.spec_from_file_location("stage_ngram", REPO / "stages" / "ngram.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_inputs(root):
    text = clean_text(600, seed=21)
    vocab = Vocab("char", char_vocab(text))
    save_vocab(vocab, root / "data" / "vocab.json")
    for split, part in (("train", text[:2500]), ("val", text[2500:3000])):
        np.save(root / "data" / f"{split}.npy", encode(part, vocab.tokens).astype(np.uint8))
    return vocab


def run(root, name):
    load_stage().main(["--params", str(TINY_PARAMS), "--name", name, "--data", str(root / "data"),
                       "--vocab", str(root / "data" / "vocab.json"), "--model", str(root / f"ngram-{name}.npz"),
                       "--arpa", str(root / f"ngram-{name}.arpa"), "--metrics", str(root / f"ngram-{name}.json"),
                       "--runtime", str(root / "runtime" / f"ngram-{name}.json")])


def outputs(root, name) -> dict[str, bytes]:
    """The files DVC tracks for ngram@<name> (the runtime log is deliberately not one of them)."""
    return {f.name: f.read_bytes() for f in (root / f"ngram-{name}.npz", root / f"ngram-{name}.arpa",
                                             root / f"ngram-{name}.json")}


def test_stage_writes_model_arpa_and_metrics(tmp_path):
    (tmp_path / "data").mkdir()
    vocab = write_inputs(tmp_path)
    run(tmp_path, "kn4")
    metrics = json.loads((tmp_path / "ngram-kn4.json").read_text())
    assert metrics["smoothing"] == "kneser_ney" and metrics["order"] == 4
    assert {k for k in metrics if k.startswith(("ngrams.", "discounts."))} == {
        f"{kind}.{k}" for kind in ("ngrams", "discounts") for k in range(1, 5)}
    assert 1 < metrics["val.bpc"] < math.log2(len(vocab))
    runtime = json.loads((tmp_path / "runtime" / "ngram-kn4.json").read_text())
    # The neural runtime log's keys (less its per-evaluation curve), so one table lines every model up.
    assert set(runtime) == {"wall_time_s", "tokens_per_s", "world_size", "device", "kernels"} and runtime["wall_time_s"] >= 0
    assert runtime["kernels"] == "portable"

    lm = load_lm(tmp_path / "ngram-kn4.npz", vocab)
    val = np.load(tmp_path / "data" / "val.npy")
    assert lm.token_nll(val).mean() / math.log(2) == pytest.approx(metrics["val.bpc"], rel=1e-12)
    arpa, words = parse_arpa(tmp_path / "ngram-kn4.arpa"), arpa_words(vocab.tokens)
    assert arpa_log10_prob(arpa, [words[i] for i in val[:3]], words[val[3]]) == pytest.approx(
        -lm.token_nll(val[:4])[-1] / math.log(10), abs=2e-6)


@pytest.mark.parametrize("name", ["kn4", "add3"])
def test_rerun_gives_byte_identical_outputs(tmp_path, name):
    """Fit time differs between runs; the model, ARPA and metrics files (DVC outputs) must not."""
    (tmp_path / "data").mkdir()
    write_inputs(tmp_path)
    run(tmp_path, name)
    first = outputs(tmp_path, name)
    for f in (tmp_path / f"ngram-{name}.npz", tmp_path / f"ngram-{name}.arpa", tmp_path / f"ngram-{name}.json"):
        f.unlink()   # a rerun must write them afresh, not leave the old bytes in place
    run(tmp_path, name)
    assert outputs(tmp_path, name) == first
    assert not re.search(r"second|time|per_s", first[f"ngram-{name}.json"].decode())


def test_an_unknown_name_is_refused(tmp_path):
    (tmp_path / "data").mkdir()
    write_inputs(tmp_path)
    with pytest.raises(CharlmError, match=r"ngram.kn9: no such model \(defined in ngram: add3, kn4\)"):
        run(tmp_path, "kn9")


@pytest.mark.e2e
def test_dvc_repro_ngram_stage(tiny_repo):
    tiny_repo.dvc("repro", "ngram@kn4")
    root = tiny_repo.root
    metrics = json.loads((root / "metrics" / "train" / "ngram-kn4.json").read_text())
    assert math.isfinite(metrics["val.bpc"]) and metrics["order"] == 4
    assert parse_arpa(root / "models" / "ngram-kn4.arpa")[4]
    vocab = load_vocab(root / "data" / "processed" / "vocab.json")
    lm = load_lm(root / "models" / "ngram-kn4.npz", vocab)
    assert len(lm.generate(list(vocab.encode("the whale")), 20, greedy=True)) == 20
    assert "ngram@kn4" not in tiny_repo.stale_stages()
    # The fit time goes to the runtime log, which DVC does not track (its bytes change every run).
    assert json.loads((root / "metrics" / "runtime" / "ngram-kn4.json").read_text())["wall_time_s"] >= 0
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]["ngram@kn4"]
    assert {out["path"] for out in lock["outs"]} == {"models/ngram-kn4.npz", "models/ngram-kn4.arpa",
                                                     "metrics/train/ngram-kn4.json"}
