"""The compressor anchor: zpaq's cost of val and test given train, at its best method chosen on val.

    for each method m of zpaq.methods, and 5 (zpaq's default, always measured for reference):
        train(m) = coded bytes of  train                    (charlm.evaluate.zpaq: no archive index)
        val(m)   = coded bytes of  train + " " + val        the same model, continued into val
        val.bpc(m) = (val(m) - train(m)) · 8 / characters of val
    best = the m of zpaq.methods with the fewest val bytes (the first listed on a tie)
    test.bpc = (coded bytes of train + " " + test  -  train(best)) · 8 / characters of test

zpaq codes one block with a fresh model, so each split is coded by a model that has just read all of train
and keeps learning as it reads (like dynamic evaluation). The space joins the texts as the splits' books
are joined; its bits count toward the split, its character does not. Test is compressed with the best
method and with -m5 only.

Per book (zpaq.per_book), with the test split's books b1..bn in order and P_k = train + " " + test up to
the end of b_k and the space after it (where the next book starts):

    bytes(b_k) = coded(P_k) - coded(P_k-1)          P_0 = train alone, P_n = train + " " + test

each book's cost given train and the test books before it: the test split read as one stream, as zpaq
reads it for test.bpc, cut at the books. The books' bytes add up to the split's exactly, so their bpc
averaged by characters is test.bpc. n - 1 more compressions with the best method; the paired comparison
over books that they allow is charlm.evaluate.paired_books.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from charlm.errors import CharlmError
from charlm.evaluate.zpaq import Archive, check_same_method, compress, method_argument, zpaq_version
from charlm.io import read_json

REFERENCE = 5       # zpaq's default level, reported beside the best
_MAX_WORKERS = 4    # zpaq processes side by side: each codes on one thread, the default expert method in 1 GB


@dataclass(frozen=True)
class Candidate:
    """One method's coded bytes: train alone, train + val, and train + test where test was read with it."""
    method: int | str
    argument: str            # the -method zpaq was given (a level: with its block size and analysis)
    train: int
    val: int
    test: int | None = None


def best_index(candidates: list[Candidate]) -> int:
    """Position of the candidate that codes val in the fewest bytes given train; the first of equals."""
    return min(range(len(candidates)), key=lambda i: (candidates[i].val - candidates[i].train, i))


def book_cuts(test: str, books: list[dict]) -> list[tuple[object, int]]:
    """(book id, end of its prefix in test) for each test book: where the next book starts, the last at the end;
    books.json offsets that do not tile `test` (one space between books): CharlmError."""
    expected = 0
    for book in books:
        if book["start"] != expected or book["end"] < book["start"]:
            raise CharlmError(f"data/interim/books.json: test book {book['id']} starts at {book['start']}, not "
                              f"{expected}: the offsets do not tile test.txt")
        expected = book["end"] + 1
    if not books or expected != len(test) + 1:
        raise CharlmError(f"data/interim/books.json: the test books end at {expected - 1}, test.txt at {len(test)}")
    return [(book["id"], nxt["start"]) for book, nxt in zip(books, books[1:])] + [(books[-1]["id"], len(test))]


def read_test_books(interim_dir: Path) -> list[dict]:
    """The test books' offsets in test.txt, from <interim_dir>/books.json; missing: CharlmError."""
    path = Path(interim_dir) / "books.json"
    if not path.is_file():
        raise CharlmError(f"{path}: not found (run `dvc repro preprocess`)")
    return read_json(path)["test"]


def anchor_metrics(candidates: list[Candidate], reference: Candidate, texts: dict[str, str], version: str,
                   book_bytes: dict[object, tuple[int, int]] | None = None) -> dict:
    """metrics/anchor/zpaq.json (keys: docs/metrics.md); `book_bytes`: {test book id: (bytes, characters)}."""
    best = candidates[best_index(candidates)]
    chars = {split: len(text) for split, text in texts.items()}
    metrics = {"method": best.method, "method_argument": best.argument, "version": version,
               **{f"{split}.chars": n for split, n in chars.items()}, **_scores("", best, chars),
               **_scores("m5.", reference, chars), "m5.method_argument": reference.argument}
    for k, candidate in enumerate(candidates):
        metrics |= {f"candidates.{k}.method": candidate.method,
                    f"candidates.{k}.val.bpc": _bpc(candidate.val - candidate.train, chars["val"])}
    for book, (n_bytes, n_chars) in (book_bytes or {}).items():
        metrics |= {f"test.book.{book}.bpc": _bpc(n_bytes, n_chars), f"test.book.{book}.chars": n_chars}
    return dict(sorted(metrics.items()))


def _scores(prefix: str, candidate: Candidate, chars: dict[str, int]) -> dict:
    out = {f"{prefix}train.bytes_compressed": candidate.train}
    for split, coded in (("val", candidate.val), ("test", candidate.test)):
        out |= {f"{prefix}{split}.bpc": _bpc(coded - candidate.train, chars[split]),
                f"{prefix}{split}.bytes_compressed": coded - candidate.train}
    return out


def _bpc(n_bytes: int, n_chars: int) -> float:
    return round(n_bytes * 8 / n_chars, 4)


