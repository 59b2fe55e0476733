"""The cm stage's work: read train, then score val and test the way the compressor anchor is measured.

    val    train ─read─▶ state S ─▶ read val[0], score val[1:], each character before learning from it
    test   S again, with the mixing state val ended with (mixer weights, SSE and state maps, match trust)
           ─▶ read test[0], score test[1:]
S is kept on disk (a temporary folder) rather than as a second copy of the tables in memory.

The context tables that score test have read train and test so far, never val: the same conditioning as
zpaq's size(train + test) − size(train). What val teaches is only what the hyper-parameters of a model
fitted on val would be: how to weigh the inputs. Members' distributions exist for val and test only, so
on train the mixer learns the context models' weights alone.

Ablation (cm.ablation): val again from S with one component dropped (its inputs 0, or SSE bypassed), the
mixer adapting online without it; the gap to the full model is what that component is worth on val.
"""
from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from charlm.cm.model import MIXING, Components, ContextMixer
from charlm.data.ids import load_ids
from charlm.data.vocab import load_vocab
from charlm.errors import CharlmError
from charlm.evaluate.scores import load_distributions
from charlm.evaluate.splits import EvalSplit, load_eval_split
from charlm.evaluate.summary import rounded, split_metrics
from charlm.model_names import eval_stage, model_key
from charlm.params import Params

LN2 = float(np.log(2))
MAX_SYMBOLS = 62   # a context's run slot stores the symbol in 6 bits (kernel.py)


def member_distributions(params: Params, scores_dir: Path, split: EvalSplit, vocab_size: int) -> np.ndarray:
    """(members, N-1, V) float32 next-token probabilities of cm.members on `split`, from data/scores."""
    out = np.empty((len(params.cm.members), len(split.tokens) - 1, vocab_size), dtype=np.float32)
    for m, member in enumerate(params.cm.members):
        model, _, mode = member.partition(".")
        name = f"{mode}.logp.{split.name}" if mode else f"logp.{split.name}"
        logp = load_distributions(scores_dir / model_key(params, model), name, len(split.tokens), vocab_size, eval_stage(params, model))
        np.exp(logp, out=out[m])
    return out


def ablations(params: Params) -> dict[str, Components]:
    """Each component the ablation drops, by its name in the metrics (ablation.<name>.val.bpc)."""
    n = len(params.cm.members)
    out = {"orders": Components(orders=False), "words": Components(words=False),
           "match": Components(match=False), "sse": Components(sse=False)}
    for m, member in enumerate(params.cm.members):
        out[member] = Components(members=tuple(i != m for i in range(n)))
    if not params.cm.word_contexts:
        del out["words"]
    return out


def new_mixer(params: Params, vocab, vocab_path: Path, train: np.ndarray) -> ContextMixer:
    """A ContextMixer for params.cm over `vocab`, its tree built from `train`'s counts, that has read nothing."""
    v = len(vocab)
    if v > MAX_SYMBOLS:
        raise CharlmError(f"{vocab_path}: {v} tokens; the cm model codes at most {MAX_SYMBOLS} symbols (a character "
                          f"vocabulary, vocab.token: char); remove the cm stage's entry for a word vocabulary")
    space = vocab.tokens.index(" ") if " " in vocab.tokens else -1
    return ContextMixer(params.cm, v, np.bincount(train, minlength=v), space, 0, len(params.cm.members))


def score_after_train(model: ContextMixer, train: np.ndarray, tokens: np.ndarray, members: np.ndarray) -> np.ndarray:
    """(N-1,) nats of tokens[1:], read after train as one text: tokens[0] is context, then each one is scored
    before the model learns from it."""
    text = np.concatenate([train, tokens.astype(np.int64)])
    model.read(text, len(train), len(train) + 1)
    nll, _ = model.score(text, len(train) + 1, members)
    return nll


