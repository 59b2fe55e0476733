"""`charlm diff` (revdiff.py) between two checkouts on disk: a changed entry gets its paired interval, an
unchanged one "identical", one side's missing scores or another test text one clear line, never a number.
(Real revisions through DVC: tests/sharing/test_diff_e2e.py.)"""
from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from charlm.errors import CharlmError
from charlm.evaluate.scores import save_scores
from charlm.params import load_params
from charlm.revdiff import Side, diff_entries, render
from fake_lm import write_eval_inputs
from helpers import TINY_PARAMS


@pytest.fixture(scope="module")
def params():
    return load_params(TINY_PARAMS).evaluate


def checkout(root, scores: dict[str, np.ndarray], ngrams: str = "data/scores/ngram") -> Side:
    """A checkout at `root` with the shared fake split and the given entries' test scores; kn4's under `ngrams`
    (data/scores/ngram, or data/scores in a revision from before the stage ngram)."""
    write_eval_inputs(root)
    for entry, nll in scores.items():
        name, _, mode = entry.partition(".")
        folder = root / {"ensemble": "data/mix", "kn4": ngrams}.get(name, "data/scores") / name
        save_scores(folder, {f"{mode}.test" if mode else "test": nll})
    return Side(root, name=root.name)


def test_tokens(root) -> int:
    return len(np.load(root / "data/processed/test.npy"))


test_tokens.__test__ = False   # a helper, not a test


@pytest.fixture
def sides(tmp_path):
    write_eval_inputs(tmp_path / "probe")
    n = test_tokens(tmp_path / "probe") - 1
    rng = np.random.default_rng(0)
    base = {name: rng.gamma(2.0, 0.6, n).astype(np.float32) for name in ("lstm", "kn4", "champion.dynamic", "ensemble")}
    there = checkout(tmp_path / "main", {**base, "gru": base["lstm"]}, ngrams="data/scores")   # the older layout
    better = base["lstm"] - np.float32(0.3)                               # 0.3 nats less on every character
    noisy = base["ensemble"] + rng.normal(0, 0.05, n).astype(np.float32)  # no real change
    here = checkout(tmp_path / "work", {**base, "lstm": better, "ensemble": noisy})
    return here, there


def test_a_changed_entry_gets_its_interval_and_the_rest_say_why_not(sides, params):
    here, there = sides
    rows = {r.entry: r for r in diff_entries(here, there, "test", params, None, per_book=False)}
    assert list(rows) == ["champion.dynamic", "ensemble", "gru", "kn4", "lstm"]
    lstm = rows["lstm"].paired
    assert lstm.significant and lstm.high < 0
    assert lstm.diff == pytest.approx(rows["lstm"].bpc_here - rows["lstm"].bpc_there)
    assert lstm.diff == pytest.approx(-0.3 / math.log(2), abs=1e-5)
    assert not rows["ensemble"].paired.significant
    # kn4 pairs with itself although its scores moved to data/scores/ngram/: an entry is its name.
    assert rows["kn4"].note == rows["champion.dynamic"].note == "identical"
    assert rows["gru"].note == "no scores in work" and rows["gru"].paired is None


def test_per_book_rows_split_the_scores_where_the_books_split_the_text(sides, params):
    here, there = sides
    # A gap of 0.1 nats on every token of book 7 and 0.4 on every token of book 9: a row that took one
    # token from the wrong book would be off by 0.3 / ~2,000 tokens, far more than the tolerance.
    books = json.loads((here.root / "data/interim/books.json").read_text())["test"]
    scored_chars = np.arange(1, test_tokens(here.root))       # nll[i] is the cost of token (character) i + 1
    gap = np.where(scored_chars < books[1]["start"], 0.1, 0.4)
    base = np.load(there.root / "data/scores/lstm/test.npy").astype(np.float64)
    save_scores(here.root / "data/scores/lstm", {"test": (base - gap).astype(np.float32)})
    rows = diff_entries(here, there, "test", params, ["lstm"], per_book=True)
    assert [(r.entry, r.book) for r in rows] == [("lstm", None), ("lstm", "7"), ("lstm", "9")]
    whole, book7, book9 = (r.paired.diff for r in rows)
    assert book7 == pytest.approx(-0.1 / math.log(2), abs=1e-6)
    assert book9 == pytest.approx(-0.4 / math.log(2), abs=1e-6)
    assert whole == pytest.approx(-gap.mean() / math.log(2), abs=1e-6)


