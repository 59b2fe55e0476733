"""ARPA export of an NgramModel, and a small ARPA reader (used by the tests to check the export).

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


Arpa = dict[int, dict[tuple[str, ...], tuple[float, float]]]   # order -> words -> (log10 p, log10 bow)


def parse_arpa(path: str | Path) -> Arpa:
    """Every n-gram of an ARPA file with its log10 probability and back-off weight (0 when absent)."""
    path = Path(path)
    grams: Arpa = {}
    expected: dict[int, int] = {}
    order = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line in ("\\data\\", "\\end\\"):
            continue
        if line.startswith("ngram "):
            k, n = line[6:].split("=")
            expected[int(k)] = int(n)
        elif line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1:-7])
            grams[order] = {}
        elif order is None:
            continue  # text before \data\ is free-form
        else:
            fields = line.split()
            if len(fields) not in (order + 1, order + 2):
                raise CharlmError(f"{path}:{number}: expected {order} words after the probability")
            bow = float(fields[order + 1]) if len(fields) == order + 2 else 0.0
            grams[order][tuple(fields[1:order + 1])] = (float(fields[0]), bow)
    for k, n in expected.items():
        if len(grams.get(k, {})) != n:
            raise CharlmError(f"{path}: header says ngram {k}={n}, found {len(grams.get(k, {}))}")
    return grams


def arpa_log10_prob(arpa: Arpa, context: Sequence[str], word: str) -> float:
    """log10 P(word | context) by the ARPA back-off rule, using at most order-1 context words."""
    order = max(arpa)
    context = tuple(context)[max(len(context) - (order - 1), 0):] if order > 1 else ()
    total = 0.0
    for start in range(len(context) + 1):
        c = context[start:]
        if c + (word,) in arpa[len(c) + 1]:
            return total + arpa[len(c) + 1][c + (word,)][0]
        if c in arpa.get(len(c), {}):
            total += arpa[len(c)][c][1]
    raise CharlmError(f"ARPA model has no unigram {word!r}")
