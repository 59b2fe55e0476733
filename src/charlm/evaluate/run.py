"""The evaluate stage's work: load one trained model, score val and test, generate samples."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from charlm.data.vocab import load_vocab
from charlm.errors import CharlmError
from charlm.evaluate.metrics import evaluate_lm
from charlm.evaluate.samples import generate_samples, samples_markdown
from charlm.evaluate.splits import load_eval_split
from charlm.kernels import kernels_in_use
from charlm.lm import load_lm
from charlm.params import Params
from charlm.model_names import model_section, train_stage


def evaluate_model(name: str, model_path: Path, data_dir: Path, interim_dir: Path, vocab_path: Path,
                   params: Params, samples: bool = True) -> tuple[dict[str, float], str, dict[str, np.ndarray]]:
    """(flat metrics for metrics/eval/<name>.json, markdown for reports/samples/<name>.md ("" when not
    `samples`), forward nll of each split for data/scores/<name>, and of dynamic evaluation when
    evaluate.dynamic.models lists it; its full distributions too when evaluate.distributions does)."""
    section = model_section(params, name)
    if not model_path.is_file():
        raise CharlmError(f"model {name!r} ({section}.{name} in params) has no checkpoint at {model_path}: "
                          f"run `dvc repro {train_stage(params, name)}`")
    vocab = load_vocab(vocab_path)
    lm = load_lm(model_path, vocab)
    splits = [load_eval_split(split, data_dir, interim_dir, vocab) for split in ("val", "test")]
    metrics, nll = evaluate_lm(lm, splits, params.evaluate, len(vocab), dynamic=name in params.evaluate.dynamic.models,
                               distributions=name in params.evaluate.distributions)
    if not samples:
        return metrics, "", nll
    return metrics, samples_markdown(name, generate_samples(lm, vocab, params.evaluate), params.evaluate), nll


def evaluation_runtime(seconds: float, kernels: str) -> dict:
    """metrics/runtime/evaluate-<name>.json: how long scoring and sampling took, on which CPU kernels (`kernels`
    is runtime.kernels). Never a DVC output, since it differs run to run."""
    return {"wall_time_s": round(seconds, 1), **kernels_in_use(kernels)}