def test_another_test_text_or_an_unknown_entry_is_one_clear_line(sides, params):
    here, there = sides
    text = there.root / "data/interim/test.txt"
    text.write_text(text.read_text()[::-1])
    rows = diff_entries(here, there, "test", params, ["lstm", "kn4"], per_book=True)
    assert [(r.entry, r.note) for r in rows] == [
        ("kn4", "not comparable: the test text, its books or the vocabulary differ between the two sides"),
        ("lstm", "not comparable: the test text, its books or the vocabulary differ between the two sides")]
    with pytest.raises(CharlmError, match=r"^--models: no scores of gpt on either side \(entries: champion\.dynamic, "
                                          r"ensemble, gru, kn4, lstm\)$"):
        diff_entries(here, there, "test", params, ["gpt"], per_book=False)


def test_scores_of_the_wrong_length_are_a_line_not_a_number(sides, params):
    here, there = sides
    save_scores(there.root / "data/scores/lstm", {"test": np.ones(10, dtype=np.float32)})
    (row,) = diff_entries(here, there, "test", params, ["lstm"], per_book=False)
    assert row.paired is None and row.note.startswith("data/scores/lstm/test.npy at main holds 10 scores for ")


def test_the_table_reads_as_columns(sides, params):
    here, there = sides
    shutil.rmtree(there.root / "data/scores/kn4")
    out = render(diff_entries(here, there, "test", params, None, False), here, there, "test", params)
    head, blank, header, *lines = out.splitlines()
    assert head.startswith("test bpc, work against main: Δ = work − main, negative is better; paired block "
                           "bootstrap, 200-character blocks, 50 samples, 95% interval")
    assert blank == "" and header.split() == ["entry", "main", "work", "Δ", "bpc", "95%", "interval", "of", "Δ", "p"]
    by_entry = {line.split()[0]: line for line in lines}
    assert by_entry["lstm"].split()[3].startswith("-0.43") and not by_entry["lstm"].endswith("n.s.")
    assert by_entry["ensemble"].endswith("n.s.")
    assert by_entry["kn4"].split()[1] == "—" and by_entry["kn4"].split()[3:] == ["no", "scores", "in", "main"]
    assert float(by_entry["kn4"].split()[2]) > 0   # its bpc where it has scores
    assert by_entry["champion.dynamic"].endswith("identical")
    assert len({line.index("[") for line in lines if "[" in line}) == 1   # the intervals line up


class Unfetched(Side):
    """A revision whose data DVC knows of but cannot get: listing an output or reading a file fails."""

    def __init__(self, side: Side, missing: str):
        super().__init__(side.root, name="main")
        self.missing = missing

    def listdir(self, path):
        return None if path.startswith(self.missing) else super().listdir(path)

    def read(self, path):
        return None if path.startswith(self.missing) else super().read(path)


def test_scores_or_a_text_dvc_cannot_fetch_are_a_line_that_says_how_to_fetch(sides, params):
    here, there = sides
    (row,) = diff_entries(here, Unfetched(there, "data/scores/lstm"), "test", params, ["lstm"], per_book=False)
    assert row.paired is None and row.note.startswith("data/scores/lstm/test.npy at main is neither in the DVC "
                                                      "cache nor on the remote (fetch it: `dvc fetch --all-branches`")
    # A folder DVC cannot list may hold dynamic scores too: they are "not fetched" as well, not "missing".
    (row,) = diff_entries(here, Unfetched(there, "data/scores/champion"), "test", params, ["champion.dynamic"],
                          per_book=False)
    assert row.note.startswith("data/scores/champion/dynamic.test.npy at main is neither in the DVC cache")
    (row,) = diff_entries(here, Unfetched(there, "data/interim"), "test", params, ["lstm"], per_book=False)
    assert row.note.startswith("the test text at main is neither in the DVC cache nor on the remote")
