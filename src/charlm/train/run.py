"""One train stage end to end: seed, build, resume if possible, train, and shape the outputs."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from charlm.errors import CharlmError
from charlm.models import build_model, num_parameters
from charlm.models.checkpoint import model_payload
from charlm.params import Params
from charlm.train.loop import Position, train
from charlm.train.report import Reporter
from charlm.train.resume import load_resume, run_fingerprint, save_resume
from charlm.train.runtime import resolve_device, setup_runtime
from charlm.train.schedule import planned_tokens


@dataclass(frozen=True)
class Fitted:
    model_file: dict      # the best weights + params + vocab fingerprint (no timings: byte-identical reruns)
    metrics: dict         # metrics/train/<name>.json


def fit(params: Params, name: str, vocab, train_ids: np.ndarray, val_ids: np.ndarray, *,
        resume_path: str | Path, live_dir: str | Path | None = None) -> Fitted:
    """Train model `name`, continuing from `resume_path` when it holds this exact run; returns its outputs."""
    if name not in params.models:
        raise CharlmError(f"models.{name}: no such model (defined: {', '.join(sorted(params.models))})")
    model_params, p = params.models[name], params.model_train(name)
    device = resolve_device(p.device)
    setup_runtime(p, device)
    model = build_model(model_params, len(vocab), key=f"models.{name}").to(device)

    fingerprint = run_fingerprint(model_params, p, vocab.fingerprint, {"train": train_ids, "val": val_ids})
    snapshot = load_resume(resume_path, fingerprint)
    history = snapshot["history"] if snapshot else []
    epoch_tokens = ((len(train_ids) - 1) // p.batch_size // p.num_steps) * p.batch_size * p.num_steps
    reporter = Reporter(name, live_dir, planned_tokens(p, epoch_tokens), history)

    def on_eval(row: dict, snap: dict) -> None:
        save_resume(resume_path, fingerprint, snap)  # first: a kill after this line loses nothing
        reporter.eval(row)

    try:
        pos = train(model, torch.from_numpy(train_ids.astype(np.int64)), torch.from_numpy(val_ids.astype(np.int64)),
                    p, resume=snapshot, on_eval=on_eval, on_step=reporter.step)
    finally:
        reporter.close()
    model.load_state_dict(pos.best_model)
    return Fitted(model_payload(model, model_params, len(vocab), vocab.fingerprint, dict(pos.best)),
                  train_metrics(pos, num_parameters(model), epoch_tokens))


def train_metrics(pos: Position, parameters: int, epoch_tokens: int) -> dict:
    """metrics/train/<name>.json: the best evaluation, the budget used, speed and size."""
    best = pos.best
    seen = [0] + [r["tokens"] for r in pos.history]
    train_s = sum((after - before) / r["tokens_per_s"] for before, after, r in zip(seen, seen[1:], pos.history))
    return {
        "best_val_bpc": best["val_bpc"],
        "best_val_nats": best["val_nats"],
        "best_val_perplexity": 2 ** best["val_bpc"],
        "val_bpc_by_direction": {k[len("val_bpc_"):]: v for k, v in best.items() if k.startswith("val_bpc_")},
        "best_step": best["step"],
        "best_tokens": best["tokens"],
        "epochs": round(pos.tokens / epoch_tokens, 3),
        "steps": pos.step,
        "tokens_seen": pos.tokens,
        "evaluations": len(pos.history),
        "stop_reason": pos.stop_reason,
        "num_parameters": parameters,
        "wall_time_s": round(pos.elapsed_s, 1),     # varies run to run, like tokens_per_s (never in the model file)
        "tokens_per_s": round(pos.tokens / max(train_s, 1e-9)),
    }
