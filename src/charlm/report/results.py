"""What the report loads for each entry: a model's metrics, curve, samples and settings (ModelResult), a
mixture's (MixResult), the context mixer's (CMResult) and the compressor anchor's (Anchor)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from charlm.params import TrainParams

# How the report names each architecture (params use lower case: `models.<name>.arch`).
ARCH_NAMES = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM", "bilstm": "BiLSTM", "transformer": "Transformer"}


@dataclass(frozen=True)
class ModelResult:
    name: str
    kind: str                   # "neural" or "n-gram"
    eval: dict                  # metrics/eval/<name>.json (flat keys)
    train: dict                 # metrics/train/<name>.json, or metrics/train/ngram/<name>.json (same key names)
    settings: dict              # {"models.<name>": ...} or {"ngram.<name>": ...}
    samples: str                # reports/samples/<name>.md
    curve: pd.DataFrame | None  # neural only: tokens, epoch, val_bpc, train_loss_nats
    label: str                  # params' own size label: "lstm 2×256", "transformer 4×128" (neural only)
    budget: TrainParams | None  # neural only: the merged train params (max_tokens is the budget)
    role: str | None = None     # neural only: "compare" or "champion" (models.<name>.role)
    dynamic: bool = False       # also scored by dynamic evaluation: the eval has dynamic.* keys

    @property
    def description(self) -> str:
        """'LSTM 2×256', 'BiLSTM 2×256', 'Transformer 4×128', 'n-gram, kneser_ney, order 5'."""
        if self.kind == "neural":
            arch, _, size = self.label.partition(" ")
            return f"{ARCH_NAMES.get(arch, arch)} {size}".strip()
        values = self.settings[f"ngram.{self.name}"]
        return f"n-gram, {values['smoothing']}, order {values['order']}"

    @property
    def train_tokens(self) -> int:
        """Tokens trained on (neural: all epochs together), or counted once to fit an n-gram."""
        return int(self.train["train.tokens"])

    @property
    def epochs(self) -> float:
        """Passes over the training split; an n-gram counts it exactly once."""
        return float(self.train["train.epochs"])

    @property
    def train_flops(self) -> float:
        """Estimated training compute, 6·N·D (N weights, D tokens seen): forward ≈ 2·N·D, backward ≈ 4·N·D.

        Deterministic, unlike wall time. It leaves out attention's context-length term and the validation
        passes, both small here. NaN for n-grams, which count rather than train by gradient.
        """
        return self.flops_per_token * self.train_tokens

    @property
    def flops_per_token(self) -> float:
        """6·N: the training compute of one token (see train_flops); NaN for n-grams."""
        if self.kind != "neural":
            return float("nan")
        return 6.0 * int(self.eval["num_parameters"])


@dataclass(frozen=True)
class MixResult:
    name: str
    members: tuple[str, ...]    # "<model>" or "<model>.dynamic", in params order
    cache_order: int            # > 0: the mix has a cache component, `weight.cache`
    eval: dict                  # metrics/eval/<name>.json: keys as a model's, plus weight.<member>

    @property
    def weights(self) -> dict[str, float]:
        """{member: weight fitted on val}, in params order, then "cache"."""
        return {part: self.eval[f"weight.{part}"] for part in self.parts}

    @property
    def parts(self) -> list[str]:
        return [*self.members, *(["cache"] if self.cache_order else [])]


@dataclass(frozen=True)
class CMResult:
    members: tuple[str, ...]    # cm.members: "<model>" or "<model>.dynamic"
    eval: dict                  # metrics/eval/cm.json: keys as a model's, plus ablation.<component>.val.{bpc,gain}

    @property
    def ablation(self) -> dict[str, tuple[float, float]]:
        """{dropped component: (val bpc without it, its gain)}, largest gain first."""
        parts = {m[1]: (self.eval[key], self.eval[f"ablation.{m[1]}.val.gain"])
                 for key in self.eval if (m := re.fullmatch(r"ablation\.(.+)\.val\.bpc", key))}
        return dict(sorted(parts.items(), key=lambda item: -item[1][1]))


@dataclass(frozen=True)
class Anchor:
    """The compressor anchor: metrics/anchor/zpaq.json when zpaq ran, else the note saying why it did not."""
    metrics: dict | None
    note: str = ""
