"""Vocabulary: build from the train split, save/load as JSON, and vectorised encode/decode."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charlm.errors import CharlmError
from charlm.io import dumps_json, write_json

UNK = "<unk>"


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

    def encode(self, text: str) -> np.ndarray:
        """Token ids of `text` (unknown tokens -> 0), in the smallest unsigned dtype that fits."""
        if self.token == "char":
            # One table lookup per code point: no Python loop over characters.
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
            known = np.array([ord(t) for t in self.tokens[1:] if len(t) == 1], dtype=np.uint32)
            ids = np.array([i for i, t in enumerate(self.tokens) if i and len(t) == 1], dtype=np.int64)
            table = np.zeros(int(max(codes.max(initial=0), known.max(initial=0))) + 1, dtype=np.int64)
            table[known] = ids
            out = table[codes]
        else:
            words = np.array(self.split(text), dtype=object)
            index = {t: i for i, t in enumerate(self.tokens)}
            uniq, inverse = np.unique(words, return_inverse=True)
            out = np.array([index.get(w, 0) for w in uniq], dtype=np.int64)[inverse]
        return out.astype(id_dtype(len(self)))

    def decode(self, ids) -> str:
        """Text of token ids; words are re-joined with single spaces."""
        arr = np.asarray(ids, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= len(self)):
            raise CharlmError(f"token id out of range for a vocabulary of {len(self)}")
        table = np.array(self.tokens, dtype=object)
        sep = "" if self.token == "char" else " "
        return sep.join(table[arr].tolist())


def id_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned integer dtype that holds ids 0..vocab_size-1."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if vocab_size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def build_vocab(tokens: list[str], token: str, min_freq: int, reserved: tuple[str, ...] = ()) -> Vocab:
    """<unk>, then reserved tokens in order, then tokens by descending count (ties by the token itself)."""
    counts = Counter(tokens)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    head = [UNK, *reserved]
    rest = [t for t, c in ordered if c >= min_freq and t not in head]
    return Vocab(token=token, tokens=tuple(head + rest))


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
