"""Small texts and vocabularies for the n-gram tests (token arrays made here, not by the data stages)."""
from __future__ import annotations

import re

import numpy as np

from charlm.ngram.model import fit_ngram
from charlm.params import NgramParams
from helpers import synthetic_text


def clean_text(n_words: int, seed: int) -> str:
    """Pseudo-English reduced to lowercase a-z and single spaces, like the preprocess stage's output."""
    return re.sub(" +", " ", re.sub("[^a-z]", " ", synthetic_text(n_words, seed).lower())).strip()


def char_vocab(text: str) -> tuple[str, ...]:
    """<unk> then the text's characters, sorted: the same size as nltk's vocabulary (its <UNK> + chars)."""
    return ("<unk>", *sorted(set(text)))


def encode(text: str, tokens: tuple[str, ...]) -> np.ndarray:
    index = {t: i for i, t in enumerate(tokens)}
    return np.array([index[c] for c in text], dtype=np.int64)


def fit(ids: np.ndarray, vocab_size: int, smoothing: str, order: int, epsilon=None, discount=None):
    return fit_ngram(ids, vocab_size, NgramParams(smoothing=smoothing, order=order, epsilon=epsilon, discount=discount))
