"""Reading the encoded splits that the encode stage wrote."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from charlm.errors import CharlmError


def load_split(path: str | Path, vocab_size: int) -> np.ndarray:
    """1-D token ids from a .npy file; wrong shape/dtype or ids outside the vocab is a CharlmError."""
    path = Path(path)
    try:
        ids = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CharlmError(f"{path}: split not found (has the encode stage run?)") from None
    except ValueError as e:
        raise CharlmError(f"{path}: not a token array ({e})") from None
    if ids.ndim != 1 or ids.dtype.kind not in "ui":
        raise CharlmError(f"{path}: expected 1-D integer token ids, got shape {ids.shape} dtype {ids.dtype}")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise CharlmError(f"{path}: token id {int(ids.max())} outside a vocabulary of {vocab_size}")
    return ids
