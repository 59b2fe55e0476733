"""ARPA export of an NgramModel (tests/ngram/arpa_reader.py reads it back to check it).

The model is already in back-off form (see smoothing.backoff_form), so the file lists, per order,
log10 P(w | c) of every n-gram seen in training and log10 of its back-off weight as a context. A
reader applying the usual rule
    P(w | c) = P(c w) if listed, else bow(c) · P(w | c without its first token)   (bow 1 if c unlisted)
gets exactly the model's probabilities. Conventions:
- the space token is written `<space>` (ARPA separates words by whitespace); `<unk>` stays `<unk>`;
- there are no sentences: `<s>` and `</s>` are listed with log10 probability -99 only because ARPA
  readers such as KenLM require them; score text with them off (KenLM: bos=False, eos=False);
- values are written with 7 significant digits.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from charlm.errors import CharlmError
from charlm.io import atomic_path
from charlm.ngram.model import NgramModel

SPACE = "<space>"
_MARKERS = ("<s>", "</s>")
_LN10 = np.log(10.0)


def arpa_words(tokens: Sequence[str]) -> list[str]:
    """The ARPA word of each vocabulary token (space -> <space>); unwritable tokens are a CharlmError."""
    words = [SPACE if t == " " else t for t in tokens]
    for token, word in zip(tokens, words):
        if not word or any(ch.isspace() for ch in word) or word in _MARKERS or (word == SPACE and token != " "):
            raise CharlmError(f"vocabulary token {token!r} cannot be written as an ARPA word")
    return words


def _ngram_strings(keys: np.ndarray, k: int, names: np.ndarray, vocab_size: int) -> np.ndarray:
    """The space-joined words of each order-k key, shape (entries,) str."""
    out = names[keys // vocab_size ** (k - 1) % vocab_size]
    for j in range(k - 2, -1, -1):
        out = np.strings.add(np.strings.add(out, " "), names[keys // vocab_size ** j % vocab_size])
    return out


def arpa_text(model: NgramModel, tokens: Sequence[str]) -> str:
    """The model as ARPA text (see the module docstring for the conventions)."""
    names = np.array(arpa_words(tokens))
    counts = [len(k) for k in model.keys]
    lines = ["\\data\\"] + [f"ngram {k}={n + (2 if k == 1 else 0)}" for k, n in enumerate(counts, 1)] + [""]
    for k in range(1, model.order + 1):
        lines.append(f"\\{k}-grams:")
        if k == 1:
            lines.append("-99\t<s>\t0" if model.order > 1 else "-99\t<s>")
        grams = _ngram_strings(model.keys[k - 1], k, names, model.vocab_size).tolist()
        logp = (model.logp[k - 1] / _LN10).tolist()
        if k < model.order:
            bow = (model.logbow[k - 1] / _LN10).tolist()
            lines += [f"{p:.7g}\t{g}\t{b:.7g}" for p, g, b in zip(logp, grams, bow)]
        else:
            lines += [f"{p:.7g}\t{g}" for p, g in zip(logp, grams)]
        if k == 1:
            lines.append("-99\t</s>")
        lines.append("")
    lines.append("\\end\\")
    return "\n".join(lines) + "\n"


def write_arpa(path: str | Path, model: NgramModel, tokens: Sequence[str]) -> None:
    """Write the model as an ARPA file, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(arpa_text(model, tokens), encoding="utf-8")
