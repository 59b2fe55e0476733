"""data/scores/<name>/{val,test}.npy: each scored token's nll, kept so the report can show where the bits go
and the mix stage can interpolate models.

    split text            t h e ␣ w h a l e        (N tokens)
    <split>.npy             . . . . . . . .        (N-1,) float32 nats of tokens 1..N-1, forward (causal) direction
    dynamic.<split>.npy     . . . . . . . .        the same tokens under dynamic evaluation (evaluate.dynamic.models)
    stream.<split>.npy      . . . . . . . .        the same tokens, static, read as one stream (dynamic models too)
    logp.<split>.npy        (N-1, V) float32       the full next-token distributions <split>.npy was read from
    dynamic.logp.<split>.npy                       and dynamic evaluation's (models in evaluate.distributions)

A file's name is its key in the dict save_scores takes and the `split` load_scores reads: "val", "dynamic.val".

Plain .npy files rather than one .npz: np.savez stamps its zip members with the current time, and these
are DVC outputs that must be byte-identical on every rerun.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from charlm.errors import CharlmError
from charlm.io import atomic_path


def save_scores(folder: Path, nll: dict[str, np.ndarray]) -> None:
    """Write each split's (N-1,) nll in nats as <folder>/<split>.npy ("dynamic.val" -> dynamic.val.npy), float32,
    atomically."""
    for split, values in nll.items():
        with atomic_path(folder / f"{split}.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, np.asarray(values, dtype=np.float32), allow_pickle=False)


def load_scores(folder: Path, split: str, tokens: int, stage: str) -> np.ndarray:
    """The (tokens-1,) float32 nll in nats of `split` ("val", or "dynamic.val" for dynamic evaluation's) from
    <folder>/<split>.npy; missing or stale: CharlmError."""
    path = folder / f"{split}.npy"
    if not path.is_file():
        raise CharlmError(f"{path}: not found (run `dvc repro {stage}`)")
    try:
        nll = np.load(path, allow_pickle=False)
    except (ValueError, OSError):
        raise CharlmError(f"{path}: not a .npy array (run `dvc repro {stage}`)") from None
    if nll.shape != (tokens - 1,) or nll.dtype != np.float32:
        raise CharlmError(f"{path}: holds {nll.dtype} {nll.shape}, expected float32 ({tokens - 1},) for the "
                          f"{tokens} tokens of the {split.rpartition('.')[2]} split (run `dvc repro {stage}`)")
    return nll


def load_distributions(folder: Path, split: str, tokens: int, vocab_size: int, stage: str) -> np.ndarray:
    """The (tokens-1, V) float32 log-probabilities of `split` ("logp.val", "dynamic.logp.val") from
    <folder>/<split>.npy; missing or stale: CharlmError naming the file."""
    path = folder / f"{split}.npy"
    if not path.is_file():
        raise CharlmError(f"{path}: not found (is the model in evaluate.distributions? run `dvc repro {stage}`)")
    try:
        logp = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError):
        raise CharlmError(f"{path}: not a .npy array (run `dvc repro {stage}`)") from None
    if logp.shape != (tokens - 1, vocab_size) or logp.dtype != np.float32:
        raise CharlmError(f"{path}: holds {logp.dtype} {logp.shape}, expected float32 ({tokens - 1}, {vocab_size}) "
                          f"(run `dvc repro {stage}`)")
    return np.asarray(logp)
