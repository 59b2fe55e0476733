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
