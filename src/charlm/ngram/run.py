"""The ngram stage's work: fit one configured model on train, score val, and describe the fit."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from charlm.model_names import model_section
from charlm.ngram.model import NgramModel, fit_ngram
from charlm.params import Params


@dataclass(frozen=True)
class FittedNgram:
    model: NgramModel
    metrics: dict   # metrics/train/ngram/<name>.json: a DVC output, so only what the inputs determine
    runtime: dict   # metrics/runtime/ngram-<name>.json: this run's timings, which vary run to run


def train_ngram(params: Params, name: str, vocab_size: int, train_ids: np.ndarray, val_ids: np.ndarray
                ) -> FittedNgram:
    """Fit `ngram.<name>` on the train ids and report val bpc (val scored with its own context only)."""
    model_section(params, name, ("ngram",))
    config = params.ngram[name]
    started = time.perf_counter()
    model = fit_ngram(train_ids, vocab_size, config)
    fit_seconds = time.perf_counter() - started
    val_nats = float(-model.log_probs(val_ids).mean())
    wall_seconds = time.perf_counter() - started
    orders = range(1, model.order + 1)
    # The names of the neural train metrics (docs/metrics.md); an n-gram counts the training split once.
    metrics = {
        "name": name, "smoothing": config.smoothing, "order": config.order,
        "val.nats": val_nats, "val.bpc": val_nats / math.log(2), "val.ppl": math.exp(val_nats),
        "train.tokens": int(len(train_ids)), "train.epochs": 1, "val.tokens": int(len(val_ids)),
        **{f"ngrams.{k}": int(model.seen[k - 1]) for k in orders},
        "num_parameters": model.num_parameters,
    }
    if config.smoothing == "additive":
        metrics["epsilon"] = list(config.epsilon)
    if config.smoothing == "kneser_ney":
        metrics.update({f"discounts.{k}": [float(d) for d in model.discounts[k - 1]] for k in orders})
        metrics["discount_fallback"] = [k for k in orders if model.fell_back[k - 1]]
    # The keys and meanings of the neural runtime log (metrics/runtime/<name>.json, less its per-evaluation
    # curve), so `dvc metrics show metrics/runtime` lines every model up in one table: wall time includes
    # scoring val, tokens/s counts fitting only. Counting runs in NumPy, on the CPU, in one process.
    runtime = {"wall_time_s": round(wall_seconds, 3),
               "tokens_per_s": round(len(train_ids) / max(fit_seconds, 1e-9)),
               "world_size": 1, "device": "cpu", "kernels": params.runtime.kernels}
    return FittedNgram(model, metrics, runtime)
