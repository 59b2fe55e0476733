"""The one check of a stage's --name: which params section defines the model (`models` neural, `ngram`)."""
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
STAGES = {"models": ("train", "evaluate"), "ngram": ("ngram", "evaluate_ngram")}


def train_stage(params, name: str) -> str:
    """The stage that trains or fits model `name`: `train@<name>` or `ngram@<name>`."""
    return f"{STAGES[model_section(params, name)][0]}@{name}"


def eval_stage(params, name: str) -> str:
    """The stage that scores model `name`: `evaluate@<name>` or `evaluate_ngram@<name>`."""
    return f"{STAGES[model_section(params, name)][1]}@{name}"
