"""Stage inputs for the plot stage without training anything: bigram 'models' scored by the real evaluator."""
from __future__ import annotations

import numpy as np
import yaml

from charlm.evaluate.metrics import evaluate_lm
from charlm.evaluate.samples import generate_samples, samples_markdown
from charlm.evaluate.splits import load_eval_split
from charlm.io import write_json
from charlm.params import parse_params
from fake_lm import BigramLM, write_eval_inputs
from helpers import TINY_PARAMS


def fake_params():
    """The tiny profile with the two books that write_eval_inputs makes (ids 7 and 9)."""
    raw = yaml.safe_load(TINY_PARAMS.read_text())
    raw["data"]["books"] = [{"id": 7, "title": "The Seventh Book of Tests", "author": "T"},
                            {"id": 9, "title": "Nine", "author": "T"}]
    return parse_params(raw)


def write_fake_results(root, params) -> dict:
    """metrics/eval, metrics/train, dvclive/train and reports/samples for every model in params; returns the dirs."""
    interim, processed, vocab = write_eval_inputs(root)
    splits = [load_eval_split(s, processed, interim, vocab) for s in ("val", "test")]
    train = np.load(processed / "train.npy")
    dirs = {k: root / v for k, v in (("eval", "metrics/eval"), ("train", "metrics/train"), ("live", "dvclive/train"),
                                     ("samples", "reports/samples"), ("plots", "plots"))}
    for i, name in enumerate([*params.models, *params.ngram]):
        neural = name in params.models
        directions = ("forward", "backward") if name == "bilstm" else ("forward",)
        # Models fitted on different amounts of text, so their scores differ.
        lm = BigramLM(train[: len(train) * (i + 2) // 9], len(vocab), name=name, directions=directions)
        write_json(dirs["eval"] / f"{name}.json", evaluate_lm(lm, splits, params.evaluate, len(vocab)))
        (dirs["samples"] / f"{name}.md").parent.mkdir(parents=True, exist_ok=True)
        (dirs["samples"] / f"{name}.md").write_text(
            samples_markdown(name, generate_samples(lm, vocab, params.evaluate), params.evaluate))
        # The keys each trainer writes (charlm.train.run.train_metrics, charlm.ngram.run.train_ngram).
        if neural:
            metrics = {"wall_time_s": 3.0 * (i + 1), "tokens_per_s": 1000.0 * (i + 1), "tokens_seen": 6000,
                       "epochs": 2.0}
            live = dirs["live"] / name / "plots" / "metrics"
            steps = np.arange(1, 7) * 1000
            tables = {"val/bpc_forward.tsv": ("bpc_forward", 4.5 - np.log1p(steps / 1000) * (0.5 + 0.1 * i)),
                      "train/loss_nats.tsv": ("loss_nats", 3.0 - np.log1p(steps / 1000) * 0.3),
                      "tokens_per_s.tsv": ("tokens_per_s", np.full(6, 1000.0 * (i + 1)))}
            for file, (field, values) in tables.items():
                (live / file).parent.mkdir(parents=True, exist_ok=True)
                lines = ["step\t" + field] + [f"{s}\t{v}" for s, v in zip(steps, values)]
                (live / file).write_text("\n".join(lines) + "\n")
        else:
            metrics = {"fit_seconds": 3.0 * (i + 1), "train_tokens": 3000 * (i + 1)}
        write_json(dirs["train"] / (f"{name}.json" if neural else f"ngram-{name}.json"), metrics)
    return dirs
