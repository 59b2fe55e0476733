"""The Python API: a trained model in a notebook, and every entry's metrics as a table.

Run from the root of a project where `dvc repro` has run (the examples are doctests: CI runs them on a tiny
profile's run, so they check shapes and invariants, not this workspace's numbers):

    >>> import charlm
    >>> lm = charlm.load("models/champion.pt")     # or models/ngram/kn8.npz; the vocab is found beside the models
    >>> score = lm.score("it was a dark and stormy night")
    >>> score["chars"], round(2 ** score["bpc"], 6) == round(score["ppl"], 6)
    (29, True)
    >>> probs = lm.next_probs("the whal")          # {'e': 0.97, ...}: the next character, likeliest first
    >>> round(sum(probs.values()), 6), list(probs.values()) == sorted(probs.values(), reverse=True)
    (1.0, True)
    >>> lm.generate("the whale", 40, seed=0) == lm.generate("the whale", 40, seed=0)
    True
    >>> table = charlm.read_metrics()              # one row per entry; rev="main" reads a revision through DVC
    >>> "champion" in table.index and bool(table.loc["champion", "test.bpc"] > 0)
    True

Text goes in as the models were trained on it: in the vocabulary (by default lowercase a-z and spaces).
A character outside it is a CharlmError naming it, never a silent <unk>.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from charlm.data.vocab import load_vocab
from charlm.errors import CharlmError
from charlm.lm import LanguageModel, load_lm
from charlm.model_names import NGRAM_FOLDER

DEFAULT_VOCAB = Path("data/processed/vocab.json")


class Model:
    """A trained model (neural or n-gram) with its vocabulary: score, distributions, generation."""

    def __init__(self, lm: LanguageModel, vocab):
        self.lm, self.vocab = lm, vocab
        self.name = lm.name

    def ids(self, text: str) -> np.ndarray:
        """`text` as token ids; a token outside the vocabulary: CharlmError naming it."""
        index = {t: i for i, t in enumerate(self.vocab.tokens)}
        tokens = self.vocab.split(text)
        unknown = sorted({t for t in tokens if t not in index or t == self.vocab.tokens[0]})
        if unknown:
            raise CharlmError(f"{', '.join(map(repr, unknown))} not in {self.name}'s vocabulary; the models read "
                              f"cleaned text")
        return np.array([index[t] for t in tokens], dtype=np.int64)

    def score(self, text: str) -> dict:
        """{'chars', 'bpc', 'ppl'} of every character of `text` after its first, each given all before it.

        >>> lm = load("models/champion.pt")
        >>> sorted(lm.score("the whale"))
        ['bpc', 'chars', 'ppl']
        >>> lm.score("the whale")["chars"]
        8
        """
        x = self.ids(text)
        if len(x) < 2:
            raise CharlmError(f"text: needs at least 2 characters to score, got {len(x)}")
        bits = self.lm.token_nll(x, "forward", 1) / np.log(2)   # one stream: every character sees all before it
        return {"chars": int(len(bits)), "bpc": float(bits.mean()), "ppl": float(2 ** bits.mean())}

    def log_probs(self, text: str) -> np.ndarray:
        """(len-1, V) natural-log probabilities of every next token after each of text's tokens but the last.

        >>> lm = load("models/champion.pt")
        >>> logp = lm.log_probs("the whale")
        >>> logp.shape == (8, len(lm.vocab)), bool(np.allclose(np.exp(logp).sum(axis=1), 1, atol=1e-5))
        (True, True)
        >>> x = lm.ids("the whale")                 # the true next tokens' rows are what score() adds up
        >>> bits = -logp[np.arange(8), x[1:]].sum() / np.log(2) / 8
        >>> bool(abs(bits - lm.score("the whale")["bpc"]) < 1e-5)
        True
        """
        return self.lm.log_probs(self.ids(text), 1)

    def next_probs(self, context: str) -> dict[str, float]:
        """{token: probability} of the token after `context`, most likely first.

        >>> probs = load("models/champion.pt").next_probs("the whal")
        >>> next(iter(probs)) == max(probs, key=probs.get)
        True
        """
        x = self.ids(context + self.vocab.tokens[1])   # a stand-in next token: its row is what the context predicts
        probs = np.exp(self.lm.log_probs(x, 1)[-1].astype(np.float64))
        order = np.argsort(-probs, kind="stable")
        return {self.vocab.tokens[i]: float(probs[i]) for i in order}

    def generate(self, prefix: str, length: int, *, greedy: bool = False, temperature: float = 1.0, top_k: int = 0,
                 seed: int = 0) -> str:
        """`prefix` and `length` tokens after it; seeded sampling, or argmax with greedy.

        >>> lm = load("models/champion.pt")
        >>> text = lm.generate("the whale", 20, seed=1)
        >>> text.startswith("the whale"), len(text)
        (True, 29)
        >>> lm.generate("the whale", 20, greedy=True) == lm.generate("the whale", 20, greedy=True)
        True
        """
        out = self.lm.generate(list(self.ids(prefix)), length, greedy=greedy, temperature=temperature, top_k=top_k,
                               seed=seed)
        return prefix + self.vocab.decode(out)


def load(model_path: str | Path, vocab_path: str | Path | None = None) -> Model:
    """The model at `model_path` (.pt or .npz) with its vocabulary: `vocab_path`, or data/processed/vocab.json of
    the project the model is in (the folder above models/)."""
    vocab = load_vocab(vocab_file(model_path, vocab_path, "vocab_path="))
    return Model(load_lm(model_path, vocab), vocab)


def vocab_file(model_path: str | Path, vocab_path: str | Path | None, flag: str = "--vocab") -> Path:
    """`vocab_path`, or data/processed/vocab.json of the project `model_path` is in: beside the nearest folder
    above it named models (models/<name>.pt, models/ngram/<name>.npz, models/seeds/<model>/<model>-s<seed>.pt),
    else beside the model's folder; missing: CharlmError telling to pass `flag`."""
    if vocab_path is None:
        above = Path(model_path).resolve().parents
        project = next((p.parent for p in above if p.name == "models"), above[1])
        path = project / DEFAULT_VOCAB
    else:
        path = Path(vocab_path)
    if not path.is_file():
        raise CharlmError(f"{path}: vocabulary not found; pass {flag}")
    return path


def read_metrics(rev: str | None = None, root: str | Path = ".") -> "pandas.DataFrame":  # noqa: F821
    """Every entry's metrics (metrics/eval/<entry>.json and ngram/<entry>.json, one row each, indexed by entry,
    columns the flat keys)
    in the workspace at `root`, or at a git revision or DVC experiment `rev` (read through DVC).

    >>> here = read_metrics()
    >>> {"champion", "cm"} <= set(here.index), bool((here["test.bpc"] > 0).all())
    (True, True)
    >>> read_metrics(rev="HEAD").equals(here)      # this workspace is the commit's run
    True
    """
    import pandas as pd

    from charlm.revdiff import Side

    side = Side(Path(root), rev)
    rows = {}
    for folder in ("metrics/eval", f"metrics/eval/{NGRAM_FOLDER}"):
        names = side.listdir(folder)
        if names is None:
            raise CharlmError(f"{folder}: DVC cannot list it at {side.name}")
        for name in names:
            data = side.read(f"{folder}/{name}") if name.endswith(".json") else None
            if data is not None:
                rows[name[:-len(".json")]] = json.loads(data)
    if not rows:
        raise CharlmError(f"metrics/eval: no metrics at {side.name} (run `dvc repro`)")
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()
