"""`charlm diff REV`: every entry's bpc in this workspace against a git revision or DVC experiment, with the
difference's paired 95% interval, so a teammate can tell a real gain from noise.

    here    data/scores/<model>/<split>.npy           the files in this checkout
            data/scores/<model>/dynamic.<split>.npy    (entry <model>.dynamic)
            data/scores/ngram/<name>/<split>.npy       (entry <name>, an n-gram)
            data/scores/seeds/<model>/<model>-s<seed>/<split>.npy   (entry <model>-s<seed>, a seed repeat)
            data/mix/<name>/<split>.npy                (entry <name>, a mixture)
    REV     the same paths as REV's dvc.lock records them, read through DVC (its cache, then the remote);
            REV is never checked out
    entry   Δ = bpc here − bpc at REV over the same characters (evaluate/paired.py)

A paired test needs the same text on both sides: when REV's split (text, books or vocabulary) differs,
every entry gets that one line instead of a number.
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charlm.data.vocab import Vocab
from charlm.errors import CharlmError
from charlm.evaluate.paired import PairedDiff, paired_bootstrap
from charlm.evaluate.splits import book_spans, token_layout
from charlm.model_names import NGRAM_FOLDER, SEEDS_FOLDER
from charlm.params import EvaluateParams

# Folders whose every subfolder is an entry. An entry is its name, wherever it sits, so an n-gram pairs with a
# revision from before the n-grams moved to data/scores/ngram.
SCORE_FOLDERS = ("data/scores", f"data/scores/{NGRAM_FOLDER}", "data/mix")
REPEATS_FOLDER = f"data/scores/{SEEDS_FOLDER}"   # evaluate@<model>'s repeats: <model>/<model>-s<seed>/, an entry each
SPLIT_FILES = ("data/interim/{split}.txt", "data/interim/books.json", "data/processed/vocab.json")


class Side:
    """The files of one side: a checkout's (rev None) or a revision's, read through DVC's file system."""

    def __init__(self, root: Path, rev: str | None = None, name: str | None = None):
        self.root, self.rev, self.name = root, rev, name or rev or "workspace"
        self.fs = None
        if rev is not None:
            from dvc.api import DVCFileSystem   # only for another revision: importing DVC takes a second
            self.fs = DVCFileSystem(str(root), rev=_git_rev(root, rev))

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None where this side has no such file or DVC cannot get it."""
        if self.fs is None:
            path = self.root / path
            return path.read_bytes() if path.is_file() else None
        try:
            with self.fs.open(path, "rb") as f:
                return f.read()
        except (OSError, *_dvc_errors()):   # OSError: FileNotFoundError, a remote refusing access
            return None

    def listdir(self, path: str) -> list[str] | None:
        """Names in a folder of this side: empty when it has none, None when DVC cannot list it (an output
        whose listing is neither in the cache nor on the remote)."""
        if self.fs is None:
            folder = self.root / path
            return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        try:
            return sorted(Path(p).name for p in self.fs.ls(path, detail=False))
        except FileNotFoundError:
            return []
        except (OSError, *_dvc_errors()):
            return None


def _dvc_errors() -> tuple[type[Exception], ...]:
    """What DVC raises for data it knows of but cannot fetch: a missing cache entry, an unreachable remote."""
    from dvc.exceptions import DvcException
    from dvc_data.index.index import DataIndexError

    return DvcException, DataIndexError


def _git_rev(root: Path, rev: str) -> str:
    """`rev` as git knows it: its commit, or the ref of the DVC experiment so named (`dvc exp show`)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc.repo.experiments.utils import resolve_name
    from scmrepo.exceptions import RevError

    try:
        with Repo(str(root)) as repo:
            try:
                return repo.scm.resolve_rev(rev)
            except RevError:
                ref = resolve_name(repo.scm, rev).get(rev)
    except DvcException as e:   # not a DVC repo; an experiment name that two baselines share
        raise CharlmError(f"{rev}: {e}") from None
    if ref is None:
        raise CharlmError(f"{rev}: neither a git revision nor a DVC experiment of {root} (see `git branch`, "
                          f"`dvc exp show`)")
    return str(ref)


def diff_report(rev: str, root: Path, split: str, params: EvaluateParams, entries: list[str] | None = None,
                per_book: bool = False) -> str:
    """`charlm diff`'s output: the table of every entry here against `rev`; `root` is any folder of the repo."""
    from dvc.repo import Repo

    root = Path(Repo.find_root(str(root)))
    here, there = Side(root), Side(root, rev)
    return render(diff_entries(here, there, split, params, entries, per_book), here, there, split, params)


