"""Read every input of the report into one Inputs: each model's eval and train metrics, curve, samples and
settings; each seed repeat's, mixture's and the context mixer's metrics; the compressor anchor; the test split,
every entry's per-token test nll and the cleaned test text.

Only DVC-tracked inputs are read (never the runtime logs under metrics/runtime), so the report is a
function of params and the tracked outputs, and byte-identical on every rerun. A missing or stale input is a
CharlmError that names the stage which writes it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from charlm.data.vocab import load_vocab
from charlm.errors import CharlmError
from charlm.evaluate.scores import load_scores
from charlm.evaluate.splits import EvalSplit, load_eval_split
from charlm.io import read_json
from charlm.model_names import SEEDS_FOLDER, eval_stage, model_key, repeat_name, repeats, train_stage
from charlm.params import Params
from charlm.report.results import Anchor, CMResult, MixResult, ModelResult

# DVCLive files the trainer writes under dvclive/train/<name>/plots/metrics/ (x = "step" = training tokens).
# The forward direction's val bpc is the honest curve for every model, the bilstm included.
CURVE_FILES = {"val_bpc": ("val/bpc_forward.tsv", "bpc_forward"),
               "train_loss_nats": ("train/loss_nats.tsv", "loss_nats")}

# What every ranked entry needs from its metrics file. An entry whose test.oov_rate is above 0 does not
# pay for every character (an unknown token costs only p(<unk>)), so the report does not rank it.
RANKED_KEYS = ("test.bpc", "test.bpc_ci_low", "test.bpc_ci_high", "val.bpc", "test.oov_rate")


@dataclass(frozen=True)
class ScorePaths:
    scores: Path          # data/scores: <model>/, ngram/<name>/, and each compare.seeds repeat's in seeds/<model>/
    mix: Path             # data/mix


@dataclass(frozen=True)
class ReportPaths:
    """Everything the report stage reads (all DVC-tracked, never metrics/runtime) and writes."""
    eval: Path          # metrics/eval: <name>.json of every model and mixture, ngram/<name>.json, seeds/<model>.json
    train: Path         # metrics/train: <name>.json, ngram/<name>.json
    live: Path          # dvclive/train: each neural model's curves
    samples: Path       # reports/samples: <name>.md, ngram/<name>.md
    data: Path          # metrics/data.json: which books match their pin
    scores: ScorePaths  # per-token test nll: data/scores (models and seed repeats), data/mix
    processed: Path     # data/processed: test.npy and vocab.json (each token's width in characters)
    interim: Path       # data/interim: test.txt and books.json
    anchor: Path        # metrics/anchor/zpaq.json (missing: not measured)
    plots: Path         # out: the PNG charts
    report: Path        # out: reports/report.md (only its folder is used here: links are relative to it)
    passage: Path       # out: reports/bits_passage.html


@dataclass(frozen=True)
class Inputs:
    """Everything the report reads, checked (load)."""
    results: list[ModelResult]          # every model in params, neural first, then n-grams
    mixes: list[MixResult]              # every mixture in params
    cm: CMResult
    anchor: Anchor
    seed_evals: dict[str, list[dict]]   # compare.models entry -> its repeats' eval metrics, compare.seeds order
    split: EvalSplit                    # the test split: each token's width and character offset
    nll: dict[str, np.ndarray]          # entry id -> (N-1,) test nll in nats (load_nll)
    text: str                           # the cleaned test text
    books: list[tuple[str, int, int]]   # (title, start, end) character offsets of each test book in `text`
    titles: dict                        # book id -> title
    unpinned: list                      # ids of books whose text does not match its sha256 pin


def load(params: Params, paths: ReportPaths) -> Inputs:
    """Every input the report reads (module docstring)."""
    results = collect_results(params, paths.eval, paths.train, paths.live, paths.samples)
    split = load_eval_split("test", paths.processed, paths.interim, load_vocab(paths.processed / "vocab.json"))
    text, books = read_test_text(paths.interim)
    titles = {book.id: book.title for book in params.data.books}
    data_metrics = read_json(paths.data)
    unpinned = [book_id for book_id in titles if not data_metrics["per_book"][str(book_id)]["pinned"]]
    return Inputs(results, collect_mixes(params, paths.eval), read_cm(params, paths.eval), read_anchor(paths.anchor),
                  read_seed_evals(params, paths.eval), split, load_nll(params, paths.scores, len(split.tokens)),
                  text, books, titles, unpinned)


def seed_entry(model: str, seed: int) -> str:
    """The entry id of `model` trained at `seed` (`<model>@<seed>`)."""
    return f"{model}@{seed}"


def repeat_path(folder: Path, model: str, seed: int) -> Path:
    """Where evaluate@<model> keeps the scores of its repeat at `seed` under data/scores: seeds/<model>/<model>-s<seed>."""
    return folder / SEEDS_FOLDER / model / repeat_name(model, seed)


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
        where = model_key(params, name)   # <name> or ngram/<name> under each folder
        eval_path = _require(eval_dir / f"{where}.json", name, "its evaluation", scored_by)
        keys = [*RANKED_KEYS, *(f"dynamic.{key}" for key in RANKED_KEYS if dynamic)]
        evaluation = require_keys(read_json(eval_path), keys, eval_path, scored_by)
        train = read_train_metrics(_require(train_dir / f"{where}.json", name, "its training metrics", trained_by),
                                   trained_by)
        samples = _require(samples_dir / f"{where}.md", name, "its samples", scored_by).read_text("utf-8")
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


def read_seed_evals(params: Params, eval_dir: Path) -> dict[str, list[dict]]:
    """Each compare.models entry's eval metrics at every seed of compare.seeds, in that order, from
    metrics/eval/seeds/<model>.json (evaluate@<model>)."""
    out = {}
    for name in params.compare.models:
        stage = eval_stage(params, name)
        path = _require(eval_dir / SEEDS_FOLDER / f"{name}.json", name, "its repeats' evaluation", stage)
        runs = read_json(path)
        out[name] = []
        for seed, repeat in repeats(params, name):
            if repeat not in runs:
                raise CharlmError(f"{path}: no repeat {repeat!r} (compare.seeds has {seed}): run `dvc repro {stage}`")
            out[name].append(require_keys(runs[repeat], RANKED_KEYS, path, stage))
    return out


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


def read_anchor(path: Path) -> Anchor:
    """The anchor's metrics, or its skip note; a file missing (a run from before the zpaq stage) is a skip too."""
    if not path.is_file():
        return Anchor(None, f"not measured: `{path.as_posix()}` is missing (a run from before the zpaq stage); "
                            "`dvc repro zpaq` measures it.")
    metrics = read_json(path)
    if "skipped" in metrics:
        return Anchor(None, str(metrics["skipped"]))
    return Anchor(require_keys(metrics, ("val.bpc", "test.bpc", "method", "version"), path, "zpaq"))


