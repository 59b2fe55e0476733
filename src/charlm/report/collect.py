"""Gather what the report needs: each model's eval and train metrics, curves, samples and settings; each
mixture's metrics; the compressor anchor.

Only DVC-tracked inputs are read (never the runtime logs under metrics/runtime), so the report is a
function of params and the tracked outputs, and byte-identical on every rerun.
"""
from __future__ import annotations

import re

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from charlm.errors import CharlmError
from charlm.io import read_json
from charlm.params import Params, TrainParams
from charlm.report.compare import Comparisons, SeedStats, seed_scores_name
from charlm.model_names import eval_stage, train_stage

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
    role: str | None = None     # neural only: "compare" or "champion" (models.<name>.role)
    dynamic: bool = False       # also scored by dynamic evaluation: the eval has dynamic.* keys

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
        return self.flops_per_token * self.train_tokens

    @property
    def flops_per_token(self) -> float:
        """6·N: the training compute of one token (see train_flops); NaN for n-grams."""
        if self.kind != "neural":
            return float("nan")
        return 6.0 * int(self.eval["num_parameters"])


# What every ranked entry needs from its metrics file. An entry whose test.oov_rate is above 0 does not
# pay for every character (an unknown token costs only p(<unk>)), so the report does not rank it.
RANKED_KEYS = ("test.bpc", "test.bpc_ci_low", "test.bpc_ci_high", "val.bpc", "test.oov_rate")


def _require(path: Path, name: str, what: str, stage: str, section: str = "model") -> Path:
    if not path.is_file():
        raise CharlmError(f"{section} {name!r} is listed in params but {what} {path} is missing: "
                          f"run `dvc repro {stage}`")
    return path


def require_keys(metrics: dict, keys, path: Path, stage: str) -> dict:
    """`metrics` itself; a file from before a key of docs/metrics.md is a CharlmError, not a KeyError."""
    missing = [key for key in keys if key not in metrics]
    if missing:
        raise CharlmError(f"{path}: no key {missing[0]!r} (written by an older charlm?): run `dvc repro {stage}`")
    return metrics


def read_train_metrics(path: Path, stage: str) -> dict:
    """A train metrics file, checked for the key names of docs/metrics.md."""
    return require_keys(read_json(path), ("train.tokens",), path, stage)


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
        trained_by, scored_by = train_stage(params, name), eval_stage(params, name)
        dynamic = name in params.evaluate.dynamic.models
        eval_path = _require(eval_dir / f"{name}.json", name, "its evaluation", scored_by)
        keys = [*RANKED_KEYS, *(f"dynamic.{key}" for key in RANKED_KEYS if dynamic)]
        evaluation = require_keys(read_json(eval_path), keys, eval_path, scored_by)
        train = read_train_metrics(_require(train_dir / (f"{name}.json" if neural else f"ngram-{name}.json"),
                                            name, "its training metrics", trained_by), trained_by)
        samples = _require(samples_dir / f"{name}.md", name, "its samples", scored_by).read_text("utf-8")
        if neural:
            model = params.models[name]
            settings = {f"models.{name}": model.model_dump()}
            epoch_tokens = train["train.tokens"] / train["train.epochs"] if train["train.epochs"] else np.inf
            curve = read_curve(live_dir / name, name, epoch_tokens)
            label, budget, role = model.label(), params.model_train(name), model.role
        else:
            settings, curve = {f"ngram.{name}": params.ngram[name].model_dump()}, None
            label, budget, role = "", None, None
        results.append(ModelResult(name, "neural" if neural else "n-gram", evaluation, train, settings, samples,
                                   curve, label, budget, role, dynamic))
    return results


