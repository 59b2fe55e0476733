"""Gather what the report needs about each model in params: eval and train metrics, curves, samples, settings.

Only DVC-tracked inputs are read (never the runtime logs under metrics/runtime), so the report is a
function of params and the tracked outputs, and byte-identical on every rerun.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from charlm.errors import CharlmError
from charlm.io import read_json
from charlm.params import Params, TrainParams

# DVCLive files the trainer writes under dvclive/train/<name>/plots/metrics/ (x = "step" = training tokens).
# The forward direction's val bpc is the honest curve for every model, the bilstm included.
CURVE_FILES = {"val_bpc": ("val/bpc_forward.tsv", "bpc_forward"),
               "train_loss_nats": ("train/loss_nats.tsv", "loss_nats")}

# How the report names each architecture (params use lower case: `models.<name>.arch`).
ARCH_NAMES = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM", "bilstm": "BiLSTM", "transformer": "Transformer"}


@dataclass(frozen=True)
class ModelResult:
    name: str
    kind: str                   # "neural" or "n-gram"
    eval: dict                  # metrics/eval/<name>.json (flat keys)
    train: dict                 # metrics/train/<name>.json, or metrics/train/ngram-<name>.json (same key names)
    settings: dict              # {"models.<name>": ...} or {"ngram.<name>": ...}
    samples: str                # reports/samples/<name>.md
    curve: pd.DataFrame | None  # neural only: tokens, epoch, val_bpc, train_loss_nats
    label: str                  # params' own size label: "lstm 2×256", "transformer 4×128" (neural only)
    budget: TrainParams | None  # neural only: the merged train params (max_tokens is the budget)

    @property
    def description(self) -> str:
        """'LSTM 2×256', 'BiLSTM 2×256', 'Transformer 4×128', 'n-gram, kneser_ney, order 5'."""
        if self.kind == "neural":
            arch, _, size = self.label.partition(" ")
            return f"{ARCH_NAMES.get(arch, arch)} {size}".strip()
        values = self.settings[f"ngram.{self.name}"]
        return f"n-gram, {values['smoothing']}, order {values['order']}"

    @property
    def train_tokens(self) -> int:
        """Tokens trained on (neural: all epochs together), or counted once to fit an n-gram."""
        return int(self.train["train.tokens"])

    @property
    def epochs(self) -> float:
        """Passes over the training split; an n-gram counts it exactly once."""
        return float(self.train["train.epochs"])

    @property
    def train_flops(self) -> float:
        """Estimated training compute, 6·N·D (N weights, D tokens seen): forward ≈ 2·N·D, backward ≈ 4·N·D.

        Deterministic, unlike wall time. It leaves out attention's context-length term and the validation
        passes, both small here. NaN for n-grams, which count rather than train by gradient.
        """
        if self.kind != "neural":
            return float("nan")
        return 6.0 * int(self.eval["num_parameters"]) * self.train_tokens


def _require(path: Path, name: str, what: str, stage: str) -> Path:
    if not path.is_file():
        raise CharlmError(f"model {name!r} is listed in params but {what} {path} is missing: "
                          f"run `dvc repro {stage}`")
    return path


def read_train_metrics(path: Path, stage: str) -> dict:
    """A train metrics file; one from before the names of docs/metrics.md is a CharlmError, not a KeyError."""
    train = read_json(path)
    if "train.tokens" not in train:
        raise CharlmError(f"{path}: no key 'train.tokens' (written by an older charlm?): run `dvc repro {stage}`")
    return train


def read_curve(live_dir: Path, name: str, epoch_tokens: float) -> pd.DataFrame:
    """One row per evaluation: tokens, epoch, val_bpc, train_loss_nats."""
    columns = {}
    for column, (file, field) in CURVE_FILES.items():
        table = pd.read_csv(_require(live_dir / "plots" / "metrics" / file, name, "its DVCLive curve", f"train@{name}"),
                            sep="\t")
        columns[column] = table.set_index("step")[field]
    curve = pd.DataFrame(columns).rename_axis("tokens").reset_index()
    curve["epoch"] = curve["tokens"] / epoch_tokens
    return curve


def collect_results(params: Params, eval_dir: Path, train_dir: Path, live_dir: Path, samples_dir: Path
                    ) -> list[ModelResult]:
    """A ModelResult for every model in params (neural first, then n-grams), in params order."""
    results = []
    for name in [*params.models, *params.ngram]:
        neural = name in params.models
        train_stage, eval_stage = (f"train@{name}", f"evaluate@{name}") if neural else \
            (f"ngram@{name}", f"evaluate_ngram@{name}")
        evaluation = read_json(_require(eval_dir / f"{name}.json", name, "its evaluation", eval_stage))
        train = read_train_metrics(_require(train_dir / (f"{name}.json" if neural else f"ngram-{name}.json"),
                                            name, "its training metrics", train_stage), train_stage)
        samples = _require(samples_dir / f"{name}.md", name, "its samples", eval_stage).read_text("utf-8")
        if neural:
            model = params.models[name]
            settings = {f"models.{name}": model.model_dump()}
            epoch_tokens = train["train.tokens"] / train["train.epochs"] if train["train.epochs"] else np.inf
            curve = read_curve(live_dir / name, name, epoch_tokens)
            label, budget = model.label(), params.model_train(name)
        else:
            settings, curve = {f"ngram.{name}": params.ngram[name].model_dump()}, None
            label, budget = "", None
        results.append(ModelResult(name, "neural" if neural else "n-gram", evaluation, train, settings, samples,
                                   curve, label, budget))
    return results
