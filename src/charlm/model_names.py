"""Model names: which params section defines a model (`models` neural, `ngram`), the stages that make it and where
its files sit."""
from __future__ import annotations

from typing import Sequence

from charlm.errors import CharlmError


def model_section(params, name: str, sections: Sequence[str] = ("models", "ngram")) -> str:
    """The first of `sections` that defines model `name`; otherwise a CharlmError listing every defined name."""
    for section in sections:
        if name in getattr(params, section):
            return section
    keys = " or ".join(f"{section}.{name}" for section in sections)
    defined = "; ".join(f"{section}: {', '.join(sorted(getattr(params, section)))}" for section in sections)
    raise CharlmError(f"{keys}: no such model (defined in {defined})")


# The stages dvc.yaml runs for a model, by the params section that defines it: one home for these names.
# train@<model> trains a neural model and its compare.seeds repeats, evaluate@<model> scores them; the one
# stage `ngram` fits and scores every n-gram (a no-op `dvc repro` pays ~50 ms per stage, issue 19).
STAGES = {"models": ("train@{}", "evaluate@{}"), "ngram": ("ngram", "ngram")}

# Where a model's files sit under each output folder (metrics/eval, metrics/train, reports/samples, data/scores,
# models): <folder>/<name> for a neural model, <folder>/ngram/<name> for an n-gram, since one stage writes
# them all and a DVC output is a path, not a pattern. Neither name may be a model's.
NGRAM_FOLDER = "ngram"
SEEDS_FOLDER = "seeds"


def train_stage(params, name: str) -> str:
    """The stage that trains or fits model `name`: `train@<name>` or `ngram`."""
    return STAGES[model_section(params, name)][0].format(name)


def eval_stage(params, name: str) -> str:
    """The stage that scores model `name`: `evaluate@<name>` or `ngram`."""
    return STAGES[model_section(params, name)][1].format(name)


def model_key(params, name: str) -> str:
    """Model `name`'s path under an output folder, without suffix: `<name>` or `ngram/<name>`."""
    return name if model_section(params, name) == "models" else f"{NGRAM_FOLDER}/{name}"


def model_file(params, name: str) -> str:
    """Model `name`'s file under models/: `<name>.pt` or `ngram/<name>.npz`."""
    return f"{model_key(params, name)}{'.pt' if model_section(params, name) == 'models' else '.npz'}"


def repeat_name(name: str, seed: int) -> str:
    """The file name of model `name`'s repeat at `seed` (<name>-s<seed>.pt, scores folder, metrics key); the
    dash keeps it apart from every model name (letters, digits and _)."""
    return f"{name}-s{seed}"


# train@<model> writes it into models/seeds/<model>/ and evaluate@<model> into data/scores/seeds/<model>/: which
# repeats the folder holds, {<model>-s<seed>: seed} ({} for a model outside compare.models). It makes a folder
# without repeats a folder with one file, since DVC warns on every run about an empty output folder.
REPEATS_INDEX = "repeats.json"


def repeats(params, name: str) -> list[tuple[int, str]]:
    """(seed, repeat_name) of each compare.seeds repeat that train@<name> trains and evaluate@<name> scores;
    [] for a model outside compare.models; a name not under `models`: CharlmError."""
    model_section(params, name, ("models",))
    return [(seed, repeat_name(name, seed)) for seed in params.seed_runs(name)[1:]]
