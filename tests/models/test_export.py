"""`charlm export`: onnxruntime (and TorchScript) give torch's log-probabilities for every neural architecture,
state carried across chunks by the scoring code that docs/api.md shows; n-gram and missing models are one line."""
from __future__ import annotations

import json
import math
import re
import string
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from charlm.cli import main
from charlm.data.vocab import Vocab, save_vocab
from charlm.export import export_model
from charlm.lm import load_lm
from charlm.models import build_model
from charlm.models.checkpoint import model_payload, save_checkpoint
from helpers import REPO, require_module
from modelkit import small, small_transformer, tiny_vocab

TOLERANCE = 1e-4   # max abs difference in log-probabilities (nats), issue 21

# The bilstm is exported as its forward LM; the transformer's context (8) is shorter than the sequence (30),
# so its windows slide, and its first chunk (13) ends inside a window.
ARCHS = [("rnn", small("rnn", layers=1)), ("gru", small("gru", layers=1)), ("lstm", small("lstm", layers=1)),
         ("lstm-2-layers", small("lstm", layers=2)), ("bilstm-forward", small("bilstm")),
         ("transformer", small_transformer(context=8, stride=3))]


def docs_blocks() -> list[str]:
    """The python blocks of docs/api.md's onnxruntime section: the scoring functions, then their use."""
    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("## Scoring with onnxruntime, without torch", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


@pytest.fixture(scope="module")
def docs() -> dict:
    """zero_state and run, as docs/api.md defines them."""
    namespace: dict = {}
    exec(docs_blocks()[0], namespace)
    return namespace


class TorchScriptSession:
    """What docs/api.md's `run` asks of an onnxruntime session, answered by the TorchScript file."""

    def __init__(self, path):
        extra = {"charlm.json": ""}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)   # torch.jit is deprecated; torch is pinned
            self.module = torch.jit.load(path, _extra_files=extra)
        self.metadata = json.loads(extra["charlm.json"])

    def get_modelmeta(self):
        return SimpleNamespace(custom_metadata_map=self.metadata)

    def get_outputs(self):
        return [SimpleNamespace(name=name) for name in self.metadata["outputs"].split()]

    @torch.no_grad()
    def run(self, _, feed: dict) -> list[np.ndarray]:
        return [out.numpy() for out in self.module(*(torch.from_numpy(feed[name])
                                                     for name in self.metadata["inputs"].split()))]


def saved(path, params, vocab):
    """A seeded model with `params`, saved as a charlm model file at `path`; the model, in eval mode."""
    torch.manual_seed(0)
    model = build_model(params, len(vocab)).eval()
    save_checkpoint(path, model_payload(model, params, len(vocab), vocab.fingerprint, {"val_bpc": 1.0}))
    return model


def in_two_chunks(docs, session, tokens: np.ndarray, state: dict) -> np.ndarray:
    """log_probs (B, T, V) of docs/api.md's `run` over tokens[:, :13], then the rest from the state it left."""
    first, state = docs["run"](session, tokens[:, :13], state)
    second, _ = docs["run"](session, tokens[:, 13:], state)
    return np.concatenate([first, second], axis=1)


@pytest.mark.parametrize("params", [p for _, p in ARCHS], ids=[name for name, _ in ARCHS])
def test_onnxruntime_and_torchscript_in_two_chunks_equal_torch_in_one_pass(params, docs, tmp_path):
    ort = require_module("onnxruntime")
    vocab = tiny_vocab()
    model = saved(tmp_path / "m.pt", params, vocab)
    export_model(tmp_path / "m.pt", vocab, tmp_path / "m.onnx", tmp_path / "m.ts")
    # Batch 3 and chunks of 13 and 17: neither the example's shapes (2, 3) nor each other's.
    tokens = torch.randint(len(vocab), (3, 30), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = torch.log_softmax(model(tokens)[0], dim=-1).numpy()                # (B, T, V)

    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    got = in_two_chunks(docs, session, tokens.numpy(), docs["zero_state"](session, batch=3))
    assert np.abs(got - expected).max() <= TOLERANCE
    scripted = in_two_chunks(docs, TorchScriptSession(tmp_path / "m.ts"), tokens.numpy(),
                             docs["zero_state"](session, batch=3))
    assert np.abs(scripted - expected).max() <= TOLERANCE


def error_line(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", *argv])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_the_cli_writes_a_file_that_the_docs_score_without_charlm(tmp_path, monkeypatch, capsys):
    require_module("onnxruntime")
    vocab = Vocab("char", ("<unk>", " ", *string.ascii_lowercase))
    params = small("lstm", layers=1)
    saved(tmp_path / "models" / "champion.pt", params, vocab)
    save_vocab(vocab, tmp_path / "data" / "processed" / "vocab.json")   # found without --vocab
    monkeypatch.chdir(tmp_path)
    main(["export", "--model", "models/champion.pt", "--onnx", "champion.onnx", "--torchscript", "champion.ts"])
    assert capsys.readouterr().out == "wrote champion.onnx\nwrote champion.ts\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["champion.onnx", "champion.ts", "data", "models"]

    namespace: dict = {}
    for block in docs_blocks():   # the section's code as a user runs it: no torch, no charlm
        exec(block, namespace)
    metadata = namespace["session"].get_modelmeta().custom_metadata_map
    assert json.loads(metadata["vocab"]) == list(vocab.tokens) and metadata["token"] == "char"
    assert json.loads(metadata["params"]) == params.model_dump()
    ids = vocab.encode(namespace["text"]).astype(np.int64)
    expected = load_lm("models/champion.pt", vocab).token_nll(ids, batch_size=1).mean() / math.log(2)
    assert namespace["bpc"] == pytest.approx(expected, abs=1e-5)


def test_an_ngram_model_is_one_line_pointing_at_its_arpa_file(tmp_path, capsys):
    (tmp_path / "ngram-kn8.npz").write_bytes(b"")
    err = error_line(capsys, "--model", str(tmp_path / "ngram-kn8.npz"), "--onnx", str(tmp_path / "out.onnx"))
    assert "n-gram" in err and "ngram-kn8.arpa" in err
    assert not (tmp_path / "out.onnx").exists()


def test_a_missing_model_or_no_output_is_one_line(tmp_path, capsys):
    err = error_line(capsys, "--model", str(tmp_path / "nowhere.pt"), "--onnx", str(tmp_path / "out.onnx"))
    assert "nowhere.pt: model file not found" in err
    saved(tmp_path / "lstm.pt", small("lstm"), tiny_vocab())
    assert "--onnx" in error_line(capsys, "--model", str(tmp_path / "lstm.pt"))
    assert list(tmp_path.iterdir()) == [tmp_path / "lstm.pt"]