def anchor_runtime(wall_s: float, compress_s: dict[str, float]) -> dict:
    """metrics/runtime/zpaq.json: the whole measurement's seconds, and each compression's (labels: docs/metrics.md)."""
    return {"wall_time_s": round(wall_s, 3), **{f"{label}.compress_s": round(s, 3) for label, s in compress_s.items()}}


def run_anchor(exe: str, texts: dict[str, str], methods: tuple[int | str, ...], test_books: list[dict] | None = None,
               scratch: Path | None = None) -> tuple[dict, dict]:
    """(metrics, runtime log) of the anchor on texts {"train", "val", "test"}, with each test book's cost when
    `test_books` (books.json's "test" offsets) is given; an empty split: CharlmError."""
    for split in ("train", "val", "test"):
        if not texts[split]:
            raise CharlmError(f"data/interim/{split}.txt is empty: the anchor needs text in train, val and test")
    cuts = book_cuts(texts["test"], test_books) if test_books is not None else None
    version = zpaq_version(exe)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="zpaq-", dir=scratch) as tmp, \
            ThreadPoolExecutor(min(_MAX_WORKERS, _cores())) as pool:
        runs = _Runs(pool, exe, texts["train"], Path(tmp))
        candidates, reference, book_bytes = _measure(runs, texts, methods, cuts)
        seconds = runs.seconds()
    metrics = anchor_metrics(candidates, reference, texts, version, book_bytes)
    return metrics, anchor_runtime(time.perf_counter() - start, seconds)


def _measure(runs: "_Runs", texts: dict[str, str], methods: tuple[int | str, ...], cuts: list | None
             ) -> tuple[list[Candidate], Candidate, dict | None]:
    labels = {m: f"candidates.{k}" for k, m in enumerate(methods)}
    labels.setdefault(REFERENCE, "m5")
    size = len(texts["train"].encode("utf-8")) + 1 + max(len(texts[s].encode("utf-8")) for s in ("val", "test"))
    for method, label in labels.items():   # every train and val side by side, then -m5's test while they run
        runs.start(method, label, size, texts["val"])
    runs.submit(REFERENCE, f"{labels[REFERENCE]}.test", texts["test"])
    scored = {method: runs.candidate(method, label) for method, label in labels.items()}
    best = methods[best_index([scored[m] for m in methods])]
    if best != REFERENCE:
        runs.submit(best, f"{labels[best]}.test", texts["test"])
    prefixes = [(f"test.book.{book}", end) for book, end in (cuts or [])[:-1]]
    for label, end in prefixes:
        runs.submit(best, label, texts["test"][:end])
    tested = {m: replace(scored[m], test=runs.coded(f"{labels[m]}.test")) for m in (best, REFERENCE)}
    for method in labels:
        runs.check_one_model(method)
    book_bytes = None
    if cuts is not None:   # P_0 .. P_n of the module docstring, and where each ends in test
        coded = [tested[best].train, *(runs.coded(label) for label, _ in prefixes), tested[best].test]
        ends = [0, *(end for _, end in cuts)]
        book_bytes = {book: (coded[k + 1] - coded[k], ends[k + 1] - ends[k]) for k, (book, _) in enumerate(cuts)}
    return [tested.get(m, scored[m]) for m in methods], tested[REFERENCE], book_bytes


class _Runs:
    """zpaq compressions side by side, by label: each of train + " " + `suffix` (train alone for "")."""

    def __init__(self, pool: ThreadPoolExecutor, exe: str, train: str, workdir: Path):
        self.pool, self.exe, self.train, self.workdir = pool, exe, train, workdir
        self.argument: dict[int | str, str] = {}
        self._jobs: dict[str, tuple[int | str, Future]] = {}

    def start(self, method: int | str, label: str, size: int, val: str) -> None:
        """Fix `method`'s -method argument for texts up to `size` bytes; submit its train and its val."""
        self.argument[method] = method_argument(self.exe, method, size, self.train, self.workdir / f"{label}.analysis")
        self.submit(method, f"{label}.train", "")
        self.submit(method, f"{label}.val", val)

    def submit(self, method: int | str, label: str, suffix: str) -> None:
        text = f"{self.train} {suffix}" if suffix else self.train
        self._jobs[label] = (method, self.pool.submit(_timed, self.exe, text, self.argument[method],
                                                      self.workdir / label))

    def coded(self, label: str) -> int:
        return self._jobs[label][1].result()[0].coded

    def candidate(self, method: int | str, label: str) -> Candidate:
        return Candidate(method, self.argument[method], self.coded(f"{label}.train"), self.coded(f"{label}.val"))

    def check_one_model(self, method: int | str) -> None:
        archives = {label: job.result()[0] for label, (m, job) in self._jobs.items() if m == method}
        check_same_method(self.argument[method], archives)

    def seconds(self) -> dict[str, float]:
        return {label: job.result()[1] for label, (_, job) in self._jobs.items()}


def _timed(exe: str, text: str, argument: str, workdir: Path) -> tuple[Archive, float]:
    start = time.perf_counter()
    archive = compress(exe, text, argument, workdir)
    shutil.rmtree(workdir)   # only the sizes are needed: ~6 MB of text and archive each, up to a dozen of them
    return archive, time.perf_counter() - start


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
