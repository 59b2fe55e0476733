"""Safe checkpoint files: written atomically with torch.save, read only with `weights_only=True`.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts (never a pickled module or
class), tagged with a `format` string so a model file and a resume file cannot be mistaken for each other.
"""
from __future__ import annotations

import io
import pickle
import re
from pathlib import Path

import torch
from torch import nn

from charlm.errors import CharlmError
from charlm.io import atomic_write
from charlm.params import ARCH_PARAMS, ModelParams

MODEL_FORMAT = "charlm-model-1"


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """torch.save `payload` atomically: a kill mid-write leaves the previous file intact."""
    # Through memory: torch.save names the zip's root folder after the file, and the temp name is random.
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write(path, buffer.getvalue())


def load_checkpoint(path: str | Path, fmt: str) -> dict:
    """The dict saved at `path`; anything unreadable, pickled code or another format is a CharlmError."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CharlmError(f"{path}: checkpoint not found") from None
    except pickle.UnpicklingError as e:
        # torch's weights_only unpickler names what it refused on a "WeightsUnpickler error:" line.
        found = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\. |\n|$)", str(e))
        reason = found.group(1).strip() if found else _first_line(e)
        if "global" in reason.lower():
            raise CharlmError(f"{path}: refused to load: it contains pickled Python objects, not just tensors "
                              f"({reason}); charlm only reads weights_only checkpoints") from None
        raise CharlmError(f"{path}: corrupt or not a torch checkpoint ({reason})") from None
    except Exception as e:  # zip/EOF/runtime errors all mean the same thing: a broken file
        raise CharlmError(f"{path}: corrupt or truncated checkpoint ({type(e).__name__}: {_first_line(e)})") from None
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CharlmError(f"{path}: not a {fmt} checkpoint (found {found!r})")
    return payload


def model_payload(model: nn.Module, params: ModelParams, vocab_size: int, vocab_fingerprint: str,
                  summary: dict) -> dict:
    """What models/<name>.pt holds: weights, the params that rebuild the model, the vocab fingerprint."""
    return {"format": MODEL_FORMAT, "params": params.model_dump(), "vocab_size": vocab_size,
            "vocab_fingerprint": vocab_fingerprint, "state_dict": cpu_state(model), "summary": summary}


def load_model(path: str | Path, vocab) -> tuple[nn.Module, ModelParams, dict]:
    """(model in eval mode on the CPU, its params, its training summary); checks the vocab fingerprint."""
    from charlm.models import build_model  # the factory imports this module's neighbours

    path = Path(path)
    payload = load_checkpoint(path, MODEL_FORMAT)
    if payload["vocab_fingerprint"] != vocab.fingerprint or payload["vocab_size"] != len(vocab):
        raise CharlmError(f"{path}: trained on a different vocabulary (fingerprint "
                          f"{payload['vocab_fingerprint'][:12]}…, this vocab {vocab.fingerprint[:12]}…); "
                          f"retrain it or pass the vocab it was built with")
    try:
        # `role` says where the report lists a model, not what it is: checkpoints saved before it existed
        # still load (as part of the comparison).
        raw = {"role": "compare", **payload["params"]}
        params = ARCH_PARAMS[raw["arch"]](**raw)
        model = build_model(params, payload["vocab_size"])
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CharlmError(f"{path}: model does not match its saved params ({_first_line(e)})") from None
    return model.eval(), params, payload.get("summary", {})


def cpu_state(model: nn.Module) -> dict:
    """A CPU copy of the model's state_dict that later training steps leave untouched."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
