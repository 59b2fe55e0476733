"""Gather what the report needs about each model in params: eval and train metrics, curves, samples, settings."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from charlm.errors import CharlmError
from charlm.io import read_json
from charlm.params import Params

# DVCLive files the trainer writes under dvclive/train/<name>/plots/metrics/ (x = "step" = training tokens).
# The forward direction's val bpc is the honest curve for every model, the bilstm included.
CURVE_FILES = {"val_bpc": ("val/bpc_forward.tsv", "bpc_forward"),
               "train_loss_nats": ("train/loss_nats.tsv", "loss_nats"),
               "tokens_per_s": ("tokens_per_s.tsv", "tokens_per_s")}


@dataclass(frozen=True)
class ModelResult:
    name: str
    kind: str                   # "neural" or "n-gram"
    eval: dict                  # metrics/eval/<name>.json (flat keys)
    train: dict                 # metrics/train/<name>.json, or metrics/train/ngram-<name>.json
    settings: dict              # {"models.<name>": ...} or {"ngram.<name>": ...}
    samples: str                # reports/samples/<name>.md
    curve: pd.DataFrame | None  # neural only: tokens, epoch, train_s, val_bpc, train_loss_nats

    @property
    def description(self) -> str:
        """'LSTM 2×256', 'BiLSTM 2×256', 'n-gram, kneser_ney, order 5'."""
        values = next(iter(self.settings.values()))   # models.<name> or ngram.<name>
        if self.kind == "neural":
            arch = {"bilstm": "BiLSTM"}.get(values["arch"], values["arch"].upper())
            return f"{arch} {values['num_layers']}×{values['hidden_size']}"
        return f"n-gram, {values['smoothing']}, order {values['order']}"

    @property
    def train_time_s(self) -> float:
        """Training (neural) or fitting (n-gram) wall time in seconds."""
        return float(self.train["wall_time_s"] if self.kind == "neural" else self.train["fit_seconds"])

    @property
    def tokens_per_s(self) -> float:
        """Training tokens per second (n-grams: training tokens counted per second of fitting)."""
        if self.kind == "neural":
            return float(self.train["tokens_per_s"])
        return self.train["train_tokens"] / max(self.train["fit_seconds"], 1e-9)


def _require(path: Path, name: str, what: str, stage: str) -> Path:
    if not path.is_file():
        raise CharlmError(f"model {name!r} is listed in params but {what} {path} is missing: "
                          f"run `dvc repro {stage}`")
    return path


def read_curve(live_dir: Path, name: str, epoch_tokens: float) -> pd.DataFrame:
    """One row per evaluation: tokens, epoch, train_s (cumulative training time, validation excluded), val_bpc, ..."""
    columns = {}
    for column, (file, field) in CURVE_FILES.items():
        table = pd.read_csv(_require(live_dir / "plots" / "metrics" / file, name, "its DVCLive curve", f"train@{name}"),
                            sep="\t")
        columns[column] = table.set_index("step")[field]
    curve = pd.DataFrame(columns).rename_axis("tokens").reset_index()
    # tokens_per_s is the training speed since the previous evaluation, so Δtokens / speed is that stretch's time.
    curve["train_s"] = (curve["tokens"].diff().fillna(curve["tokens"]) / curve["tokens_per_s"]).cumsum()
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
        train = read_json(_require(train_dir / (f"{name}.json" if neural else f"ngram-{name}.json"),
                                   name, "its training metrics", train_stage))
        samples = _require(samples_dir / f"{name}.md", name, "its samples", eval_stage).read_text("utf-8")
        if neural:
            settings = {f"models.{name}": dataclasses.asdict(params.models[name])}
            epoch_tokens = train["tokens_seen"] / train["epochs"] if train["epochs"] else np.inf
            curve = read_curve(live_dir / name, name, epoch_tokens)
        else:
            settings, curve = {f"ngram.{name}": dataclasses.asdict(params.ngram[name])}, None
        results.append(ModelResult(name, "neural" if neural else "n-gram", evaluation, train, settings, samples, curve))
    return results