def load_nll(params: Params, paths: ScorePaths, tokens: int) -> dict[str, np.ndarray]:
    """Every entry's (tokens-1,) test nll in nats, by entry id (charlm.report.compare lists them), each checked
    against the split's length; a missing file: CharlmError."""
    nll = {}
    for name in [*params.models, *params.ngram]:
        stage = eval_stage(params, name)
        folder = paths.scores / model_key(params, name)
        nll[name] = load_scores(folder, "test", tokens, stage)
        if name in params.evaluate.dynamic.models:
            for mode in ("stream", "dynamic"):
                nll[f"{name}.{mode}"] = load_scores(folder, f"{mode}.test", tokens, stage)
    for name in params.mix:
        nll[name] = load_scores(paths.mix / name, "test", tokens, f"mix@{name}")
    nll["cm"] = load_scores(paths.mix / "cm", "test", tokens, "cm")
    for name in params.compare.models:
        nll[seed_entry(name, params.model_train(name).seed)] = nll[name]
        for seed, _ in repeats(params, name):
            nll[seed_entry(name, seed)] = load_scores(repeat_path(paths.scores, name, seed), "test", tokens,
                                                      eval_stage(params, name))
    return nll


def read_test_text(interim_dir: Path) -> tuple[str, list[tuple[str, int, int]]]:
    """The cleaned test text, and (title, start, end) character offsets of each book in it, from books.json."""
    text_path, books_path = interim_dir / "test.txt", interim_dir / "books.json"
    for path in (text_path, books_path):
        if not path.is_file():
            raise CharlmError(f"{path}: not found (run `dvc repro preprocess`)")
    try:
        books = [(str(b["title"]), int(b["start"]), int(b["end"])) for b in read_json(books_path)["test"]]
    except (KeyError, TypeError, ValueError):
        raise CharlmError(f"{books_path}: test: needs a list of books with a title and integer start/end") from None
    return text_path.read_text(encoding="utf-8"), books