def fit_on_val(model: ContextMixer, snapshot: Path, train: np.ndarray, val: np.ndarray, members: np.ndarray
               ) -> np.ndarray:
    """Val's nll, scored from the state after train in `snapshot`; the model is then back at that state, but
    with the mixing state val ended with (mixer weights, SSE and state maps, match trust): ready to score another
    text as the test split is scored. The mixing state goes through `snapshot/fitted`, not a copy in memory."""
    model.load_state(snapshot)
    nll = score_after_train(model, train, val, members)
    fitted = snapshot / "fitted"
    fitted.mkdir(exist_ok=True)
    model.save_state(fitted, MIXING)
    model.load_state(snapshot)
    model.load_state(fitted, MIXING)
    return nll


def cm_model(params: Params, data_dir: Path, interim_dir: Path, scores_dir: Path, vocab_path: Path
             ) -> tuple[dict[str, float], dict[str, np.ndarray], dict[str, float]]:
    """(flat rounded metrics for metrics/eval/cm.json, each split's (N-1,) float32 nll for data/mix/cm,
    timings for metrics/runtime/cm.json)."""
    vocab = load_vocab(vocab_path)
    v = len(vocab)
    train = load_ids(data_dir / "train.npy", v).astype(np.int64)
    val, test = (load_eval_split(split, data_dir, interim_dir, vocab) for split in ("val", "test"))
    val_members = member_distributions(params, scores_dir, val, v)
    runtime: dict[str, float] = {}

    started = time.perf_counter()
    model = new_mixer(params, vocab, vocab_path, train)
    model.read(train, 0, len(train))
    runtime["read_train_s"] = time.perf_counter() - started
    runtime["read_train_chars_per_s"] = len(train) / runtime["read_train_s"]

    metrics: dict[str, float] = {"num_members": len(params.cm.members), "vocab_size": v}
    with tempfile.TemporaryDirectory(prefix="charlm-cm-") as snapshot:
        # The state after train, on disk: each pass below starts from it, with one set of tables in memory.
        model.save_state(Path(snapshot))
        if params.cm.ablation:
            started = time.perf_counter()
            for name, components in ablations(params).items():
                model.load_state(Path(snapshot))
                model.use(components)
                metrics[f"ablation.{name}.val.bpc"] = float(score_after_train(model, train, val.tokens, val_members)
                                                            .mean() / LN2)
            runtime["ablation_s"] = time.perf_counter() - started
            model.use(Components())

        started = time.perf_counter()
        nll = {"val": fit_on_val(model, Path(snapshot), train, val.tokens, val_members)}
        del val_members   # one split's members in memory at a time
        nll["test"] = score_after_train(model, train, test.tokens, member_distributions(params, scores_dir, test, v))
    runtime["score_s"] = time.perf_counter() - started
    runtime["score_chars_per_s"] = (len(val.tokens) + len(test.tokens)) / runtime["score_s"]
    runtime["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    for split in (val, test):
        metrics.update(split_metrics(split, nll[split.name], np.arange(1, len(split.tokens)), params.evaluate))
    if params.cm.ablation:
        for name in ablations(params):
            metrics[f"ablation.{name}.val.gain"] = metrics[f"ablation.{name}.val.bpc"] - metrics["val.bpc"]
    return ({k: rounded(k, x) for k, x in metrics.items()}, {k: x.astype(np.float32) for k, x in nll.items()},
            {k: round(x, 1) for k, x in runtime.items()})


def cm_text_nll(params: Params, data_dir: Path, interim_dir: Path, scores_dir: Path, vocab_path: Path,
                tokens: np.ndarray, members: np.ndarray) -> np.ndarray:
    """(N-1,) nats of tokens[1:] under the cm model, read as the stage reads test: after train, with the mixing
    state fitted on val; `members` are params.cm.members' (members, N-1, V) probabilities on `tokens`."""
    vocab = load_vocab(vocab_path)
    train = load_ids(data_dir / "train.npy", len(vocab)).astype(np.int64)
    val = load_eval_split("val", data_dir, interim_dir, vocab)
    model = new_mixer(params, vocab, vocab_path, train)
    model.read(train, 0, len(train))
    with tempfile.TemporaryDirectory(prefix="charlm-cm-") as snapshot:
        model.save_state(Path(snapshot))
        fit_on_val(model, Path(snapshot), train, val.tokens, member_distributions(params, scores_dir, val, len(vocab)))
    return score_after_train(model, train, np.asarray(tokens, dtype=np.int64), members)
