"""The headline numbers that DVC lists: one flat file read by `dvc metrics show`, `dvc metrics diff` and
`dvc exp show` (and VS Code's experiments table), a few columns per entry instead of every per-book and
interval key. The detail stays in metrics/eval, metrics/train and metrics/anchor, where the report and
`charlm diff` read it. Key names are those files' (docs/metrics.md), under the entry's name:

    metrics/headline.json            a stage output: what the inputs determine
        <entry>.test.bpc             every evaluated model, <model>.dynamic, every mixture, zpaq
        <entry>.val.bpc
        <model>.train.tokens         neural models (an n-gram's is the whole train split, the same for all)
        <model>.seeds.test.bpc       models with seed repeats: the mean over train.seed and compare.seeds
    metrics/time.json                not an output (a measurement, like metrics/runtime)
        <model>.wall_time_s          neural models' training wall time

Both are written nested at each dot (`{"lstm": {"test": {"bpc": …}}}`): DVC prints the same dotted names,
and VS Code's experiments table groups the columns by entry instead of choking on a dot inside a key.
"""
from __future__ import annotations

from pathlib import Path
from statistics import mean

from charlm.io import read_json
from charlm.model_names import NGRAM_FOLDER


def read_folder(folder: Path) -> dict[str, dict]:
    """{file stem: contents} of the JSON files directly in `folder` (none below it); {} without the folder."""
    return {path.stem: read_json(path) for path in sorted(folder.glob("*.json"))} if folder.is_dir() else {}


def read_entries(folder: Path) -> dict[str, dict]:
    """{entry: metrics} of metrics/eval or metrics/train: <entry>.json and the n-grams' ngram/<entry>.json."""
    return {**read_folder(folder), **read_folder(folder / NGRAM_FOLDER)}


def entry_scores(evals: dict[str, dict]) -> dict[str, float]:
    """`<entry>.{val,test}.bpc` of every file that has a test score (zpaq's skipped note has none); a model
    scored with dynamic evaluation too gets the entry `<model>.dynamic`."""
    out = {}
    for name, metrics in evals.items():
        for entry, prefix in ((name, ""), (f"{name}.dynamic", "dynamic.")):
            if f"{prefix}test.bpc" in metrics:
                out[f"{entry}.test.bpc"] = metrics[f"{prefix}test.bpc"]
                out[f"{entry}.val.bpc"] = metrics[f"{prefix}val.bpc"]
    return out


def read_repeats(folder: Path) -> dict[str, dict[str, dict]]:
    """{model: {repeat: metrics}} from metrics/eval/seeds/<model>.json (evaluate@<model>), models with repeats
    only; {} without the folder."""
    return {model: runs for model, runs in read_folder(folder).items() if runs}


def seed_means(evals: dict[str, dict], repeats: dict[str, dict[str, dict]]) -> dict[str, float]:
    """`<model>.seeds.test.bpc`, the mean over the model's own run and its repeats (read_repeats)."""
    out = {}
    for model, runs in repeats.items():
        bpcs = ([evals[model]["test.bpc"]] if model in evals else []) + [m["test.bpc"] for m in runs.values()]
        if bpcs:
            out[f"{model}.seeds.test.bpc"] = round(mean(bpcs), 4)
    return out


def nest(flat: dict[str, float]) -> dict:
    """{"a.b.c": x} as {"a": {"b": {"c": x}}}, keys sorted at every level."""
    out: dict = {}
    for key, value in sorted(flat.items()):
        *path, leaf = key.split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def headline(evals: dict[str, dict], repeats: dict[str, dict[str, dict]], trains: dict[str, dict],
             anchor: dict | None) -> dict:
    """metrics/headline.json, nested by entry; `trains` are the neural models' (metrics/train/<model>.json)."""
    flat = entry_scores({**evals, **({"zpaq": anchor} if anchor else {})})
    flat |= seed_means(evals, repeats)
    flat |= {f"{name}.train.tokens": metrics["train.tokens"] for name, metrics in trains.items()}
    return nest(flat)


def train_times(trains: dict[str, dict], runtimes: dict[str, dict]) -> dict:
    """metrics/time.json: `<model>.wall_time_s`, each neural model's training wall time in seconds (`trains`: the
    neural models' metrics/train/<model>.json; train@<model>'s repeats are not in it)."""
    return nest({f"{name}.wall_time_s": runtimes[name]["wall_time_s"] for name in trains if name in runtimes})
