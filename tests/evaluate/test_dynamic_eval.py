"""Dynamic evaluation (evaluate/dynamic.py): each segment is scored before the model learns from it, the model
adapts to repeated text, no update means static scores, runs are reproducible and the caller's model is left
alone; metrics gain `dynamic.*` keys and data/scores `dynamic.<split>.npy`; `<split>.oov_rate` counts <unk>."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import charlm.evaluate.run
from charlm.errors import CharlmError
from charlm.evaluate.dynamic import Update, dynamic_nll
from charlm.evaluate.metrics import evaluate_lm
from charlm.evaluate.scores import load_scores, save_scores
from charlm.evaluate.splits import BookSpan, EvalSplit, load_eval_split, token_layout
from charlm.models import build_model
from charlm.models.checkpoint import model_payload, save_checkpoint
from charlm.models.lm import NeuralLM
from charlm.models.scoring import stream_nll
from charlm.data.vocab import Vocab
from charlm.params import ARCH_PARAMS, DynamicEvalParams, TransformerParams, load_params
from causality import causality_breaks
from fake_lm import BigramLM, write_eval_inputs
from helpers import TINY_PARAMS

VOCAB = 11
CONTEXT = 16   # the tiny transformer's window: shorter than the texts, so segments cross window slides


def lstm(arch: str = "lstm"):
    torch.manual_seed(0)
    return build_model(ARCH_PARAMS[arch](arch=arch, role="compare", num_layers=1, hidden_size=16, embedding_size=8,
                                         input="embedding", dropout=0.0, tie_weights=False, train={}), VOCAB)


def transformer():
    torch.manual_seed(0)
    return build_model(TransformerParams(arch="transformer", role="compare", num_layers=1, hidden_size=16,
                                         num_heads=2, context=CONTEXT, stride=4, dropout=0.0, train={}), VOCAB)


MODELS = {"lstm": lstm, "transformer": transformer}
RATES = {"sgd": 1.0, "rms": 0.01}   # large enough that every update visibly changes the scores


def dynamic(optimizer: str = "sgd", lr: float | None = None, segment: int = 8, decay: float = 0.0):
    return DynamicEvalParams(models=[], segment=segment, optimizer=optimizer, lr=lr or RATES[optimizer], decay=decay)


def random_tokens(n: int = 60, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, VOCAB, n)


def changed_after(tokens: np.ndarray, t: int) -> np.ndarray:
    edited = tokens.copy()
    edited[t + 1:] = (edited[t + 1:] + 1 + np.arange(len(tokens) - t - 1)) % VOCAB   # every later token differs
    return edited


def learn_then_score(lm, tokens: np.ndarray, params: DynamicEvalParams) -> np.ndarray:
    """The leak the causality check must catch: each segment learned from *before* it is scored."""
    model, x, out, state = copy.deepcopy(lm).eval(), torch.as_tensor(tokens), [], None
    update = Update(model, params)
    for start in range(0, len(x) - 1, params.segment):
        inputs, targets = x[None, start:start + params.segment], x[start + 1:start + 1 + params.segment]
        update(F.cross_entropy(model(inputs[:, :len(targets)], state)[0][0], targets))
        logits, state = model(inputs[:, :len(targets)], state)
        out.append(F.cross_entropy(logits[0], targets, reduction="none").detach())
        state = tuple(s.detach() for s in state)
    return torch.cat(out).double().numpy()


# t: the last unchanged token. Segments of 8 inputs: the first changed target (index t) falls mid-segment
# (t=20), last in a segment (t=23) or first in one (t=24).
@pytest.mark.parametrize("optimizer", ["sgd", "rms"])
@pytest.mark.parametrize("arch", MODELS)
@pytest.mark.parametrize("t", [20, 23, 24])
def test_scores_never_depend_on_later_text(arch, optimizer, t):
    model, tokens = MODELS[arch](), random_tokens()
    a = dynamic_nll(model, tokens, dynamic(optimizer))
    b = dynamic_nll(model, changed_after(tokens, t), dynamic(optimizer))
    # nll[j] is token j+1's: tokens 1..t were scored before anything after them was read or learned from.
    assert np.array_equal(a[:t], b[:t])
    assert not np.allclose(a[t + 1:], b[t + 1:])
    # And token t counts only as its own target (float32 scores: its probabilities sum to 1 within 1e-5).
    assert causality_breaks(lambda x: dynamic_nll(model, x, dynamic(optimizer)), tokens, t, VOCAB, atol=1e-5) == []
    static = stream_nll(model, torch.as_tensor(tokens), 1).numpy()
    assert not np.allclose(a[8:t], static[8:t], atol=1e-3)   # the updates did change the scores


@pytest.mark.parametrize("t", [20, 23, 24])
def test_the_causality_check_catches_learning_before_scoring(t):
    # Token 24 is the last target of its segment (17..24): nothing after it is learned from before token 24 is
    # scored, so changing only later text misses this leak there. Changing token t itself shows it at every t:
    # the earlier costs of its segment move, and token t's costs over its possible values sum to more than 1.
    model, tokens = lstm(), random_tokens()
    breaks = causality_breaks(lambda x: learn_then_score(model, x, dynamic()), tokens, t, VOCAB, atol=1e-5)
    assert any("change when token" in line for line in breaks), breaks
    assert any("sum to probability" in line for line in breaks), breaks
    assert any("text after" in line for line in breaks) == (t != 24), breaks


@pytest.mark.parametrize("optimizer", ["sgd", "rms"])
@pytest.mark.parametrize("arch", MODELS)
def test_repeated_text_costs_less_once_seen(arch, optimizer):
    phrase = np.array([2, 5, 3, 1, 9, 4, 4, 7, 1, 6, 2, 8, 1])   # 13 tokens, not a multiple of the segment
    tokens = np.tile(phrase, 30)
    model = MODELS[arch]()   # untrained: its static loss is flat, about 2.38 nats on every repeat
    static = stream_nll(model, torch.as_tensor(tokens), 1).numpy()
    adapted = dynamic_nll(model, tokens, dynamic(optimizer))
    late = slice(len(tokens) // 2, None)
    assert adapted[late].mean() < static[late].mean() - 0.1, (adapted[late].mean(), static[late].mean())


@pytest.mark.parametrize("lr, decay", [(1e-12, 0.0), (0.5, 1 - 1e-7)], ids=["lr-to-0", "decay-to-1"])
@pytest.mark.parametrize("arch", MODELS)
def test_without_updates_it_is_the_one_stream_static_score(arch, lr, decay):
    model, tokens = MODELS[arch](), random_tokens(70, seed=1)
    static = stream_nll(model, torch.as_tensor(tokens), 1).numpy()
    np.testing.assert_allclose(dynamic_nll(model, tokens, dynamic("sgd", lr, segment=7, decay=decay)), static,
                               rtol=0, atol=1e-5)


@pytest.mark.parametrize("arch", MODELS)
def test_runs_are_identical_and_the_callers_model_is_untouched(arch):
    model, tokens = MODELS[arch](), random_tokens()
    model.train()
    before = copy.deepcopy(model.state_dict())
    threads = torch.get_num_threads()
    a = dynamic_nll(model, tokens, dynamic("rms", decay=0.1))
    b = dynamic_nll(model, tokens, dynamic("rms", decay=0.1))
    assert a.dtype == np.float64 and a.shape == (len(tokens) - 1,)
    assert a.tobytes() == b.tobytes()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.training and torch.get_num_threads() == threads


def test_a_segment_must_fit_the_transformers_window():
    model, tokens = transformer(), random_tokens()
    dynamic_nll(model, tokens, dynamic(segment=CONTEXT - 1))
    with pytest.raises(CharlmError, match=rf"^evaluate\.dynamic\.segment: {CONTEXT} tokens .* at most {CONTEXT - 1}$"):
        dynamic_nll(model, tokens, dynamic(segment=CONTEXT))


def test_divergence_names_the_learning_rate():
    # lr 1e30 blows the LSTM up on any CPU: AVX2 kernels overflow to nan, AVX-512 ones saturate the gates
    # to finite costs of ~1e30 nats. The rule (charlm.divergence, tested on both kinds of sequence) sees both.
    with pytest.raises(CharlmError, match=r"^evaluate\.dynamic\.lr: dynamic evaluation diverged at token \d+ "
                                          r"\(.*\); lower the lr \(1e\+30\)$"):
        dynamic_nll(lstm(), random_tokens(200), dynamic("sgd", lr=1e30, segment=4))


class ScriptedLM(torch.nn.Module):
    """Logits read from a table, position by position, so each token's nll is whatever the test wrote.
    One weight takes part (times 0), so updates run; `calls` counts the segments scored (a class
    attribute: dynamic_nll runs a copy of the model)."""
    calls = 0

    def __init__(self, nll: np.ndarray):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(()))
        # Target token 0 has logit 0, token 1 the gap that makes -log p(0) = log(1 + e^gap) the wanted nll.
        with np.errstate(over="ignore", invalid="ignore"):
            gap = np.where(nll > 30, nll, np.log(np.expm1(nll)))
        self.table = torch.full((len(nll), VOCAB), -1e4)
        self.table[:, 0], self.table[:, 1] = 0.0, torch.as_tensor(gap, dtype=torch.float32)
        ScriptedLM.calls = 0

    def forward(self, tokens, state=None):
        start = 0 if state is None else int(state)
        ScriptedLM.calls += 1
        logits = self.table[start:start + tokens.shape[1]] + 0.0 * self.weight
        return logits[None], torch.tensor(start + tokens.shape[1])


@pytest.mark.parametrize("bad", [3.5e29, np.inf, np.nan])
def test_divergence_stops_at_the_segment_where_it_happens(bad):
    nll = np.full(200, 1.5)
    nll[93] = bad                                  # scored token 94, in the segment of tokens 89..96
    nll[150] = np.nan                              # never reached
    tokens = np.zeros(201, dtype=np.int64)
    healthy = dynamic_nll(ScriptedLM(np.full(200, 1.5)), tokens, dynamic("sgd", lr=0.1, segment=8))
    assert np.allclose(healthy, 1.5) and ScriptedLM.calls == 25   # the script works, and is read whole
    with pytest.raises(CharlmError, match=r"^evaluate\.dynamic\.lr: dynamic evaluation diverged at token 94 "):
        dynamic_nll(ScriptedLM(nll), tokens, dynamic("sgd", lr=0.1, segment=8))
    assert ScriptedLM.calls == 12                  # segments 1..12: it stopped at the one with token 94


def test_a_bilstm_adapts_its_forward_lm_only():
    model, tokens = lstm("bilstm"), random_tokens()
    lm = NeuralLM("bilstm", model, 1, torch.device("cpu"))
    expected = dynamic_nll(model.forward_lm, tokens, dynamic())
    assert lm.dynamic_nll(tokens, dynamic()).tobytes() == expected.tobytes()


# ------------------------------------------------------------------------- metrics, scores files, oov_rate
@pytest.fixture(scope="module")
def eval_params():
    return load_params(TINY_PARAMS).evaluate


def test_dynamic_metrics_repeat_every_static_key(tmp_path, eval_params):
    interim, processed, vocab = write_eval_inputs(tmp_path)
    splits = [load_eval_split(s, processed, interim, vocab) for s in ("val", "test")]
    lm = BigramLM(np.load(processed / "train.npy"), len(vocab))
    static, _ = evaluate_lm(lm, splits, eval_params, len(vocab))
    metrics, nll = evaluate_lm(lm, splits, eval_params, len(vocab), dynamic=True)
    assert {k: v for k, v in metrics.items() if not k.startswith(("dynamic.", "stream."))} == static
    split_keys = sorted(k for k in static if k.startswith(("val.", "test.")))
    for mode in ("dynamic", "stream"):
        assert sorted(k[len(mode) + 1:] for k in metrics if k.startswith(f"{mode}.")) == split_keys
    assert sorted(nll) == ["dynamic.test", "dynamic.val", "stream.test", "stream.val", "test", "val"]
    for split in splits:
        expected = lm.dynamic_nll(split.tokens, eval_params.dynamic)
        assert nll[f"dynamic.{split.name}"].dtype == np.float32
        assert nll[f"dynamic.{split.name}"] == pytest.approx(expected, rel=1e-6)
        assert nll[f"stream.{split.name}"] == pytest.approx(lm.token_nll(split.tokens, "forward", 1), rel=1e-6)
        assert metrics[f"dynamic.{split.name}.bpc"] < metrics[f"{split.name}.bpc"]   # the fake adapts


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_the_one_stream_baseline_is_dynamic_evaluation_without_learning(arch):
    """The dynamic gain is stream − dynamic: with lr 0 dynamic evaluation learns nothing, so the two must agree,
    and the gain measures adaptation alone. The static score of several streams is another number."""
    model, tokens = MODELS[arch](), random_tokens(200)
    lm = NeuralLM(arch, model, 1, torch.device("cpu"))
    frozen = dynamic().model_copy(update={"lr": 0.0})
    one_stream = lm.token_nll(tokens, "forward", 1)
    assert lm.dynamic_nll(tokens, frozen) == pytest.approx(one_stream, rel=1e-5, abs=1e-6)
    if arch == "lstm":   # four streams start three times from a blank state: other scores at the cuts
        assert not np.allclose(lm.token_nll(tokens, "forward", 4), one_stream, rtol=1e-5, atol=1e-6)


def test_a_model_that_cannot_adapt_is_an_error(tmp_path, eval_params):
    interim, processed, vocab = write_eval_inputs(tmp_path)
    splits = [load_eval_split(s, processed, interim, vocab) for s in ("val", "test")]
    bigram = BigramLM(np.load(processed / "train.npy"), len(vocab))

    class StaticOnly:   # an n-gram model's surface: token_nll, but no dynamic_nll
        name, directions, num_parameters, token_nll = "kn4", bigram.directions, 1, bigram.token_nll

    lm = StaticOnly()
    evaluate_lm(lm, splits, eval_params, len(vocab))
    with pytest.raises(CharlmError, match=r"^evaluate\.dynamic\.models: model 'kn4' cannot adapt"):
        evaluate_lm(lm, splits, eval_params, len(vocab), dynamic=True)


def test_the_stage_scores_listed_models_dynamically_and_saves_their_scores(tmp_path, monkeypatch):
    interim, processed, vocab = write_eval_inputs(tmp_path)
    monkeypatch.setattr(charlm.evaluate.run, "load_lm",
                        lambda path, vocab_: BigramLM(np.load(processed / "train.npy"), len(vocab_)))
    params = load_params(TINY_PARAMS)
    adapting = params.evaluate.dynamic.models[0]
    static_only = next(name for name in params.models if name not in params.evaluate.dynamic.models)
    nll = {}
    for name, listed in ((adapting, True), (static_only, False)):
        model = tmp_path / f"{name}.pt"
        model.write_bytes(b"stand-in checkpoint")
        metrics, _, nll[name] = charlm.evaluate.run.evaluate_model(name, model, processed, interim,
                                                                   processed / "vocab.json", params)
        assert ("dynamic.test.bpc" in metrics) == listed and ("dynamic.val" in nll[name]) == listed
        save_scores(tmp_path / "scores" / name, nll[name])
    files = sorted(p.name for p in (tmp_path / "scores" / adapting).iterdir())
    kept = ["dynamic.logp.test.npy", "dynamic.logp.val.npy", "logp.test.npy", "logp.val.npy"]   # evaluate.distributions
    assert adapting in params.evaluate.distributions
    assert files == sorted(["dynamic.test.npy", "dynamic.val.npy", "stream.test.npy", "stream.val.npy", "test.npy",
                            "val.npy", *kept])
    tokens = len(np.load(processed / "val.npy"))
    assert np.array_equal(load_scores(tmp_path / "scores" / adapting, "dynamic.val", tokens, f"evaluate@{adapting}"),
                          nll[adapting]["dynamic.val"])
    with pytest.raises(CharlmError, match=rf"{static_only}/dynamic\.val\.npy: not found "
                                          rf"\(run `dvc repro evaluate@{static_only}`\)$"):
        load_scores(tmp_path / "scores" / static_only, "dynamic.val", tokens, f"evaluate@{static_only}")


def test_a_saved_neural_model_gets_dynamic_scores_from_its_forward_direction(tmp_path):
    interim, processed, vocab = write_eval_inputs(tmp_path)
    params = load_params(TINY_PARAMS)
    name = params.evaluate.dynamic.models[0]
    torch.manual_seed(0)
    model = build_model(params.models[name], len(vocab))
    save_checkpoint(tmp_path / "m.pt", model_payload(model, params.models[name], len(vocab), vocab.fingerprint, {}))
    metrics, _, nll = charlm.evaluate.run.evaluate_model(name, tmp_path / "m.pt", processed, interim,
                                                         processed / "vocab.json", params)
    tokens = np.load(processed / "val.npy")
    expected = dynamic_nll(model, tokens, params.evaluate.dynamic)
    assert nll["dynamic.val"].tobytes() == expected.astype(np.float32).tobytes()
    assert metrics["dynamic.val.tokens"] == metrics["val.tokens"] == len(tokens) - 1
    assert metrics["dynamic.val.bpc"] != metrics["val.bpc"]


def test_oov_rate_is_the_share_of_scored_tokens_that_are_unk(tmp_path, eval_params):
    vocab = Vocab("word", ("<unk>", "the", "whale"))
    text = "the whale ahab the whale the ishmael whale"   # ids 1 2 0 1 2 1 0 2: two of 7 scored tokens unknown
    widths, starts = token_layout(text, "word")
    tokens = vocab.encode(text)
    split = EvalSplit("val", tokens, widths, starts, (BookSpan(1, "One", 0, len(tokens)),))
    lm = BigramLM(np.array([1, 2, 1, 2, 0, 1]), len(vocab), directions=("forward", "backward"))
    metrics, _ = evaluate_lm(lm, [split], eval_params.model_copy(update={"dynamic": dynamic(segment=3)}), len(vocab),
                             dynamic=True)
    assert metrics["val.oov_rate"] == metrics["dynamic.val.oov_rate"] == round(2 / 7, 6) == 0.285714
    assert metrics["backward.val.oov_rate"] == round(2 / 7, 6)   # it scores tokens 0..6: the same two

    interim, processed, vocab = write_eval_inputs(tmp_path)   # a character vocabulary knows every character
    splits = [load_eval_split(s, processed, interim, vocab) for s in ("val", "test")]
    metrics, _ = evaluate_lm(BigramLM(np.load(processed / "train.npy"), len(vocab)), splits, eval_params, len(vocab))
    assert metrics["val.oov_rate"] == metrics["test.oov_rate"] == 0
