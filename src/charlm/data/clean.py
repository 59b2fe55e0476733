"""Turn a raw Gutenberg file into clean text: decode strictly, strip the licence boilerplate, clean.

All pure functions. `clean` is vectorised: it builds a lookup table for the few distinct characters
present and maps the text through it with numpy, so there is no Python loop over characters.
"""
from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np

from charlm.errors import CharlmError

BOM = "\ufeff"

# Header/footer markers, in their modern, older ("THIS PROJECT") and unspaced ("***START") forms.
_START = re.compile(r"\*\*\*[ \t]*START OF (?:THE |THIS )?PROJECT GUTENBERG E-?BOOK"
                    r"|\*END\*THE SMALL PRINT", re.IGNORECASE)
_END = re.compile(r"\*\*\*[ \t]*END OF (?:THE |THIS )?PROJECT GUTENBERG E-?BOOK", re.IGNORECASE)
# Older files also end the body with a plain "End of the Project Gutenberg EBook of <title>" line.
_OLD_END = re.compile(r"^[ \t]*End of (?:the |this )?Project Gutenberg(?:'s)? E-?(?:Book|Text)",
                      re.IGNORECASE | re.MULTILINE)

# Latin letters that Unicode does not decompose (NFKD leaves them whole), folded by hand.
_EXTRA_FOLDS = {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
                "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH",
                "ı": "i"}
_DELETE = 0  # lookup-table code for characters that fold to nothing (lone combining accents)
_SPACE = ord(" ")
PIECE = 1 << 18  # characters per numpy pass: small enough to stay in cache (measured best)


def decode_book(data: bytes, name: str) -> str:
    """The file's text (strict UTF-8, BOM removed); a CharlmError naming `name` if it is not usable text."""
    if not data:
        raise CharlmError(f"{name}: file is empty (0 bytes)")
    if b"\x00" in data:
        raise CharlmError(f"{name}: looks like a binary file (contains NUL bytes), not UTF-8 text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        # A clear error rather than silent replacement: a wrong encoding would corrupt the corpus.
        raise CharlmError(f"{name}: not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); "
                          "save it as UTF-8") from None
    return text[1:] if text.startswith(BOM) else text


def _at_line_start(text: str, pattern: re.Pattern, start: int = 0) -> re.Match | None:
    # Searching for the literal prefix is fast; anchoring with ^ + MULTILINE would test every position.
    for m in pattern.finditer(text, start):
        if m.start() == 0 or text[m.start() - 1] == "\n":
            return m
    return None


def strip_gutenberg(text: str) -> str:
    """The book's body between the Project Gutenberg START/END markers; the whole text when there are none."""
    if text.startswith(BOM):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    begin = 0
    start = _at_line_start(text, _START)
    if start:
        # The marker's closing *** may sit at the end of a wrapped title; the body starts on the next line.
        close = text.find("***", start.end(), start.end() + 500)
        line_end = text.find("\n", close + 3 if close >= 0 else start.end())
        begin = len(text) if line_end < 0 else line_end + 1
    end = _at_line_start(text, _END, begin)
    body = text[begin:end.start() if end else len(text)]
    if end or start:
        tail_from = max(0, len(body) - 3000)
        old_end = _OLD_END.search(body, tail_from)
        if old_end:
            body = body[:old_end.start()]
    return body


@functools.lru_cache(maxsize=65536)  # the same few hundred characters recur in every book
def _fold(char: str, alphabet: str, lowercase: bool, fold_accents: bool) -> str:
    """What one input character becomes: alphabet characters and spaces (possibly several, or none)."""
    if lowercase:
        char = char.lower()
    if all(c in alphabet for c in char):
        return char  # kept as is: letters already in the alphabet are never folded
    if fold_accents:
        char = "".join(_EXTRA_FOLDS.get(c, c) for c in char)
        char = "".join(c for c in unicodedata.normalize("NFKD", char) if unicodedata.category(c) != "Mn")
        if not char:
            return ""  # a lone combining accent: it belonged to the previous letter
    out = "".join(c if c in alphabet else " " for c in char)
    return re.sub(" +", " ", out)  # "½" -> "1⁄2" -> one space, not three


def _code_points(text: str) -> np.ndarray:
    """The text as an array of code points: uint16 when it has no astral characters, else uint32."""
    units = np.frombuffer(text.encode("utf-16-le"), dtype=np.uint16)
    if len(units) == len(text):
        return units
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def clean(text: str, alphabet: str, lowercase: bool = True, fold_accents: bool = True) -> str:
    """Text with only `alphabet` characters (never a space) and single spaces, none at either end.

    Every other character, line breaks included, becomes a space; runs of spaces collapse to one, so
    the last word of a line never glues onto the first word of the next.
    """
    # Cleaning ~256k-character pieces cut at spaces gives the same result (a space separates either
    # way) and keeps every numpy pass in cache, so time grows linearly with the text.
    pieces = (_clean_piece(piece, alphabet, lowercase, fold_accents) for piece in _pieces(text, PIECE))
    return " ".join(piece for piece in pieces if piece)


def _pieces(text: str, size: int):
    """Consecutive slices of about `size` characters; the single space at each cut is dropped."""
    start = 0
    while start < len(text):
        cut = text.find(" ", start + size) if start + size < len(text) else -1
        if cut < 0:
            yield text[start:]
            return
        yield text[start:cut]
        start = cut + 1


def _clean_piece(text: str, alphabet: str, lowercase: bool, fold_accents: bool) -> str:
    while True:  # at most twice: ligatures such as "ﬁ" or "æ" are first expanded in the text
        codes = _code_points(text)
        present = [chr(c) for c in range(128)] + [chr(c) for c in np.unique(codes[codes >= 128])]
        mapping = {c: _fold(c, alphabet, lowercase, fold_accents) for c in present}
        expanding = {c: out for c, out in mapping.items() if len(out) > 1}
        if not expanding:
            break
        for char, out in expanding.items():
            text = text.replace(char, out)

    wide = max(map(ord, alphabet)) > 255
    table = np.full(65536 if codes.dtype == np.uint16 else int(codes.max()) + 1, _SPACE,
                    dtype=np.uint32 if wide else np.uint8)
    for char, out in mapping.items():
        table[ord(char)] = ord(out) if out else _DELETE
    mapped = table[codes]
    if any(out == "" for out in mapping.values()):
        mapped = mapped[mapped != _DELETE]
    return _collapse_spaces(mapped).tobytes().decode("utf-32-le" if wide else "latin-1")


def _collapse_spaces(codes: np.ndarray) -> np.ndarray:
    """`codes` with runs of spaces reduced to one and no space at either end."""
    not_space = codes != _SPACE
    keep = not_space.copy()
    keep[1:] |= not_space[:-1]  # a space survives only right after a non-space
    out = np.compress(keep, codes)
    if len(out) and out[-1] == _SPACE:
        out = out[:-1]
    if len(out) and out[0] == _SPACE:
        out = out[1:]
    return out
