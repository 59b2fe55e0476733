"""Resume checkpoints: the loop's snapshot plus a fingerprint of everything that determines the run.

A checkpoint whose fingerprint differs (params, vocab, data or training code changed) is stale and
ignored, so a resumed run is always the continuation of *this* run, never of an older one.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

import charlm.models
import charlm.train
from charlm.errors import CharlmError
from charlm.io import dumps_json
from charlm.kernels import cpu_kernels
from charlm.models.checkpoint import load_checkpoint, save_checkpoint
from charlm.params import ModelParams, TrainParams

RESUME_FORMAT = "charlm-resume-1"


def run_fingerprint(model_params: ModelParams, train_params: TrainParams, vocab_fingerprint: str,
                    splits: dict[str, np.ndarray], world_size: int = 1) -> str:
    """sha256 over the resolved params, the world size, the vocab, the token arrays and the models/train code.

    The world size is in it because a snapshot holds one carry and RNG state per process; the launcher
    is not, since it is only the command prefix (python, or torchrun with the same world size). The CPU
    kernels are (charlm.kernels): a run killed on AVX-512 kernels and resumed on AVX2 ones is neither run.
    """
    train = train_params.model_dump(exclude={"launcher"})
    h = hashlib.sha256()
    h.update(dumps_json({"model": model_params.model_dump(), "train": train, "world_size": world_size,
                         "vocab": vocab_fingerprint, "kernels": cpu_kernels()}).encode())
    for name in sorted(splits):
        h.update(name.encode())
        h.update(np.ascontiguousarray(splits[name]).tobytes())
    for package in (charlm.models, charlm.train):
        for source in sorted(Path(package.__file__).parent.glob("*.py")):
            h.update(source.name.encode())
            h.update(source.read_bytes())
    return h.hexdigest()


def save_resume(path: str | Path, fingerprint: str, snapshot: dict) -> None:
    """Write the snapshot atomically: a SIGKILL at any moment leaves the previous checkpoint whole."""
    save_checkpoint(path, {"format": RESUME_FORMAT, "fingerprint": fingerprint, "snapshot": snapshot})


def load_resume(path: str | Path, fingerprint: str) -> dict | None:
    """The saved snapshot if `path` holds one for this exact run; None (with a note on stderr) otherwise."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        payload = load_checkpoint(path, RESUME_FORMAT)
    except CharlmError as e:
        print(f"note: ignoring resume checkpoint: {e}; training from scratch", file=sys.stderr)
        return None
    if payload.get("fingerprint") != fingerprint:
        print(f"note: {path} is from another run (params, data or code changed); training from scratch",
              file=sys.stderr)
        return None
    return payload["snapshot"]
