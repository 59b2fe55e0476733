"""The preprocess stage's work and the interim files: raw books -> cleaned train/val/test texts.

On disk (data/interim): train.txt, val.txt, test.txt (UTF-8, no trailing newline, so the offsets in
books.json index the file's characters exactly) and books.json.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from charlm.data.clean import clean, decode_book, strip_gutenberg
from charlm.data.pin import pin_of_body
from charlm.data.split import SPLITS, join_splits, split_book
from charlm.errors import CharlmError
from charlm.io import atomic_write, write_json
from charlm.params import Book, BookId, PreprocessParams


@dataclass(frozen=True)
class Corpus:
    texts: dict[str, str]     # split -> cleaned text
    books: dict[str, list]    # split -> [{"id", "title", "start", "end"}] character offsets, end exclusive
    metrics: dict             # metrics/data.json


def preprocess_books(raw: Mapping[BookId, bytes], books: tuple[Book, ...], params: PreprocessParams,
                     where: str = "data/raw") -> Corpus:
    """Decode, strip, clean and split every book (in params order); any unusable book is a CharlmError."""
    parts, per_book = [], {}
    for book in books:
        name = f"book {book.id} ({where}/{book.id}.txt)"
        text = decode_book(raw[book.id], name)
        body = strip_gutenberg(text)
        cleaned = clean(body, params.alphabet, params.lowercase, params.fold_accents)
        if not cleaned:
            raise CharlmError(f"{name}: no text left after cleaning (preprocess.alphabet keeps "
                              f"{params.alphabet!r})")
        train, val, test = split_book(cleaned, params.val_fraction, params.test_fraction, name)
        parts.append(({"id": book.id, "title": book.title}, (train, val, test)))
        per_book[str(book.id)] = {"raw_bytes": len(raw[book.id]), "boilerplate_chars": len(text) - len(body),
                                  "chars": len(cleaned), "train": len(train), "val": len(val), "test": len(test),
                                  # False for an unpinned book too: nothing vouches for its text
                                  "pinned": book.sha256 == pin_of_body(body)}
    texts, offsets = join_splits(parts)
    chars = {split: len(texts[split]) for split in SPLITS}
    metrics = {"books": len(books), "chars": {**chars, "total": sum(chars.values())}, "per_book": per_book}
    return Corpus(texts, offsets, metrics)


def read_raw_books(raw_dir: str | Path, books: tuple[Book, ...]) -> dict[BookId, bytes]:
    """The bytes of data/raw/<id>.txt for every book; a missing file is a CharlmError naming it."""
    raw = {}
    for book in books:
        path = Path(raw_dir) / f"{book.id}.txt"  # a valid id (params.is_book_id) cannot leave raw_dir
        if not path.is_file():
            raise CharlmError(f"book {book.id}: {path} not found (run `dvc repro fetch`)")
        raw[book.id] = path.read_bytes()
    return raw


def write_corpus(corpus: Corpus, out_dir: str | Path) -> None:
    """Write <split>.txt and books.json into `out_dir`, each file atomically."""
    out_dir = Path(out_dir)
    for split in SPLITS:
        atomic_write(out_dir / f"{split}.txt", corpus.texts[split])
    write_json(out_dir / "books.json", corpus.books)


def read_splits(interim_dir: str | Path) -> dict[str, str]:
    """split -> cleaned text, read from data/interim; a missing or undecodable file is a CharlmError."""
    texts = {}
    for split in SPLITS:
        path = Path(interim_dir) / f"{split}.txt"
        try:
            texts[split] = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise CharlmError(f"{path}: not found (run `dvc repro preprocess`)") from None
        except UnicodeDecodeError as e:
            raise CharlmError(f"{path}: not valid UTF-8 at byte {e.start}") from None
    return texts
