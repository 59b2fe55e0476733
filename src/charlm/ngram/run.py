"""The ngram stage's work: fit one configured model on train, score val, and describe the fit."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from charlm.errors import CharlmError
from charlm.ngram.model import NgramModel, fit_ngram
from charlm.params import Params


@dataclass(frozen=True)
class FittedNgram:
    model: NgramModel
    metrics: dict   # metrics/train/ngram-<name>.json: a DVC output, so only what the inputs determine
    runtime: dict   # metrics/runtime/ngram-<name>.json: this run's timings, which vary run to run


def train_ngram(params: Params, name: str, vocab_size: int, train_ids: np.ndarray, val_ids: np.ndarray
                ) -> FittedNgram:
    """Fit `ngram.<name>` on the train ids and report val bpc (val scored with its own context only)."""
    if name not in params.ngram:
        raise CharlmError(f"ngram.{name}: no such entry in params.yaml (have: {', '.join(sorted(params.ngram))})")
    config = params.ngram[name]
    started = time.perf_counter()
    model = fit_ngram(train_ids, vocab_size, config)
    fit_seconds = time.perf_counter() - started
    val_nll = float(-model.log_probs(val_ids).mean())
    orders = range(1, model.order + 1)
    metrics = {
        "name": name, "smoothing": config.smoothing, "order": config.order,
        "val_nll": val_nll, "val_bpc": val_nll / math.log(2), "val_perplexity": math.exp(val_nll),
        "train_tokens": int(len(train_ids)), "val_tokens": int(len(val_ids)),
        "ngrams": {str(k): int(model.seen[k - 1]) for k in orders},
        "num_parameters": model.num_parameters,
    }
    if config.smoothing == "additive":
        metrics["epsilon"] = list(config.epsilon)
    if config.smoothing == "kneser_ney":
        metrics["discounts"] = {str(k): [float(d) for d in model.discounts[k - 1]] for k in orders}
        metrics["discount_fallback"] = [k for k in orders if model.fell_back[k - 1]]
    # The same keys as the neural runtime log (metrics/runtime/<name>.json), so `dvc metrics show
    # metrics/runtime` lines every model up in one table.
    runtime = {"wall_time_s": round(fit_seconds, 3),
               "tokens_per_s": round(len(train_ids) / max(fit_seconds, 1e-9))}
    return FittedNgram(model, metrics, runtime)