def score_paths(side: Side, split: str, names_elsewhere: set[str] = frozenset()) -> dict[str, str]:
    """{entry: path of its per-token nll on `split`} for every scores file on this side. A folder DVC cannot
    list (not fetched) gets the paths its entries would have, for `<name>` and for any `<name>.dynamic` in
    `names_elsewhere`, so that reading them says "not fetched" rather than "no scores"."""
    paths = {}
    repeat_folders = [f"{REPEATS_FOLDER}/{model}" for model in side.listdir(REPEATS_FOLDER) or []]
    for folder in [*SCORE_FOLDERS, *repeat_folders]:
        for name in side.listdir(folder) or []:
            if f"{folder}/{name}" in (REPEATS_FOLDER, *SCORE_FOLDERS):
                continue
            files = side.listdir(f"{folder}/{name}")
            if files is None:
                files = [f"{split}.npy"] + ([f"dynamic.{split}.npy"] if f"{name}.dynamic" in names_elsewhere else [])
            for file in files:
                if file == f"{split}.npy":
                    paths[name] = f"{folder}/{name}/{file}"
                elif file == f"dynamic.{split}.npy":
                    paths[f"{name}.dynamic"] = f"{folder}/{name}/{file}"
    return paths


@dataclass(frozen=True)
class Text:
    """What the paired test needs of the split: each scored token's width and character offset, and books."""
    widths: np.ndarray      # (N-1,) characters of tokens 1..N-1, the ones a forward model scores
    starts: np.ndarray      # (N-1,)
    books: dict[str, tuple[int, int]]   # book id -> [first, end) into the scored tokens


def split_files(side: Side, split: str) -> tuple[bytes | None, ...]:
    return tuple(side.read(path.format(split=split)) for path in SPLIT_FILES)


def scored_text(files: tuple[bytes | None, ...], split: str, where: str) -> Text:
    """The Text of `split` from its cleaned text, books.json and vocab.json bytes."""
    if None in files:
        missing = SPLIT_FILES[files.index(None)].format(split=split)
        raise CharlmError(f"{where}: {missing}: not found (run `dvc pull` or `dvc repro encode`)")
    text, books, vocab = files[0].decode("utf-8"), json.loads(files[1]), json.loads(files[2])
    widths, starts = token_layout(text, Vocab(vocab["token"], tuple(vocab["tokens"])).token)
    spans = book_spans(books[split], starts, len(text), f"{where}: books.json: {split}")
    return Text(widths[1:], starts[1:], {str(b.id): (max(b.start - 1, 0), b.end - 1) for b in spans})


@dataclass(frozen=True)
class Row:
    entry: str
    book: str | None                 # None: the whole split
    bpc_here: float | None
    bpc_there: float | None
    paired: PairedDiff | None
    note: str = ""                   # why there is no number, or "identical"


def diff_entries(here: Side, there: Side, split: str, params: EvaluateParams, entries: list[str] | None,
                 per_book: bool) -> list[Row]:
    """One Row per entry present on either side (and per book with `per_book`), in entry order."""
    paths_here = score_paths(here, split)
    paths_there = score_paths(there, split, set(paths_here))
    names = sorted(set(paths_here) | set(paths_there))
    if entries:
        unknown = [e for e in entries if e not in names]
        if unknown:
            raise CharlmError(f"--models: no scores of {', '.join(unknown)} on either side "
                              f"(entries: {', '.join(names) or 'none'})")
        names = [n for n in names if n in entries]
    files_here, files_there = split_files(here, split), split_files(there, split)
    text = scored_text(files_here, split, here.name)
    same_text = files_here == files_there
    text_problem = (_not_fetched(f"the {split} text", there) if None in files_there else
                    f"not comparable: the {split} text, its books or the vocabulary differ between the two sides")
    rows = []
    for name in names:
        if name not in paths_there or name not in paths_here:
            rows.append(_one_sided(name, here, there, paths_here, paths_there, text if same_text else None))
        elif not same_text:
            rows.append(Row(name, None, None, None, None, text_problem))
        else:
            rows += _paired_rows(name, here, there, paths_here[name], paths_there[name], text, params, per_book)
    return rows


def _one_sided(name: str, here: Side, there: Side, paths_here: dict, paths_there: dict, text: Text | None) -> Row:
    """The Row of an entry only one side has scores of, with its bpc there when both sides share the text."""
    def bpc(side: Side, paths: dict) -> float | None:
        nll = _scores(side, paths[name], text) if name in paths and text is not None else None
        return _bpc_of(nll, text.widths) if isinstance(nll, np.ndarray) else None

    return Row(name, None, bpc(here, paths_here), bpc(there, paths_there), None,
               f"no scores in {(there if name in paths_here else here).name}")


