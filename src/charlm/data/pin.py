"""Pinned books: a sha256 of what a book *says*, so the same params cannot silently fetch another text.

Project Gutenberg re-releases files: new headers and licence footers, re-wrapped lines, re-encodings,
and now and then a typo fix. The pin hashes the body the notebook's way, whatever preprocess says:

    raw bytes -> UTF-8 text -> body between the START/END markers -> [a-z] and single spaces -> sha256

so header, footer, line breaks, case, punctuation and accents change nothing, while a changed word does.
The cleaning is fixed here, not taken from `preprocess`, so editing preprocess params never breaks a pin.
"""
from __future__ import annotations

import hashlib
import string
from typing import Callable, Mapping

from charlm.data.clean import clean, decode_book, strip_gutenberg
from charlm.errors import CharlmError
from charlm.params import Book

PIN_ALPHABET = string.ascii_lowercase


def pin_of_body(body: str) -> str:
    """sha256 (hex) of a book's body (the text between the markers), cleaned to [a-z] and single spaces."""
    return hashlib.sha256(clean(body, PIN_ALPHABET, lowercase=True, fold_accents=True).encode("ascii")).hexdigest()


def body_sha256(raw: bytes, name: str) -> str:
    """The pin of one book file's bytes; `name` labels it in decoding errors."""
    return pin_of_body(strip_gutenberg(decode_book(raw, name)))


def verify_pins(raw: Mapping[int | str, bytes], books: tuple[Book, ...], locations: Mapping[int | str, str], strict: bool,
                warn: Callable[[str], None]) -> None:
    """Compare every pinned book with its pin: a mismatch is one warning line, or a CharlmError when `strict`."""
    for book in books:
        if book.sha256 is None:
            continue
        actual = body_sha256(raw[book.id], f"book {book.id} ({locations[book.id]})")
        if actual != book.sha256:
            message = (f"book {book.id} ({book.title}): {locations[book.id]} has cleaned-text sha256 {actual}, "
                       f"data.books pins {book.sha256}")
            if strict:
                raise CharlmError(f"{message} (data.verify: strict; nothing written)")
            warn(f"warning: {message}: another edition? Results will not match the pinned corpus's")
