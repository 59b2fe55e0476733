"""The mix stage's work: interpolate members' per-token probabilities (and the cache), weights by EM on
val, scored on test; metrics keyed as metrics/eval's plus `weight.<component>`, `num_members` and EM's
`em.converged`, `em.iterations` (a fit stopped by the cap is also a warning line on stderr).

    data/scores/<key>/<split>.npy              member "<model>": its static scores
    data/scores/<key>/dynamic.<split>.npy      member "<model>.dynamic": dynamic evaluation's scores
                                               (<key>: <model>, or ngram/<model> for an n-gram: model_key)
    cache_order > 0                            component "cache": cache.py over the split's own text

Weights are fitted on val only and then applied unchanged to test, so test.bpc is a held-out number.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import numpy as np

from charlm.data.vocab import load_vocab
from charlm.divergence import diverged_at
from charlm.errors import CharlmError
from charlm.evaluate.summary import rounded, split_metrics
from charlm.evaluate.scores import load_scores
from charlm.evaluate.splits import EvalSplit, load_eval_split
from charlm.mix.cache import cache_nll
from charlm.mix.em import MAX_ITERATIONS, fit_weights, mixture_nll
from charlm.model_names import eval_stage, model_key
from charlm.params import MixParams, Params

CACHE = "cache"   # the cache component's name in weight.<component>


def member_nll(scores_dir: Path, member: str, split: EvalSplit, params: Params, vocab_size: int) -> np.ndarray:
    """(N-1,) nll in nats of one member ("<model>" or "<model>.dynamic") on `split`, from data/scores."""
    model, _, mode = member.partition(".")
    stage = eval_stage(params, model)
    # "dynamic.val" reads <model>/dynamic.val.npy, the file dynamic evaluation writes beside val.npy (scores.py).
    file_split = f"{mode}.{split.name}" if mode else split.name
    folder = scores_dir / model_key(params, model)
    nll = load_scores(folder, file_split, len(split.tokens), stage)
    # Dynamic scores can predate the check that now stops a blown-up adaptation (a run cache, a remote), and
    # EM would quietly weight such a member to 0. Static scores cannot blow up after training passed its own
    # check; a merely bad static model (a tiny add-ε, say) is a fair member, so the rule is not for them.
    problem = diverged_at(nll, vocab_size, first_token=1) if mode == "dynamic" else None
    if problem:
        raise CharlmError(f"{folder / file_split}.npy: member {member!r} {problem}; "
                          f"run `dvc repro -f {stage}` again")
    return nll


def component_nll(mix: MixParams, split: EvalSplit, scores_dir: Path, params: Params, vocab_size: int
                  ) -> dict[str, np.ndarray]:
    """{component: (N-1,) float64 nll} of every member, then the cache when mix.cache_order > 0."""
    out = {m: member_nll(scores_dir, m, split, params, vocab_size).astype(np.float64) for m in mix.members}
    if mix.cache_order > 0:
        out[CACHE] = cache_nll(split.tokens, mix.cache_order, vocab_size)
    return out


def mix_model(name: str, params: Params, scores_dir: Path, data_dir: Path, interim_dir: Path, vocab_path: Path,
              warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr)
              ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """(flat rounded metrics for metrics/eval/<name>.json, each split's (N-1,) float32 mixture nll for
    data/mix/<name>) of the mixture `mix.<name>`."""
    if name not in params.mix:
        raise CharlmError(f"mix.{name}: no such mixture (defined: {', '.join(sorted(params.mix)) or 'none'})")
    mix = params.mix[name]
    vocab = load_vocab(vocab_path)
    splits = [load_eval_split(split, data_dir, interim_dir, vocab) for split in ("val", "test")]
    components = {split.name: component_nll(mix, split, scores_dir, params, len(vocab)) for split in splits}
    names = list(components["val"])
    fit = fit_weights(np.stack([components["val"][c] for c in names]))   # on val only
    if not fit.converged:
        warn(f"warning: mix.{name}: EM did not converge in {MAX_ITERATIONS} steps; its weights may be short of "
             "the val optimum (metrics: em.converged false)")
    metrics: dict[str, float] = {"num_members": len(mix.members), "vocab_size": len(vocab),
                                 "em.converged": fit.converged, "em.iterations": fit.iterations}
    metrics.update({f"weight.{c}": float(w) for c, w in zip(names, fit.weights)})
    nll_by_split = {}
    for split in splits:
        nll = mixture_nll(np.stack([components[split.name][c] for c in names]), fit.weights)
        metrics.update(split_metrics(split, nll, np.arange(1, len(split.tokens)), params.evaluate))
        nll_by_split[split.name] = nll.astype(np.float32)
    return {k: rounded(k, v) for k, v in metrics.items()}, nll_by_split
