"""Where the bits go: the best neural model's and the best n-gram's per-character bits (both chosen on
validation) lined up with the test text, grouped by position in the word and by character, the words one
model gains most on, and the passages the report shows.

    text       i t ␣ w a s ␣ a ␣ d ...    N characters (one token each: a char vocabulary)
    nll          . . . . . . . . . ...    (N-1,) nats of characters 1..N-1 (data/scores; the first has no context)
    bits       ∅ . . . . . . . . . ...    (N,) bits, NaN where unscored
    position   1 2 0 1 2 3 0 1 0 1 ...    characters since the last space; a space (a word's end) is 0

Pure functions of arrays and text: no I/O, nothing random, so the report is the same on every rerun.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from charlm.params import Params
from charlm.report.load import Inputs

MAX_POSITION = 10   # positions 10 and on are one group: few words are that long
PASSAGE_CHARS = 400


@dataclass(frozen=True)
class Passage:
    book: str             # the book's title
    start: int            # offset of text[0] in the test text
    text: str
    neural: np.ndarray    # (len(text),) bits under the neural model, NaN where unscored
    ngram: np.ndarray     # (len(text),) bits under the n-gram model


@dataclass(frozen=True)
class BitsAnalysis:
    neural: str                 # model names
    ngram: str
    shade: str                  # "neural" or "ngram": the one better on validation, whose bits shade the passages
    max_bits: float             # log2(vocabulary size), what a uniform guess costs: the top of the colour scale
    by_position: pd.DataFrame   # group ("space", "1".."9", "10+"), chars, neural, ngram (bpc of each)
    by_character: pd.DataFrame  # group (the character), chars, neural, ngram
    gains: pd.DataFrame         # word, book, before, count, neural, ngram (bits of the word), gain
    passages: list[Passage]
    neural_better: float        # share of scored characters the neural model spends fewer bits on


def bits_per_char(nll: np.ndarray) -> np.ndarray:
    """(N,) float64 bits of each character from (N-1,) nats of characters 1..N-1; NaN at 0 (never scored)."""
    return np.concatenate([[np.nan], np.asarray(nll, dtype=np.float64) / math.log(2)])


def word_positions(text: str) -> np.ndarray:
    """(N,) int64: how many characters each one is into its word (1 = first after a space); spaces are 0."""
    chars = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    index = np.arange(len(chars))
    is_space = chars == ord(" ")
    last_space = np.maximum.accumulate(np.where(is_space, index, -1))   # -1 before the first space
    return np.where(is_space, 0, index - last_space)


def bpc_by_group(groups: np.ndarray, neural: np.ndarray, ngram: np.ndarray) -> pd.DataFrame:
    """Per group (sorted): the scored characters in it and each model's bpc over them."""
    scored = np.isfinite(neural) & np.isfinite(ngram)
    df = pd.DataFrame({"group": groups[scored], "neural": neural[scored], "ngram": ngram[scored]})
    out = df.groupby("group", sort=True).agg(chars=("neural", "size"), neural=("neural", "mean"),
                                             ngram=("ngram", "mean"))
    return out.reset_index()


def by_word_position(text: str, neural: np.ndarray, ngram: np.ndarray) -> pd.DataFrame:
    """bpc_by_group over word positions, labelled "space", "1", …, f"{MAX_POSITION}+", in that order."""
    df = bpc_by_group(np.minimum(word_positions(text), MAX_POSITION), neural, ngram)
    df["group"] = [position_label(p) for p in df["group"]]
    return df


def position_label(position: int) -> str:
    """'space' for 0 (the end of a word), f'{MAX_POSITION}+' for the last group, else the number."""
    return "space" if position == 0 else f"{position}+" if position == MAX_POSITION else str(position)


def by_character(text: str, neural: np.ndarray, ngram: np.ndarray) -> pd.DataFrame:
    """bpc_by_group over the characters themselves, in code point order (the space first)."""
    return bpc_by_group(np.array(list(text)), neural, ngram)


