"""`charlm export`: a trained neural model as ONNX (and TorchScript), its state an explicit input and output.

Every exported graph reads `tokens (batch, time) int64` plus its state, and returns `log_probs (batch, time, V)`
in nats (the distribution of the token after each one) plus the state after the last token:

    rnn, gru      tokens, h (L, batch, H)                  -> log_probs, h_out
    lstm          tokens, h, c (L, batch, H)               -> log_probs, h_out, c_out
    bilstm        its forward LM only, as lstm: the backward LM reads reversed text, and generation and
                  ranking use the forward one
    transformer   tokens, history (batch, S) int64          -> log_probs, history_out
                  one window of TransformerLM.forward: history + tokens, S + time <= context; the history
                  slides by `stride` when the window is full. A caller feeds at most context - S tokens
                  per call, so every token is scored in the window the model itself scores it in.

A state starts at zeros (h, c) or empty (history: S = 0); feeding `<name>_out` back as `<name>` carries it
across chunks. The ONNX file's metadata holds the vocabulary and the params, so scoring needs neither torch
nor charlm (docs/api.md). The TorchScript file is the same traced graph, with the same metadata as an extra
file `charlm.json`.

Both use torch.onnx's TorchScript-based exporter (`dynamo=False`): torch 2.13's dynamo exporter unrolls
nn.LSTM over the example's length and so fixes `time`, whereas this one maps nn.RNN/GRU/LSTM to ONNX's
RNN/GRU/LSTM ops with a dynamic time axis. PyTorch has deprecated it and torch.jit; torch is pinned.
"""
from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path
from typing import Iterator

import torch
from torch import nn
from torch.nn import functional as F

from charlm.errors import CharlmError
from charlm.io import atomic_write, dumps_json
from charlm.models.checkpoint import load_model
from charlm.models.transformer import TransformerLM

OPSET = 17
TIME_AXES = {0: "batch", 1: "time"}


class RecurrentStep(nn.Module):
    """tokens (B, T) int64, h (L, B, H) [, c] -> log_probs (B, T, V) in nats, h_out [, c_out]."""

    def __init__(self, lm: nn.Module):
        super().__init__()
        self.lm = lm
        self.lstm = isinstance(lm.rnn, nn.LSTM)
        self.states = ("h", "c") if self.lstm else ("h",)
        self.inputs = {"tokens": TIME_AXES, **{name: {1: "batch"} for name in self.states}}
        self.outputs = {"log_probs": TIME_AXES, **{f"{name}_out": {1: "batch"} for name in self.states}}

    def forward(self, tokens: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # nn.LSTM's state is the pair (h, c); nn.RNN's and nn.GRU's is h alone.
        logits, out = self.lm(tokens, state if self.lstm else state[0])
        return F.log_softmax(logits, dim=-1), *(out if self.lstm else (out,))

    def example(self) -> tuple[torch.Tensor, ...]:
        shape = (self.lm.rnn.num_layers, 2, self.lm.rnn.hidden_size)            # (L, B, H)
        # One tensor per state: the tracer would take a tensor passed twice for one input.
        return (torch.zeros(2, 3, dtype=torch.long), *(torch.zeros(shape) for _ in self.states))


class WindowStep(nn.Module):
    """tokens (B, T) int64, history (B, S) int64 with S + T <= context -> log_probs (B, T, V) in nats,
    history_out: one window of TransformerLM.forward, with its sliding written as arithmetic on shapes so
    that the traced graph keeps S and T dynamic."""

    def __init__(self, lm: TransformerLM):
        super().__init__()
        self.lm = lm
        self.inputs = {"tokens": TIME_AXES, "history": {0: "batch", 1: "history"}}
        self.outputs = {"log_probs": TIME_AXES, "history_out": {0: "batch", 1: "history_out"}}

    def forward(self, tokens: torch.Tensor, history: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        window = torch.cat([history, tokens], dim=1)                       # (B, S + T)
        # _window is what TransformerLM.forward scores each window with: the same numbers, no loop to trace.
        log_probs = F.log_softmax(self.lm._window(window), dim=-1)[:, history.size(1):]
        full = window.size(1) // self.lm.context     # 1 when the window is full: it slides by stride
        return log_probs, window[:, full * self.lm.stride:]

    def example(self) -> tuple[torch.Tensor, torch.Tensor]:
        # Both parts non-empty and S + T <= context, so the trace goes through every operation.
        history = self.lm.context // 2
        return (torch.zeros(2, self.lm.context - history, dtype=torch.long),
                torch.zeros(2, history, dtype=torch.long))


def explicit_state(model: nn.Module) -> RecurrentStep | WindowStep:
    """The model's forward causal LM (a bilstm's forward half) as a module with its state as tensors."""
    lm = model.directions()[0][0]
    return WindowStep(lm) if isinstance(lm, TransformerLM) else RecurrentStep(lm)


def neural_model(path: str | Path) -> Path:
    """`path`, checked to be a neural model file; a missing file or an n-gram model is a CharlmError."""
    path = Path(path)
    if not path.is_file():
        raise CharlmError(f"{path}: model file not found")
    if path.suffix == ".npz":
        raise CharlmError(f"{path}: an n-gram model; export takes a neural model (.pt), and the ngram stage "
                          f"already writes n-grams as ARPA ({path.with_suffix('.arpa')})")
    return path


def export_model(path: str | Path, vocab, onnx: str | Path | None, torchscript: str | Path | None) -> list[Path]:
    """Write the model at `path` as ONNX and/or TorchScript, atomically; the files written."""
    model, params, summary = load_model(neural_model(path), vocab)
    step = explicit_state(model).eval()
    metadata = {"vocab": json.dumps(list(vocab.tokens)), "token": vocab.token,
                "vocab_fingerprint": vocab.fingerprint, "params": json.dumps(params.model_dump()),
                "summary": json.dumps(summary), "inputs": " ".join(step.inputs), "outputs": " ".join(step.outputs)}
    written = []
    if onnx:
        atomic_write(onnx, onnx_bytes(step, metadata, __doc__))
        written.append(Path(onnx))
    if torchscript:
        atomic_write(torchscript, torchscript_bytes(step, metadata))
        written.append(Path(torchscript))
    return written


def onnx_bytes(step: RecurrentStep | WindowStep, metadata: dict[str, str], doc: str) -> bytes:
    """The ONNX model of `step`, its dynamic axes named, `metadata` in its metadata_props."""
    import onnx

    buffer = io.BytesIO()
    with _quiet_tracing():
        torch.onnx.export(step, step.example(), buffer, dynamo=False, opset_version=OPSET,
                          input_names=list(step.inputs), output_names=list(step.outputs),
                          dynamic_axes={**step.inputs, **step.outputs})
    proto = onnx.load_from_string(buffer.getvalue())
    proto.doc_string = doc
    onnx.helper.set_model_props(proto, metadata)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def torchscript_bytes(step: RecurrentStep | WindowStep, metadata: dict[str, str]) -> bytes:
    """The traced `step` as a TorchScript archive, `metadata` in its extra file charlm.json."""
    buffer = io.BytesIO()
    with _quiet_tracing():
        torch.jit.save(torch.jit.trace(step, step.example()), buffer,
                       _extra_files={"charlm.json": dumps_json(metadata)})
    return buffer.getvalue()


@contextlib.contextmanager
def _quiet_tracing() -> Iterator[None]:
    """Silence what tracing says about itself: the exporters' deprecation (torch is pinned), TracerWarnings
    (the parity tests check the traced graphs on other shapes), and the LSTM batch-size warning, which
    asks for h0/c0 as inputs, as they are here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size other than 1")
        yield