def collect_seeds(params: Params, results: list[ModelResult], eval_dir: Path) -> list[SeedStats]:
    """Each compare.models entry's test and val bpc at every seed it trains at (Params.seed_runs), in params order;
    the repeats' metrics are metrics/eval/seeds/<model>-s<seed>.json."""
    by_name = {r.name: r for r in results}
    out = []
    for name in params.compare.models:
        evals = [by_name[name].eval]
        for seed in params.compare.seeds:
            repeat = seed_scores_name(name, seed)
            path = _require(eval_dir / "seeds" / f"{repeat}.json", name, f"its seed-{seed} evaluation",
                            f"evaluate_seed@{repeat}")
            evals.append(require_keys(read_json(path), RANKED_KEYS, path, f"evaluate_seed@{repeat}"))
        out.append(SeedStats(name, by_name[name].description, tuple(params.seed_runs(name)),
                             tuple(e["test.bpc"] for e in evals), tuple(e["val.bpc"] for e in evals)))
    return out


@dataclass(frozen=True)
class MixResult:
    name: str
    members: tuple[str, ...]    # "<model>" or "<model>.dynamic", in params order
    cache_order: int            # > 0: the mix has a cache component, `weight.cache`
    eval: dict                  # metrics/eval/<name>.json: keys as a model's, plus weight.<member>

    @property
    def weights(self) -> dict[str, float]:
        """{member: weight fitted on val}, in params order, then "cache"."""
        return {part: self.eval[f"weight.{part}"] for part in self.parts}

    @property
    def parts(self) -> list[str]:
        return [*self.members, *(["cache"] if self.cache_order else [])]


@dataclass(frozen=True)
class CMResult:
    members: tuple[str, ...]    # cm.members: "<model>" or "<model>.dynamic"
    eval: dict                  # metrics/eval/cm.json: keys as a model's, plus ablation.<component>.val.{bpc,gain}

    @property
    def ablation(self) -> dict[str, tuple[float, float]]:
        """{dropped component: (val bpc without it, its gain)}, largest gain first."""
        parts = {m[1]: (self.eval[key], self.eval[f"ablation.{m[1]}.val.gain"])
                 for key in self.eval if (m := re.fullmatch(r"ablation\.(.+)\.val\.bpc", key))}
        return dict(sorted(parts.items(), key=lambda item: -item[1][1]))


def read_cm(params: Params, eval_dir: Path) -> CMResult:
    """The context mixer's metrics (stage cm)."""
    path = _require(eval_dir / "cm.json", "cm", "its evaluation", "cm", section="cm")
    return CMResult(tuple(params.cm.members), read_json(path))


def collect_mixes(params: Params, eval_dir: Path) -> list[MixResult]:
    """A MixResult for every entry under `mix:` in params, in params order."""
    mixes = []
    for name, mix in params.mix.items():
        stage = f"mix@{name}"
        path = _require(eval_dir / f"{name}.json", name, "its evaluation", stage, section="mix")
        result = MixResult(name, tuple(mix.members), mix.cache_order, read_json(path))
        require_keys(result.eval, [*RANKED_KEYS, *(f"weight.{part}" for part in result.parts)], path, stage)
        mixes.append(result)
    return mixes


@dataclass(frozen=True)
class Anchor:
    """The compressor anchor: metrics/anchor/zpaq.json when zpaq ran, else the note saying why it did not."""
    metrics: dict | None
    note: str = ""


def read_anchor(path: Path) -> Anchor:
    """The anchor's metrics, or its skip note; a file missing (a run from before the zpaq stage) is a skip too."""
    if not path.is_file():
        return Anchor(None, f"not measured: `{path.as_posix()}` is missing (a run from before the zpaq stage); "
                            "`dvc repro zpaq` measures it.")
    metrics = read_json(path)
    if "skipped" in metrics:
        return Anchor(None, str(metrics["skipped"]))
    return Anchor(require_keys(metrics, ("val.bpc", "test.bpc", "method", "version"), path, "zpaq"))


@dataclass(frozen=True)
class Collected:
    """What the report shows, loaded and compared (report.run.collect)."""
    results: list[ModelResult]
    mixes: list[MixResult]
    cm: CMResult
    anchor: Anchor
    seeds: list[SeedStats]          # compare.models over their seeds
    static: pd.DataFrame            # table.ranking of every model
    entries: pd.DataFrame           # entries.entry_table: every ranked entry
    comparisons: Comparisons        # the paired tests
    titles: dict                    # book id -> title
    unpinned: list                  # ids of books whose text does not match its sha256 pin
