"""Score a model on the val and test splits and return flat, rounded metrics for metrics/eval/<name>.json
(and the per-token nll behind them, for data/scores/<name>: scores.py).

Keys (all numbers, so `dvc metrics diff` shows them side by side; every one is in docs/metrics.md):

    test.bpc  test.nats  test.ppl  test.tokens  test.chars  test.bpc_ci_low  test.bpc_ci_high
    test.book.<id>.bpc  test.book.<id>.chars  val.bpc  val.nats  val.ppl  val.tokens  val.chars
    num_parameters  vocab_size

`nats` and `ppl` are per token (cross-entropy and perplexity); `bpc` is bits per character of the
cleaned text (splits.py). A model with a backward direction (the ELMo-style bilstm) also gets
`backward.<same keys>` and `mean.<split>.{bpc,nats,ppl}`; the unprefixed keys are always the forward,
causal direction, and only those are ever used to rank models.
"""
from __future__ import annotations

import math

import numpy as np

from charlm.errors import CharlmError
from charlm.evaluate.bootstrap import block_bootstrap_bpc
from charlm.evaluate.splits import EvalSplit
from charlm.lm import LanguageModel
from charlm.params import EvaluateParams

LN2 = math.log(2)
_DECIMALS = {"bpc": 4, "nats": 4, "ppl": 3, "bpc_ci_low": 4, "bpc_ci_high": 4}


def score(lm: LanguageModel, split: EvalSplit, direction: str, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(nll in nats, index of the predicted token), both (N-1,), for every scored token of the split, in text order."""
    n = len(split.tokens)
    nll = np.asarray(lm.token_nll(split.tokens, direction, batch_size), dtype=np.float64)
    if nll.shape != (n - 1,) or not np.isfinite(nll).all():
        raise CharlmError(f"model {lm.name!r}: {direction} token_nll on {split.name} returned shape "
                          f"{nll.shape} (expected {(n - 1,)}) or non-finite values")
    if direction == "forward":
        return nll, np.arange(1, n)
    # "backward" scored the reversed text: its j-th loss is for token n-2-j, given the tokens after it.
    return nll[::-1], np.arange(0, n - 1)


def summarise(nll: np.ndarray, widths: np.ndarray) -> dict[str, float]:
    """nats and perplexity per token, bits per character, and the scored token and character counts."""
    nats = float(nll.mean())
    return {"nats": nats, "ppl": math.exp(nats), "bpc": float(nll.sum()) / LN2 / float(widths.sum()),
            "tokens": int(len(nll)), "chars": int(widths.sum())}


def split_metrics(split: EvalSplit, nll: np.ndarray, targets: np.ndarray, params: EvaluateParams) -> dict[str, float]:
    """Unprefixed metrics of one split; the test split also gets its bootstrap CI and per-book bpc."""
    widths = split.widths[targets]
    out = summarise(nll, widths)
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


def evaluate_lm(lm: LanguageModel, splits: list[EvalSplit], params: EvaluateParams, vocab_size: int
                ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """(all metrics of one model over the given splits, flat keys, rounded for readable diffs; each split's
    forward nll in nats, (N-1,) float32 in text order, for data/scores)."""
    metrics: dict[str, float] = {"num_parameters": int(lm.num_parameters), "vocab_size": int(vocab_size)}
    forward_nll: dict[str, np.ndarray] = {}
    for direction in lm.directions:
        if direction not in ("forward", "backward"):
            raise CharlmError(f"model {lm.name!r}: unknown direction {direction!r}")
        prefix = "" if direction == "forward" else f"{direction}."
        for split in splits:
            nll, targets = score(lm, split, direction, params.batch_size)
            metrics.update({prefix + k: v for k, v in split_metrics(split, nll, targets, params).items()})
            if direction == "forward":
                forward_nll[split.name] = nll.astype(np.float32)
    if "backward" in lm.directions:
        for split in splits:
            # The mean of the two directions' log-perplexities, as ELMo reports it; never used for ranking.
            nats = (metrics[f"{split.name}.nats"] + metrics[f"backward.{split.name}.nats"]) / 2
            bpc = (metrics[f"{split.name}.bpc"] + metrics[f"backward.{split.name}.bpc"]) / 2
            metrics.update({f"mean.{split.name}.nats": nats, f"mean.{split.name}.ppl": math.exp(nats),
                            f"mean.{split.name}.bpc": bpc})
    return {k: _rounded(k, v) for k, v in metrics.items()}, forward_nll


def _rounded(key: str, value: float) -> float:
    # Four decimals of bpc is 0.01% of a typical score: finer digits are noise in `dvc metrics diff`.
    if isinstance(value, int):
        return value
    if key.endswith(".chars") or key.endswith(".tokens"):
        return int(value)
    return round(float(value), _DECIMALS.get(key.rsplit(".", 1)[-1], 4))