def _scores(side: Side, path: str, text: Text) -> np.ndarray | str:
    """The per-token nll at `path` on `side` (float64), or why it cannot be read as scores of `text`."""
    data = side.read(path)
    if data is None:
        return _not_fetched(path, side)
    values = np.load(io.BytesIO(data), allow_pickle=False).astype(np.float64)
    if values.shape != text.widths.shape:
        return f"{path} at {side.name} holds {len(values)} scores for {len(text.widths)} tokens"
    return values


def _not_fetched(what: str, side: Side) -> str:
    return (f"{what} at {side.name} is neither in the DVC cache nor on the remote (fetch it: `dvc fetch "
            f"--all-branches`, `dvc exp pull` for an experiment, or `dvc pull` in a checkout of it)")


def _paired_rows(name: str, here: Side, there: Side, path_here: str, path_there: str, text: Text,
                 params: EvaluateParams, per_book: bool) -> list[Row]:
    """The entry's Row over the whole split, then one per book."""
    nll_here, nll_there = _scores(here, path_here, text), _scores(there, path_there, text)
    for problem in (nll_here, nll_there):
        if isinstance(problem, str):
            return [Row(name, None, None, None, None, problem)]
    spans = {None: (0, len(text.widths))}
    if per_book and not np.array_equal(nll_here, nll_there):   # identical as a whole: identical in every book
        spans |= text.books
    return [_row(name, book, nll_here[a:b], nll_there[a:b], text.widths[a:b], text.starts[a:b], params)
            for book, (a, b) in spans.items() if b > a]


def _row(name: str, book: str | None, nll_here: np.ndarray, nll_there: np.ndarray, widths: np.ndarray,
         starts: np.ndarray, params: EvaluateParams) -> Row:
    bpc_here, bpc_there = _bpc_of(nll_here, widths), _bpc_of(nll_there, widths)
    if np.array_equal(nll_here, nll_there):
        return Row(name, book, bpc_here, bpc_there, None, "identical")
    try:
        paired = paired_bootstrap(nll_here, nll_there, widths, starts, params.bootstrap_block,
                                  params.bootstrap_samples, params.seed)
    except CharlmError as e:   # a book too short for two blocks
        return Row(name, book, bpc_here, bpc_there, None, str(e).split(": ", 1)[-1])
    return Row(name, book, bpc_here, bpc_there, paired)


def _bpc_of(nll: np.ndarray, widths: np.ndarray) -> float:
    return float(nll.sum() / math.log(2) / widths.sum())


def render(rows: list[Row], here: Side, there: Side, split: str, params: EvaluateParams) -> str:
    """The rows as an aligned text table, with how the intervals were made."""
    head = (f"{split} bpc, {here.name} against {there.name}: Δ = {here.name} − {there.name}, negative is better; "
            f"paired block bootstrap, {params.bootstrap_block}-character blocks, {params.bootstrap_samples} "
            f"samples, 95% interval; n.s. = the interval holds 0")
    table = [("entry", there.name, here.name, "Δ bpc", "95% interval of Δ", "p", ""), *map(_cells, rows)]
    # A row without a number (4 cells) ends in its note, which takes no part in the columns after the bpc.
    columns = [max(len(row[i]) for row in table if i < len(row) and (i < 3 or len(row) > 4)) for i in range(7)]
    return "\n".join([head, ""] + ["  ".join(c.ljust(w) for c, w in zip(row, columns)).rstrip() for row in table])


def _cells(row: Row) -> tuple[str, ...]:
    label = row.entry if row.book is None else f"  book {row.book}"
    bpcs = (_bpc(row.bpc_there), _bpc(row.bpc_here))
    p = row.paired
    if p is None:
        return label, *bpcs, row.note
    # The smallest p the samples can show is 1 / (samples + 1): say "at most" there, not "equal".
    p_text = f"≤{p.p_value:.3f}" if p.p_value * (p.samples + 1) < 1.5 else f"{p.p_value:.3f}"
    return (label, *bpcs, _signed(p.diff), f"[{_signed(p.low)}, {_signed(p.high)}]", p_text,
            "" if p.significant else "n.s.")


def _signed(value: float) -> str:
    """A difference in bpc: 4 decimals, or 2 significant digits when those would show a real change as 0."""
    return f"{value:+.4f}" if value == 0 or abs(value) >= 5e-5 else f"{value:+.1e}"


def _bpc(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"
