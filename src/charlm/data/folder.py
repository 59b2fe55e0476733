"""A folder of .txt files as a corpus: the `data.source` and `data.books` that `charlm books <folder>` prints.

    my_texts/my_letters.txt    ->  {id: my_letters,  title: My letters,   sha256: <its pin>}
    my_texts/shakespeare.txt   ->  {id: shakespeare, title: Shakespeare, sha256: <its pin>}

A file's name (without .txt) is its book id as it stands, so it must already be a valid one
(params.is_book_id): a name that is not gets a rename suggestion, never a silently altered id. Every file
is read and checked as the fetch and preprocess stages will, before anything is printed, and `sha256` is
its pin (data/pin.py), so fetch then verifies the folder against what was listed.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from charlm.data.corpus import preprocess_books
from charlm.data.fetch import fetch_book
from charlm.data.pin import body_sha256
from charlm.errors import CharlmError
from charlm.params import BOOK_NAME, BookId, is_book_id, load_params


def folder_overrides(folder: str | Path, params_path: str | Path = "params.yaml") -> dict[str, object]:
    """{"data.source": folder, "data.books": [{id, title, sha256}, ...]}, one book per <folder>/*.txt by name;
    a file that the fetch or preprocess stage would reject is a CharlmError naming it."""
    source = str(Path(folder))
    books = [{"id": file_book_id(path), "title": default_title(path.stem)} for path in _txt_files(source)]
    overrides = {"data.source": source, "data.books": books}
    params = load_params(params_path, overrides, source=source)
    raw = {book.id: fetch_book(book.id, params.data) for book in params.data.books}
    preprocess_books(raw, params.data.books, params.preprocess, where=source)   # raises what preprocess would
    for entry, book in zip(books, params.data.books):
        entry["sha256"] = body_sha256(raw[book.id], f"book {book.id}")
    return overrides


def _txt_files(folder: str) -> list[Path]:
    if not Path(folder).is_dir():
        raise CharlmError(f"{folder}: {'not a folder' if Path(folder).exists() else 'no such folder'}")
    files = sorted(path for path in Path(folder).iterdir() if path.suffix == ".txt")
    if not files:
        raise CharlmError(f"{folder}: has no .txt files (one book per file)")
    return files


def file_book_id(path: Path) -> BookId:
    """The book id a file `<id>.txt` stands for: 84.txt is book 84, my_letters.txt is "my_letters"."""
    stem = path.stem
    # 084 stays a name: the int 84 would be the file 84.txt, not this one.
    book_id = int(stem) if re.fullmatch(r"[1-9][0-9]*", stem) else stem
    if not is_book_id(book_id):
        suggestion = re.sub(r"[^a-z0-9_-]+", "_", stem.lower()).strip("_-")[:64] or "book1"
        raise CharlmError(f"{path}: {stem!r} cannot be a book id (a name must match {BOOK_NAME}); "
                          f"rename it, e.g. to {suggestion}.txt")
    return book_id


def default_title(stem: str) -> str:
    """A readable title from a file name: my_letters -> My letters (edit it freely; only the id names files)."""
    words = re.sub(r"[_-]+", " ", stem).strip()
    return words[:1].upper() + words[1:]


class _ListsIndented(yaml.SafeDumper):
    # `books:` then `  - {...}`, as params.yaml writes it (PyYAML would put the dash under the `b`).
    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def books_yaml(overrides: dict[str, object]) -> str:
    """`source:` and `books:` as YAML indented to paste under `data:` in params.yaml, one book per line."""
    block = {"source": overrides["data.source"], "books": overrides["data.books"]}
    text = yaml.dump(block, Dumper=_ListsIndented, sort_keys=False, default_flow_style=None, width=float("inf"),
                     allow_unicode=True)
    return "\n".join("  " + line for line in text.splitlines())