def word_gains(text: str, neural: np.ndarray, ngram: np.ndarray, book_starts: list[int], titles: list[str],
               k: int = 10, before: int = 24) -> pd.DataFrame:
    """The k distinct words with the largest gain (n-gram bits − neural bits of all their characters), each at
    its best occurrence; ties go to the earlier one. `before` characters of context precede each word."""
    spans = np.array([m.span() for m in re.finditer(r"[^ ]+", text)], dtype=np.int64).reshape(-1, 2)
    spans = spans[spans[:, 0] > 0]   # the text's first character has no bits
    totals = {}
    for name, bits in (("neural", neural), ("ngram", ngram)):
        cumulative = np.concatenate([[0.0], np.cumsum(np.nan_to_num(bits))])
        totals[name] = cumulative[spans[:, 1]] - cumulative[spans[:, 0]]
    words = [text[s:e] for s, e in spans]
    df = pd.DataFrame({"word": words, "start": spans[:, 0], **totals})
    df["gain"] = df["ngram"] - df["neural"]
    df["count"] = df.groupby("word")["word"].transform("size")
    df = df.sort_values(["gain", "start"], ascending=[False, True], kind="stable").drop_duplicates("word").head(k)
    book = np.searchsorted(np.asarray(book_starts), df["start"].to_numpy(), side="right") - 1
    df["book"] = [titles[b] for b in book]
    df["before"] = [_context(text, int(s), before) for s in df["start"]]
    return df[["word", "book", "before", "count", "neural", "ngram", "gain"]].reset_index(drop=True)


def _context(text: str, start: int, before: int) -> str:
    """Up to `before` characters ending just before `start`, cut back to whole words."""
    piece = text[max(0, start - before): start]
    return (piece if start <= before else piece.split(" ", 1)[-1]).strip()


def passage_span(text: str, start: int, end: int, length: int = PASSAGE_CHARS) -> tuple[int, int]:
    """About `length` characters of text[start:end] around its middle, from a word's start to a word's end."""
    first = start + max(0, (end - start - length) // 2)
    while first > start and text[first - 1] != " ":   # back to the start of the word
        first -= 1
    last = min(end, first + length)
    if last < end:   # cut at the last space, so no word is split (unless there is none)
        space = text.rfind(" ", first, last)
        last = space if space > first else last
    return first, last


def passage_books(n_books: int) -> list[int]:
    """Which books' passages to show: the first and the middle one (one book: just it)."""
    return sorted({0, n_books // 2})


def passages(text: str, neural: np.ndarray, ngram: np.ndarray, books: list[tuple[str, int, int]]) -> list[Passage]:
    """A Passage from the middle of the first and of the middle book; `books` holds (title, start, end)."""
    out = []
    for i in passage_books(len(books)):
        title, start, end = books[i]
        first, last = passage_span(text, start, end)
        out.append(Passage(title, first, text[first:last], neural[first:last], ngram[first:last]))
    return out


def analyse(text: str, neural_name: str, neural_nll: np.ndarray, ngram_name: str, ngram_nll: np.ndarray,
            books: list[tuple[str, int, int]], shade: str, vocab_size: int) -> BitsAnalysis:
    """Everything "Where the bits go" shows, from the two models' (N-1,) nats on the N-character test text."""
    neural, ngram = bits_per_char(neural_nll), bits_per_char(ngram_nll)
    titles, starts = [b[0] for b in books], [b[1] for b in books]
    scored = np.isfinite(neural)
    return BitsAnalysis(neural_name, ngram_name, shade, math.log2(vocab_size), by_word_position(text, neural, ngram),
                        by_character(text, neural, ngram), word_gains(text, neural, ngram, starts, titles),
                        passages(text, neural, ngram, books), float(np.mean(neural[scored] < ngram[scored])))


def bits_analysis(params: Params, inputs: Inputs) -> BitsAnalysis | str:
    """"Where the bits go" for the best neural and the best n-gram model on validation (never on test), or the
    one-line reason it is skipped."""
    if params.vocab.token != "char":
        return (f"Skipped: it compares models character by character, which needs one token per character, "
                f"and this run's `vocab.token` is `{params.vocab.token}`.")
    best = {kind: min((r for r in inputs.results if r.kind == kind), key=lambda r: r.eval["val.bpc"], default=None)
            for kind in ("neural", "n-gram")}
    if None in best.values():
        return "Skipped: it compares the best neural model with the best n-gram, and params define only one kind."
    neural, ngram = best["neural"], best["n-gram"]
    shade = "neural" if neural.eval["val.bpc"] <= ngram.eval["val.bpc"] else "ngram"
    # One token per character: the test nll of tokens 1..N-1 is that of characters 1..N-1.
    return analyse(inputs.text, neural.name, inputs.nll[neural.name], ngram.name, inputs.nll[ngram.name],
                   inputs.books, shade, int(neural.eval["vocab_size"]))
