"""One train stage end to end: seed, build, resume if possible, train, and shape the outputs."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from charlm.divergence import Diverged
from charlm.errors import CharlmError
from charlm.kernels import kernels_in_use
from charlm.model_names import model_section
from charlm.models import build_model, num_parameters
from charlm.models.checkpoint import model_payload
from charlm.params import Params, TrainParams
from charlm.train.batches import tokens_per_epoch
from charlm.train.distributed import Dist, resolve_device
from charlm.train.loop import train
from charlm.train.position import Position
from charlm.train.report import Reporter
from charlm.train.resume import load_resume, run_fingerprint, save_resume
from charlm.train.runtime import setup_runtime
from charlm.train.schedule import planned_tokens


@dataclass(frozen=True)
class Fitted:
    model_file: dict      # the best weights + params + vocab fingerprint (no timings: byte-identical reruns)
    metrics: dict         # metrics/train/<name>.json (seed-determined only)
    runtime: dict         # metrics/runtime/<name>.json: timings, which vary run to run (not a DVC output)


def train_params(params: Params, name: str) -> TrainParams:
    """Model `name`'s resolved train section; an unknown name is a CharlmError listing the defined ones."""
    model_section(params, name, ("models",))
    return params.model_train(name)


def fit(params: Params, name: str, vocab, train_ids: np.ndarray, val_ids: np.ndarray, *,
        resume_path: str | Path, live_dir: str | Path | None = None, dist: Dist | None = None) -> Fitted:
    """Train model `name`, continuing from `resume_path` when it holds this exact run; returns its outputs.

    `dist` (from distributed.session) makes this one rank of a DDP job; only rank 0 reads or writes the
    resume checkpoint and the DVCLive dir. Default: one process on train.device.
    """
    p = train_params(params, name)
    model_params = params.models[name]
    dist = dist or Dist(device=resolve_device(p.device))
    dist.shard(p.batch_size, "train.batch_size")   # a batch the ranks cannot share equally fails before any work
    setup_runtime(p, dist)
    model = build_model(model_params, len(vocab), key=f"models.{name}").to(dist.device)
    if dist.active:
        # Every rank drew the same initial weights from `seed` above; dropout masks must differ per rank,
        # or each rank's rows would share them. (World size 1 keeps its RNG stream untouched.)
        torch.manual_seed(p.seed + dist.rank)

    fingerprint = run_fingerprint(model_params, p, vocab.fingerprint, {"train": train_ids, "val": val_ids},
                                  dist.world_size)
    # Rank 0 reads the checkpoint and hands it to the others: on several machines only its disk has it.
    snapshot = dist.broadcast_object(load_resume(resume_path, fingerprint) if dist.is_main else None)
    history = snapshot["history"] if snapshot else []
    epoch_tokens = tokens_per_epoch(len(train_ids), p.batch_size, p.num_steps)
    reporter = Reporter(name, live_dir, planned_tokens(p, epoch_tokens), history) if dist.is_main else None

    def on_eval(row: dict, snap: dict) -> None:      # the loop calls it on rank 0 only
        save_resume(resume_path, fingerprint, snap)  # first: a kill after this line loses nothing
        reporter.eval(row)

    on_step = reporter.step if reporter is not None else None
    try:
        pos = train(model, torch.from_numpy(train_ids.astype(np.int64)), torch.from_numpy(val_ids.astype(np.int64)),
                    p, resume=snapshot, on_eval=on_eval, on_step=on_step, dist=dist)
    except Diverged as e:
        raise CharlmError(f"{lr_key(params, name)}: {e}") from None
    finally:
        if reporter is not None:
            reporter.close()
    model.load_state_dict(pos.best_model)
    return Fitted(model_payload(model, model_params, len(vocab), vocab.fingerprint, dict(pos.best)),
                  train_metrics(pos, num_parameters(model), epoch_tokens),
                  runtime_log(pos, dist, params.runtime.kernels))


def lr_key(params: Params, name: str) -> str:
    """The dotted key that sets model `name`'s learning rate: its own override, else the shared one."""
    return f"models.{name}.train.lr" if "lr" in params.models[name].train else "train.lr"


def train_metrics(pos: Position, parameters: int, epoch_tokens: int) -> dict:
    """metrics/train/<name>.json (keys: docs/metrics.md): the best evaluation, the budget used and the size.

    A function of the seed. bpc here is bits per token of the val split (per character with a char vocab).
    """
    best = pos.best
    return {
        **best_val_scores(best),
        "best.step": best["step"],
        "best.tokens": best["tokens"],
        "train.epochs": round(pos.tokens / epoch_tokens, 3),
        "train.steps": pos.step,
        "train.tokens": pos.tokens,
        "evaluations": len(pos.history),
        "stop_reason": pos.stop_reason,
        "num_parameters": parameters,
    }


def best_val_scores(best: dict) -> dict:
    """The best evaluation's val scores, named as in metrics/eval: unprefixed is the forward direction.

    The loop picks the best evaluation by `val_bpc`, the mean over the model's directions. With one
    direction that mean is the forward score itself; a bidirectional model reports it as `mean.val.*`
    beside each direction's own bpc, so `val.bpc` never includes a look at the future.
    """
    selected = {"val.bpc": best["val_bpc"], "val.nats": best["val_nats"], "val.ppl": 2 ** best["val_bpc"]}
    directions = {k.removeprefix("val_bpc_"): v for k, v in best.items() if k.startswith("val_bpc_")}
    if len(directions) == 1:
        return selected
    by_direction = {("" if d == "forward" else f"{d}.") + "val.bpc": bpc for d, bpc in directions.items()}
    return {**by_direction, **{f"mean.{k}": v for k, v in selected.items()}}


def runtime_log(pos: Position, dist: Dist, kernels: str) -> dict:
    """metrics/runtime/<name>.json: how long the run took, where, on which CPU kernels (`kernels` is
    runtime.kernels). Never a DVC output, since it differs run to run.

    tokens_per_s counts training time only (no validation or checkpointing), over all processes together;
    the curve has one point per evaluation, with cumulative training and wall-clock seconds.
    """
    return {
        "wall_time_s": round(pos.elapsed_s, 1),
        "tokens_per_s": round(pos.tokens / max(pos.train_s, 1e-9)),
        "world_size": dist.world_size,
        "device": str(dist.device),
        **kernels_in_use(kernels),
        "curve": [{"tokens": r["tokens"], "train_s": round(r["train_s"], 3), "elapsed_s": round(r["elapsed_s"], 3)}
                  for r in pos.history],
    }
