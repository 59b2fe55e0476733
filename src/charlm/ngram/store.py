"""Saving and loading an NgramModel as .npz: plain arrays only (no pickle), byte-identical across runs."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from charlm.errors import CharlmError
from charlm.io import atomic_path
from charlm.ngram.model import NgramModel

FORMAT = "charlm-ngram-1"
# np.savez stamps each member with the current time; a fixed stamp keeps reruns byte-identical.
_STAMP = (1980, 1, 1, 0, 0, 0)


def _arrays(model: NgramModel, vocab_fingerprint: str) -> dict[str, np.ndarray]:
    arrays = {"format": np.array(FORMAT), "vocab_fingerprint": np.array(vocab_fingerprint),
              "smoothing": np.array(model.smoothing), "order": np.array(model.order, dtype=np.int64),
              "vocab_size": np.array(model.vocab_size, dtype=np.int64), "discounts": model.discounts,
              "fell_back": model.fell_back, "seen": model.seen}
    for k in range(1, model.order + 1):
        arrays[f"keys{k}"] = model.keys[k - 1]
        arrays[f"logp{k}"] = model.logp[k - 1]
        arrays[f"logbow{k}"] = model.logbow[k - 1]
    return arrays


def save_ngram_model(path: str | Path, model: NgramModel, vocab_fingerprint: str) -> None:
    """Write the model and the fingerprint of the vocab it was fitted on, atomically."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in _arrays(model, vocab_fingerprint).items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asarray(array, order="C"), allow_pickle=False)


def load_ngram_model(path: str | Path, vocab_fingerprint: str) -> NgramModel:
    """The model saved at `path`; a file for another vocab or not written by charlm is a CharlmError."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except FileNotFoundError:
        raise CharlmError(f"{path}: model file not found (has its ngram stage run?)") from None
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise CharlmError(f"{path}: not a charlm n-gram model ({e})") from None
    if str(arrays.get("format", "")) != FORMAT:
        raise CharlmError(f"{path}: not a charlm n-gram model (format {FORMAT!r} expected)")
    if str(arrays["vocab_fingerprint"]) != vocab_fingerprint:
        raise CharlmError(f"{path}: fitted on a different vocabulary (fingerprint "
                          f"{str(arrays['vocab_fingerprint'])[:12]}… vs {vocab_fingerprint[:12]}…); "
                          "rerun its ngram stage")
    try:
        order = int(arrays["order"])
        per_order = [tuple(arrays[f"{kind}{k}"] for k in range(1, order + 1)) for kind in ("keys", "logp", "logbow")]
        model = NgramModel(str(arrays["smoothing"]), order, int(arrays["vocab_size"]), *per_order,
                           arrays["discounts"], arrays["fell_back"], arrays["seen"])
    except KeyError as e:
        raise CharlmError(f"{path}: not a charlm n-gram model (missing {e})") from None
    if any(len(a) != len(b) or len(a) != len(c) for a, b, c in zip(*per_order)):
        raise CharlmError(f"{path}: corrupt n-gram model (array lengths differ)")
    return model
