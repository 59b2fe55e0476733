"""A held-out split ready to score: token ids, the characters each token stands for, and where each book lies.

Bits per character must mean the same thing for char and word vocabularies, so every token carries a
*width*: the characters of the cleaned text it accounts for.

    text     "the whale said"
    char     t h e ␣ w h a l e ␣ s a i d     width 1 each
    word     the   whale   said              width len(word) + 1 (the word and one separating space)

A forward model scores tokens 1..N-1 (each word with the space before it); a backward one scores
0..N-2 (each word with the space after it). Either way the widths of the scored tokens add up to the
characters of the cleaned text, spaces included, minus the one unscored token at the edge.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charlm.data.ids import load_ids
from charlm.data.vocab import Vocab
from charlm.errors import CharlmError
from charlm.io import read_json


@dataclass(frozen=True)
class BookSpan:
    id: int | str    # as in data.books: metric keys are test.book.<id>.bpc
    title: str
    start: int   # first token index of the book in the split
    end: int     # one past its last token; the space joining two books belongs to the book before it


@dataclass(frozen=True)
class EvalSplit:
    name: str                    # "val" or "test"
    tokens: np.ndarray           # (N,) token ids
    widths: np.ndarray           # (N,) int64 characters each token accounts for (see the module docstring)
    starts: np.ndarray           # (N,) int64 character offset of each token in the cleaned text
    books: tuple[BookSpan, ...]  # consecutive token ranges covering 0..N


def token_layout(text: str, token: str) -> tuple[np.ndarray, np.ndarray]:
    """(widths, starts) of each token of a cleaned text, both (N,) int64, for a "char" or "word" vocab."""
    if token == "char":
        n = len(text)
        return np.ones(n, dtype=np.int64), np.arange(n, dtype=np.int64)
    lengths = np.fromiter(map(len, text.split(" ")), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    return lengths + 1, starts


def book_spans(books: list[dict], starts: np.ndarray, n_chars: int, where: str) -> tuple[BookSpan, ...]:
    """Token ranges of each book from its character offsets; offsets that do not tile the text are a CharlmError."""
    spans, previous_end = [], 0
    for i, book in enumerate(books):
        try:
            book_id, title, start, end = book["id"], str(book["title"]), int(book["start"]), int(book["end"])
            if isinstance(book_id, bool) or not isinstance(book_id, (int, str)):
                raise TypeError
        except (KeyError, TypeError, ValueError):
            raise CharlmError(f"{where}[{i}]: needs an id (integer or name), integer start/end and a title") from None
        if i == 0 and start != 0 or start < previous_end or end < start:
            raise CharlmError(f"{where}[{i}] (book {book_id}): offsets {start}..{end} do not follow the "
                              f"previous book (ended at {previous_end})")
        spans.append((book_id, title, int(np.searchsorted(starts, start))))
        previous_end = end
    if not spans or previous_end != n_chars:
        raise CharlmError(f"{where}: books end at {previous_end}, but the text has {n_chars} characters")
    ends = [s for _, _, s in spans[1:]] + [len(starts)]
    return tuple(BookSpan(i, t, s, e) for (i, t, s), e in zip(spans, ends))


def load_eval_split(name: str, data_dir: Path, interim_dir: Path, vocab: Vocab) -> EvalSplit:
    """The split `name` from <data_dir>/<name>.npy, <interim_dir>/<name>.txt and books.json; stale files: CharlmError."""
    npy, txt, books_json = data_dir / f"{name}.npy", interim_dir / f"{name}.txt", interim_dir / "books.json"
    for path in (npy, txt, books_json):
        if not path.is_file():
            raise CharlmError(f"{path}: not found (run `dvc repro encode`)")
    tokens = load_ids(npy, len(vocab))
    text = txt.read_text(encoding="utf-8")
    # The ids must be this text under this vocab, or bpc would divide one file's bits by another's characters.
    if not np.array_equal(vocab.encode(text), tokens):
        raise CharlmError(f"{npy}: is not {txt} encoded with the current vocabulary (run `dvc repro encode`)")
    if len(tokens) < 2:
        raise CharlmError(f"{npy}: needs at least 2 tokens to score, has {len(tokens)}")
    widths, starts = token_layout(text, vocab.token)
    books = read_json(books_json)
    if not isinstance(books, dict) or name not in books:
        raise CharlmError(f"{books_json}: has no {name!r} entry")
    spans = book_spans(books[name], starts, len(text), f"{books_json}: {name}")
    return EvalSplit(name, tokens, widths, starts, spans)
