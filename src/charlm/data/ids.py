"""Token-id arrays: the one format the encode stage writes and the train, ngram and evaluate stages read.

A module of its own, so that those stages depend on this file and not on the preprocess stage's code:
editing how preprocess writes its metrics must not retrain a model.

On disk (data/processed/{train,val,test}.npy): a 1-D array of token ids, in the smallest unsigned dtype.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from charlm.errors import CharlmError
from charlm.io import atomic_path


def check_ids(ids, vocab_size: int, what: str) -> np.ndarray:
    """`ids` as a 1-D integer array, checked to lie in 0..vocab_size-1; anything else is a CharlmError naming `what`."""
    arr = np.asarray(ids)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise CharlmError(f"{what}: expected a 1-D array of token ids, got shape {arr.shape} dtype {arr.dtype}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= vocab_size):
        raise CharlmError(f"{what}: token ids must be in 0..{vocab_size - 1}, got {int(arr.min())}..{int(arr.max())}")
    return arr


def save_ids(path: str | Path, ids: np.ndarray) -> None:
    """Write a 1-D token-id array as .npy, atomically (np.save would append .npy to a temp name)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, ids, allow_pickle=False)


def load_ids(path: str | Path, vocab_size: int) -> np.ndarray:
    """1-D token ids from a .npy file written by save_ids; a missing, malformed or out-of-vocab file is a CharlmError."""
    path = Path(path)
    try:
        ids = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CharlmError(f"{path}: not found (run `dvc repro encode`)") from None
    except ValueError as e:
        raise CharlmError(f"{path}: not a token array ({e})") from None
    return check_ids(ids, vocab_size, str(path))
