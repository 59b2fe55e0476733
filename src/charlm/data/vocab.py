"""Vocabulary: build from the train split, save/load as JSON, and vectorised encode/decode."""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from charlm.data.ids import check_ids
from charlm.errors import CharlmError
from charlm.io import dumps_json, write_json

UNK = "<unk>"
CHUNK = 1 << 18  # characters per numpy pass over a long text: small enough to stay in cache


def _ascii_chunks(text: str):
    """(start, bytes) of consecutive CHUNK-character slices of an ASCII text."""
    for start in range(0, len(text), CHUNK):
        yield start, text[start:start + CHUNK].encode("ascii")


@dataclass(frozen=True)
class Vocab:
    token: str                   # "char" or "word"
    tokens: tuple[str, ...]      # index -> token; tokens[0] is always <unk>

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON; checkpoints store it so a model never meets a different vocab."""
        return hashlib.sha256(dumps_json(self.to_json()).encode("utf-8")).hexdigest()

    def to_json(self) -> dict:
        return {"token": self.token, "tokens": list(self.tokens)}

    def split(self, text: str) -> list[str]:
        """Tokens of a cleaned text: characters, or space-separated words."""
        return list(text) if self.token == "char" else text.split(" ")

    @functools.cached_property
    def index(self) -> dict[str, int]:
        """token -> id."""
        return {t: i for i, t in enumerate(self.tokens)}

    @functools.cached_property
    def _char_codes(self) -> np.ndarray:
        # (V,) int64: the code point of each single-character token, -1 for <unk> and longer tokens.
        return np.array([ord(t) if len(t) == 1 and i else -1 for i, t in enumerate(self.tokens)], dtype=np.int64)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of `text` (unknown tokens -> 0), (N,) in the smallest unsigned dtype that fits."""
        dtype = id_dtype(len(self))
        if self.token == "word":
            words = self.split(text)
            # map() runs the dict lookups in C; a word vocab has no faster table to index.
            return np.fromiter(map(self.index.get, words, itertools.repeat(0)), dtype=dtype, count=len(words))
        codes = self._char_codes
        known = codes >= 0
        if text.isascii() and dtype == np.uint8 and codes.max(initial=0) < 128:
            # The common a-z case: bytes.translate with a 256-entry id table, one C pass per chunk.
            table = np.zeros(256, dtype=np.uint8)
            table[codes[known]] = np.flatnonzero(known)
            out = np.empty(len(text), dtype=np.uint8)
            for start, chunk in _ascii_chunks(text):
                out[start:start + len(chunk)] = np.frombuffer(chunk.translate(table.tobytes()), dtype=np.uint8)
            return out
        # No Python loop over characters: look every code point up in a table indexed by code point.
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        table = np.zeros(int(max(points.max(initial=0), codes.max(initial=0))) + 1, dtype=dtype)
        table[codes[known]] = np.flatnonzero(known)
        return table[points]

    def decode(self, ids) -> str:
        """Text of token ids ((N,) array or list); words are re-joined with single spaces."""
        arr = check_ids(ids, len(self), "token ids").astype(np.int64)
        if self.token == "char":
            points = self._char_codes[arr]
            if points.min(initial=0) >= 0:  # no <unk> or multi-character token: decode in one C pass
                return points.astype(np.uint32).tobytes().decode("utf-32-le")
        table = np.array(self.tokens, dtype=object)
        sep = "" if self.token == "char" else " "
        return sep.join(table[arr].tolist())


def id_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned integer dtype that holds ids 0..vocab_size-1."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if vocab_size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def count_tokens(text: str, token: str) -> Counter:
    """How often each token occurs in a cleaned text: characters, or space-separated words."""
    if token == "word":
        return Counter(text.split(" ")) if text else Counter()
    if text.isascii():  # the common case: one byte per character
        chunks = (np.frombuffer(chunk, dtype=np.uint8) for _, chunk in _ascii_chunks(text))
    else:
        chunks = (np.frombuffer(text[i:i + CHUNK].encode("utf-32-le"), dtype=np.uint32)
                  for i in range(0, len(text), CHUNK))
    counts = np.zeros(0, dtype=np.int64)
    for chunk in chunks:
        chunk_counts = np.bincount(chunk)
        if len(chunk_counts) > len(counts):
            counts = np.pad(counts, (0, len(chunk_counts) - len(counts)))
        counts[:len(chunk_counts)] += chunk_counts
    return Counter({chr(c): int(counts[c]) for c in np.flatnonzero(counts)})


def vocab_from_counts(counts: Mapping[str, int], token: str, min_freq: int, reserved: tuple[str, ...] = ()
                      ) -> Vocab:
    """<unk>, then reserved tokens in order, then tokens by descending count (ties by the token itself).

    Tokens seen fewer than `min_freq` times are left out (the notebook's rule: kept when count >= min_freq).
    """
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    head = [UNK, *reserved]
    rest = [t for t, c in ordered if c >= min_freq and t not in head]
    return Vocab(token=token, tokens=tuple(head + rest))


def oov_rate(vocab: Vocab, counts: Mapping[str, int]) -> float:
    """Fraction of the counted tokens that `vocab` does not know (they encode as <unk>); 0.0 if none counted."""
    total = sum(counts.values())
    unknown = sum(c for t, c in counts.items() if t not in vocab.index)
    return unknown / total if total else 0.0


def vocab_metrics(vocab: Vocab, counts: Mapping[str, Mapping[str, int]]) -> dict:
    """metrics/vocab.json: vocabulary size, tokens per split, and the OOV rate of every split but train."""
    return {"vocab_size": len(vocab),
            "tokens": {split: sum(c.values()) for split, c in counts.items()},
            "oov_rate": {split: oov_rate(vocab, c) for split, c in counts.items() if split != "train"}}


def save_vocab(vocab: Vocab, path: str | Path) -> None:
    """Write vocab.json atomically."""
    write_json(path, vocab.to_json())


def load_vocab(path: str | Path) -> Vocab:
    """Read vocab.json; a malformed file is a CharlmError naming it."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        vocab = Vocab(token=raw["token"], tokens=tuple(raw["tokens"]))
    except FileNotFoundError:
        raise CharlmError(f"{path}: vocabulary file not found") from None
    except (ValueError, KeyError, TypeError) as e:
        raise CharlmError(f"{path}: not a charlm vocabulary ({e})") from None
    if not vocab.tokens or vocab.tokens[0] != UNK or vocab.token not in ("char", "word"):
        raise CharlmError(f"{path}: not a charlm vocabulary (token kind or <unk> at index 0 missing)")
    return vocab
