"""The metrics of one scored split, from its per-token nll: what a model's and a mixture's files share.

Kept apart from metrics.py (which scores a model) so the mix stage, which only reads score files, does
not depend on the model code.
"""
from __future__ import annotations

import math

import numpy as np

from charlm.evaluate.bootstrap import block_bootstrap_bpc
from charlm.evaluate.splits import EvalSplit
from charlm.params import EvaluateParams

LN2 = math.log(2)
DECIMALS = {"bpc": 4, "nats": 4, "ppl": 3, "bpc_ci_low": 4, "bpc_ci_high": 4, "oov_rate": 6}
UNK_ID = 0   # Vocab.tokens[0] is always <unk>


def summarise(nll: np.ndarray, widths: np.ndarray) -> dict[str, float]:
    """nats and perplexity per token, bits per character, and the scored token and character counts."""
    nats = float(nll.mean())
    return {"nats": nats, "ppl": math.exp(nats), "bpc": float(nll.sum()) / LN2 / float(widths.sum()),
            "tokens": int(len(nll)), "chars": int(widths.sum())}


def split_metrics(split: EvalSplit, nll: np.ndarray, targets: np.ndarray, params: EvaluateParams) -> dict[str, float]:
    """Unprefixed metrics of one split; the test split also gets its bootstrap CI and per-book bpc."""
    widths = split.widths[targets]
    out = summarise(nll, widths)
    # An <unk> is one cheap guess for a whole unknown word: a split full of them flatters bpc.
    out["oov_rate"] = float(np.mean(split.tokens[targets] == UNK_ID))
    if split.name == "test":
        out["bpc_ci_low"], out["bpc_ci_high"] = block_bootstrap_bpc(
            nll, widths, split.starts[targets], params.bootstrap_block, params.bootstrap_samples, params.seed)
        book_starts = np.array([b.start for b in split.books])
        book = np.searchsorted(book_starts, targets, side="right") - 1   # which book each scored token is in
        nats = np.bincount(book, weights=nll, minlength=len(split.books))
        chars = np.bincount(book, weights=widths, minlength=len(split.books))
        for b, n_nats, n_chars in zip(split.books, nats, chars):
            if n_chars > 0:   # a book with no scored text has no bpc, rather than a 0/0
                out[f"book.{b.id}.bpc"] = n_nats / LN2 / n_chars
                out[f"book.{b.id}.chars"] = int(n_chars)
    return {f"{split.name}.{k}": v for k, v in out.items()}


def rounded(key: str, value: float) -> float:
    # Four decimals of bpc is 0.01% of a typical score: finer digits are noise in `dvc metrics diff`.
    if isinstance(value, int):
        return value
    if key.endswith(".chars") or key.endswith(".tokens"):
        return int(value)
    return round(float(value), DECIMALS.get(key.rsplit(".", 1)[-1], 4))
