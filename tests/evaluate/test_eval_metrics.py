"""metrics/eval/<name>.json: stable flat keys, bpc arithmetic, per-book consistency, the bidirectional rule."""
from __future__ import annotations

import math

import numpy as np
import pytest

from charlm.errors import CharlmError
from charlm.evaluate.metrics import evaluate_lm
from charlm.evaluate.splits import load_eval_split
from charlm.params import load_params
from fake_lm import BigramLM, write_eval_inputs
from helpers import TINY_PARAMS

SPLIT_KEYS = ["bpc", "chars", "nats", "oov_rate", "ppl", "tokens"]
TEST_KEYS = SPLIT_KEYS + ["bpc_ci_high", "bpc_ci_low", "book.7.bpc", "book.7.chars", "book.9.bpc", "book.9.chars"]
FORWARD_KEYS = sorted(["num_parameters", "vocab_size"] + [f"val.{k}" for k in SPLIT_KEYS]
                      + [f"test.{k}" for k in TEST_KEYS])


@pytest.fixture(scope="module")
def eval_params():
    return load_params(TINY_PARAMS).evaluate.model_copy(update={"bootstrap_samples": 200})


def run(tmp_path, eval_params, token="char", directions=("forward",)):
    interim, processed, vocab = write_eval_inputs(tmp_path, token)
    splits = [load_eval_split(s, processed, interim, vocab) for s in ("val", "test")]
    lm = BigramLM(np.load(processed / "train.npy"), len(vocab), directions=directions)
    metrics, _ = evaluate_lm(lm, splits, eval_params, len(vocab))
    return metrics, lm, splits, interim


def test_keys_are_stable(tmp_path, eval_params):
    metrics, *_ = run(tmp_path, eval_params)
    assert sorted(metrics) == FORWARD_KEYS


def test_char_bpc_is_mean_nats_over_ln2(tmp_path, eval_params):
    metrics, lm, (_, test), _ = run(tmp_path, eval_params)
    nll = lm.token_nll(test.tokens)
    assert metrics["test.tokens"] == metrics["test.chars"] == len(test.tokens) - 1
    assert metrics["test.bpc"] == pytest.approx(nll.mean() / math.log(2), abs=1e-4)
    assert metrics["test.ppl"] == pytest.approx(2 ** metrics["test.bpc"], rel=1e-3)
    assert metrics["test.bpc_ci_low"] < metrics["test.bpc"] < metrics["test.bpc_ci_high"]


def test_word_bpc_divides_by_characters_spaces_included(tmp_path, eval_params):
    metrics, lm, (_, test), interim = run(tmp_path, eval_params, token="word")
    text = (interim / "test.txt").read_text()
    scored_chars = len(text) - len(text.split(" ")[0])   # every character but the unscored first word
    assert metrics["test.chars"] == scored_chars and metrics["test.tokens"] == len(text.split(" ")) - 1
    total_bits = lm.token_nll(test.tokens).sum() / math.log(2)
    assert metrics["test.bpc"] == pytest.approx(total_bits / scored_chars, abs=1e-4)
    assert metrics["test.ppl"] == pytest.approx(math.exp(metrics["test.nats"]), rel=1e-3)


@pytest.mark.parametrize("token", ["char", "word"])
def test_per_book_bpc_weighted_back_equals_overall(tmp_path, eval_params, token):
    metrics, *_ = run(tmp_path, eval_params, token=token, directions=("forward", "backward"))
    for prefix in ("", "backward."):
        chars = [metrics[f"{prefix}test.book.{b}.chars"] for b in (7, 9)]
        bpcs = [metrics[f"{prefix}test.book.{b}.bpc"] for b in (7, 9)]
        assert sum(chars) == metrics[f"{prefix}test.chars"]
        assert np.average(bpcs, weights=chars) == pytest.approx(metrics[f"{prefix}test.bpc"], abs=2e-4)


def test_bidirectional_reports_both_directions_and_their_mean(tmp_path, eval_params):
    metrics, lm, (_, test), _ = run(tmp_path, eval_params, directions=("forward", "backward"))
    forward_only = {k: v for k, v in metrics.items() if not k.startswith(("backward.", "mean."))}
    assert sorted(forward_only) == FORWARD_KEYS
    assert sorted(k[len("backward."):] for k in metrics if k.startswith("backward.")) == \
        sorted(k for k in FORWARD_KEYS if k not in ("num_parameters", "vocab_size"))
    # Backward loss j belongs to original token n-2-j: book 7 (tokens 0..end-1, all scored backward) gets these.
    backward = lm.token_nll(test.tokens, "backward")
    n, end = len(test.tokens), test.books[0].end
    in_book = (n - 2 - np.arange(n - 1)) < end
    assert metrics["backward.test.book.7.bpc"] == pytest.approx(backward[in_book].sum() / math.log(2) / end, abs=1e-4)
    assert metrics["backward.test.bpc"] != metrics["test.bpc"]
    for split in ("val", "test"):
        assert metrics[f"mean.{split}.bpc"] == pytest.approx(
            (metrics[f"{split}.bpc"] + metrics[f"backward.{split}.bpc"]) / 2, abs=1e-4)


def test_the_nll_kept_for_data_scores_is_the_forward_directions_in_float32(tmp_path, eval_params):
    interim, processed, vocab = write_eval_inputs(tmp_path)
    splits = [load_eval_split(s, processed, interim, vocab) for s in ("val", "test")]
    lm = BigramLM(np.load(processed / "train.npy"), len(vocab), directions=("forward", "backward"))
    _, nll = evaluate_lm(lm, splits, eval_params, len(vocab))
    assert sorted(nll) == ["test", "val"]
    for split in splits:
        assert nll[split.name].dtype == np.float32
        assert nll[split.name] == pytest.approx(lm.token_nll(split.tokens, "forward"), rel=1e-6)


def test_bad_token_nll_shape_is_an_error(tmp_path, eval_params):
    interim, processed, vocab = write_eval_inputs(tmp_path)
    splits = [load_eval_split(s, processed, interim, vocab) for s in ("val", "test")]
    lm = BigramLM(np.load(processed / "train.npy"), len(vocab), name="broken")
    lm.token_nll = lambda tokens, direction="forward", batch_size=64: np.zeros(len(tokens))
    with pytest.raises(CharlmError, match="model 'broken': forward token_nll on val returned shape"):
        evaluate_lm(lm, splits, eval_params, len(vocab))
