"""The learning rate as a pure function of training progress (so a resumed run repeats it exactly)."""
from __future__ import annotations

import math
from typing import Sequence

from charlm.params import TrainParams


def learning_rate(p: TrainParams, tokens: int, total_tokens: int, plateau_cuts: int = 0) -> float:
    """lr for the step that ends at `tokens` seen: linear warm-up, then constant / cosine / plateau decay."""
    warm = min(1.0, tokens / p.warmup_tokens) if p.warmup_tokens else 1.0
    if p.schedule == "cosine":
        span = max(1, total_tokens - p.warmup_tokens)
        progress = min(1.0, max(0.0, (tokens - p.warmup_tokens) / span))
        decay = p.min_lr_ratio + (1 - p.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    elif p.schedule == "plateau":
        decay = p.plateau_factor ** plateau_cuts
    else:
        decay = 1.0
    return p.lr * warm * decay


def plateau_cuts(val_bpc: Sequence[float]) -> int:
    """How many evaluations failed to improve on the best before them (each one cuts the plateau lr)."""
    best, cuts = math.inf, 0
    for bpc in val_bpc:
        if bpc < best:
            best = bpc
        else:
            cuts += 1
    return cuts


def planned_tokens(p: TrainParams, tokens_per_epoch: int) -> int:
    """The cosine horizon: the token budget, or max_epochs of data if that comes first."""
    return min(p.max_tokens, p.max_epochs * tokens_per_epoch)
