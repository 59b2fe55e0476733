"""Score a model on the val and test splits and return flat, rounded metrics for metrics/eval/<name>.json
(and the per-token nll behind them, for data/scores/<name>: scores.py).

Keys (all numbers, so `dvc metrics diff` shows them side by side; every one is in docs/metrics.md):

    test.bpc  test.nats  test.ppl  test.tokens  test.chars  test.bpc_ci_low  test.bpc_ci_high
    test.book.<id>.bpc  test.book.<id>.chars  test.oov_rate  val.bpc  val.nats  val.ppl  val.tokens
    val.chars  val.oov_rate  num_parameters  vocab_size

`nats` and `ppl` are per token (cross-entropy and perplexity); `bpc` is bits per character of the
cleaned text (splits.py); `oov_rate` the fraction of scored tokens that are <unk>, which cost a model
nothing to spell out. A model with a backward direction (the ELMo-style bilstm) also gets
`backward.<same keys>` and `mean.<split>.{bpc,nats,ppl}`; the unprefixed keys are always the forward,
causal direction, and only those are ever used to rank models. A model under evaluate.dynamic.models
also gets `dynamic.<same keys>`: its forward direction under dynamic evaluation (dynamic.py), and
`stream.<same keys>`: the same frozen weights reading each split as one stream, as dynamic evaluation
reads it. The dynamic gain is stream − dynamic: both read the same stream, so the gain is adaptation
alone, not also the difference between one stream and `batch_size` streams cut from the text.
"""
from __future__ import annotations

import math

import numpy as np

from charlm.errors import CharlmError
from charlm.evaluate.splits import EvalSplit
from charlm.evaluate.summary import rounded, split_metrics
from charlm.lm import LanguageModel
from charlm.params import EvaluateParams

# What each scoring run adds in front of the keys: the unprefixed keys are the forward, causal direction.
PREFIXES = {"forward": "", "backward": "backward.", "stream": "stream.", "dynamic": "dynamic."}


def score(lm: LanguageModel, split: EvalSplit, direction: str, params: EvaluateParams, distribution: bool = False
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(nll in nats, index of the predicted token), both (N-1,), for every scored token of the split, in text
    order, and with `distribution` (forward and dynamic only) the (N-1, V) float32 log-probabilities the nll
    was read from. direction "dynamic" is the forward direction under dynamic evaluation (neural models only),
    and "stream" the forward direction read as one stream, the way dynamic evaluation reads it."""
    n = len(split.tokens)
    logp = None
    if distribution and direction in ("forward", "dynamic"):
        logp = (lm.dynamic_log_probs(split.tokens, params.dynamic) if direction == "dynamic"
                else lm.log_probs(split.tokens, params.batch_size))
        if logp.shape[0] != n - 1:
            raise CharlmError(f"model {lm.name!r}: {direction} log_probs on {split.name} returned shape "
                              f"{logp.shape} (expected {n - 1} rows)")
        nll = -logp[np.arange(n - 1), split.tokens[1:]].astype(np.float64)
    elif direction == "dynamic":
        nll = np.asarray(lm.dynamic_nll(split.tokens, params.dynamic), dtype=np.float64)
    elif direction == "stream":
        nll = np.asarray(lm.token_nll(split.tokens, "forward", 1), dtype=np.float64)
    else:
        nll = np.asarray(lm.token_nll(split.tokens, direction, params.batch_size), dtype=np.float64)
    if nll.shape != (n - 1,) or not np.isfinite(nll).all():
        raise CharlmError(f"model {lm.name!r}: {direction} token_nll on {split.name} returned shape "
                          f"{nll.shape} (expected {(n - 1,)}) or non-finite values")
    if direction != "backward":
        return nll, np.arange(1, n), logp
    # "backward" scored the reversed text: its j-th loss is for token n-2-j, given the tokens after it.
    return nll[::-1], np.arange(0, n - 1), logp


def evaluate_lm(lm: LanguageModel, splits: list[EvalSplit], params: EvaluateParams, vocab_size: int,
                dynamic: bool = False, distributions: bool = False) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """(all metrics of one model over the given splits, flat keys, rounded for readable diffs; each split's
    forward nll in nats, (N-1,) float32 in text order, for data/scores: "<split>", and with `dynamic`
    (a neural model) also "dynamic.<split>", its scores under dynamic evaluation, and "stream.<split>",
    its static scores read as one stream; with `distributions` also "logp.<split>" (and
    "dynamic.logp.<split>"), the (N-1, V) float32 log-probabilities those scores were read from)."""
    metrics: dict[str, float] = {"num_parameters": int(lm.num_parameters), "vocab_size": int(vocab_size)}
    forward_nll: dict[str, np.ndarray] = {}
    for direction in lm.directions:
        if direction not in ("forward", "backward"):
            raise CharlmError(f"model {lm.name!r}: unknown direction {direction!r}")
    if dynamic and not hasattr(lm, "dynamic_nll"):
        raise CharlmError(f"evaluate.dynamic.models: model {lm.name!r} cannot adapt while scored (only neural "
                          f"models can)")
    for direction in (*lm.directions, "stream", "dynamic") if dynamic else lm.directions:
        for split in splits:
            nll, targets, logp = score(lm, split, direction, params, distributions)
            prefix = PREFIXES[direction]
            metrics.update({prefix + k: v for k, v in split_metrics(split, nll, targets, params).items()})
            if direction != "backward":
                forward_nll[prefix + split.name] = nll.astype(np.float32)
            if logp is not None:
                forward_nll[f"{prefix}logp.{split.name}"] = logp.astype(np.float32)
    if "backward" in lm.directions:
        for split in splits:
            # The mean of the two directions' log-perplexities, as ELMo reports it; never used for ranking.
            nats = (metrics[f"{split.name}.nats"] + metrics[f"backward.{split.name}.nats"]) / 2
            bpc = (metrics[f"{split.name}.bpc"] + metrics[f"backward.{split.name}.bpc"]) / 2
            metrics.update({f"mean.{split.name}.nats": nats, f"mean.{split.name}.ppl": math.exp(nats),
                            f"mean.{split.name}.bpc": bpc})
    return {k: rounded(k, v) for k, v in metrics.items()}, forward_nll
