"""The anchor: the best method on val read on test, -m5 beside it, each test book's cost, and the zpaq stage."""
from __future__ import annotations

import importlib.util
import sys

import pytest

from charlm.errors import CharlmError
from charlm.evaluate.anchor import Candidate, anchor_metrics, best_index, book_cuts, run_anchor
from charlm.evaluate.zpaq import SKIPPED
from charlm.io import read_json
from charlm.stage import run_stage
from helpers import REPO, TINY_PARAMS
from zpaq_fakes import FAST, fake_zpaq, letters, python_zpaq, require_zpaq, words, write_interim

_spec = importlib.util.spec_from_file_location("stage_zpaq", REPO / "stages" / "zpaq.py")
zpaq_stage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zpaq_stage)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fake zpaqs are shell scripts")


def three_books(seed: int) -> tuple[str, list[dict]]:
    """A test split of three books of different lengths, and its books.json offsets."""
    parts = [words(n, seed + i) for i, n in enumerate((400, 150, 700))]
    books, start = [], 0
    for book_id, part in zip((11, "mine", 3), parts):
        books.append({"id": book_id, "title": str(book_id), "start": start, "end": start + len(part)})
        start += len(part) + 1
    return " ".join(parts), books


# ----------------------------------------------------------------------------------- real zpaq
def test_a_split_repeating_train_is_nearly_free_and_random_letters_are_not(tmp_path):
    exe = require_zpaq()
    train = words(6000, seed=0)
    metrics, _ = run_anchor(exe, {"train": train, "val": train, "test": letters(20000, seed=1)}, (1,), None, tmp_path)
    # Given train, a copy of it costs a few pointers; letters drawn uniformly cost >= 4.75 bits each.
    for prefix in ("", "m5."):   # -m1, the one candidate, and -m5 beside it
        assert metrics[f"{prefix}val.bpc"] < 0.3 and metrics[f"{prefix}test.bpc"] > 4.5, metrics
    assert metrics["val.chars"] == len(train) and metrics["test.chars"] == 20000
    assert metrics["method"] == 1 and metrics["version"].startswith("7.")
    assert list(tmp_path.iterdir()) == []   # the scratch archives are gone


def test_the_split_is_coded_given_train(tmp_path):
    exe = require_zpaq()
    text = words(12000, seed=2, vocab_size=3000)   # many words: knowing them from train saves most
    half = len(text) // 2
    split = {"val": text[half:], "test": text[half:]}
    related, _ = run_anchor(exe, {"train": text[:half], **split}, (FAST,), None, tmp_path)
    unrelated, _ = run_anchor(exe, {"train": letters(half, seed=3), **split}, (FAST,), None, tmp_path)
    # Train's words, already learned, make the rest of the text cheaper than after train of random letters.
    # Coding the split on its own, without train, would score the same in both.
    assert related["val.bpc"] < unrelated["val.bpc"] - 0.4, (related, unrelated)


def test_the_best_method_on_val_is_the_anchor_and_alone_with_m5_read_on_test(tmp_path):
    exe = require_zpaq()
    test, books = three_books(seed=5)
    texts = {"train": words(8000, seed=4), "val": words(1500, seed=9), "test": test}
    metrics, runtime = run_anchor(exe, texts, (1, FAST), books, tmp_path)
    # -m1 (LZ77) is far weaker on words than a context-mixing chain: the expert method wins on val.
    assert metrics["candidates.0.val.bpc"] > metrics["candidates.1.val.bpc"] + 0.3, metrics
    assert metrics["method"] == FAST and metrics["val.bpc"] == metrics["candidates.1.val.bpc"]
    assert metrics["m5.method_argument"].startswith("56,") and metrics["m5.test.bpc"] > 0
    assert "candidates.0.test.compress_s" not in runtime   # test is read with the best and with -m5 only
    assert {"candidates.1.test.compress_s", "m5.test.compress_s", "test.book.11.compress_s",
            "test.book.mine.compress_s"} <= set(runtime)
    # The books' costs are the test split's cut at the books: their bytes add up to it exactly.
    chars = [metrics[f"test.book.{b['id']}.chars"] for b in books]
    bits = [metrics[f"test.book.{b['id']}.bpc"] * n for b, n in zip(books, chars)]
    assert sum(chars) == metrics["test.chars"] == len(test)
    assert sum(bits) == pytest.approx(metrics["test.bytes_compressed"] * 8, abs=0.0001 * sum(chars))
    assert list(metrics) == sorted(metrics)


def test_the_stage_writes_identical_metrics_twice_and_its_timings_apart(tmp_path):
    require_zpaq()
    test, books = three_books(seed=6)
    texts = {"train": words(4000, 3), "val": words(800, 4), "test": test}
    interim = write_interim(tmp_path / "interim", texts, {split: books for split in texts})
    outputs = []
    for run in ("a", "b"):
        metrics, runtime = tmp_path / run / "zpaq.json", tmp_path / run / "runtime.json"
        zpaq_stage.main(["--params", str(TINY_PARAMS), "--interim", str(interim), "--metrics", str(metrics),
                         "--runtime", str(runtime)])
        outputs.append((metrics.read_bytes(), read_json(runtime)))
    (first, runtime), (second, _) = outputs
    assert first == second
    metrics = read_json(tmp_path / "a" / "zpaq.json")
    assert metrics["method"] == 1 and {"test.book.11.bpc", "test.book.mine.bpc", "test.book.3.bpc"} <= set(metrics)
    assert set(runtime) == {"wall_time_s", *(f"{label}.compress_s" for label in (
        "candidates.0.train", "candidates.0.val", "candidates.0.test", "m5.train", "m5.val", "m5.test",
        "test.book.11", "test.book.mine"))}
    assert runtime["wall_time_s"] > 0


# ------------------------------------------------------------------------- without a real zpaq
def test_best_index_is_the_fewest_val_bytes_given_train_and_the_first_of_equals():
    candidates = [Candidate(5, "56", 1000, 1300), Candidate("x6.0c", "x6.0c", 900, 1150),
                  Candidate("x6.0ci1", "x6.0ci1", 950, 1200)]
    assert best_index(candidates) == 1   # 250 bytes for val, though its train is not the smallest
    assert best_index([Candidate(1, "14", 100, 200), Candidate(2, "24", 50, 150)]) == 0


def test_bpc_is_the_extra_coded_bytes_over_the_split_characters():
    texts = {"train": "x" * 50, "val": "y" * 400, "test": "z" * 300}
    candidates = [Candidate(5, "56,230,1", 1000, 1100, 1090), Candidate("x6.0c", "x6.0c", 1000, 1200)]
    metrics = anchor_metrics(candidates, candidates[0], texts, "7.15", {11: (60, 200), "b": (30, 100)})
    assert metrics["method"] == 5 and metrics["method_argument"] == "56,230,1"
    assert metrics["val.bpc"] == 2.0 and metrics["val.bytes_compressed"] == 100
    assert metrics["test.bpc"] == 2.4 and metrics["test.chars"] == 300 and metrics["test.bytes_compressed"] == 90
    assert metrics["train.bytes_compressed"] == 1000 and metrics["train.chars"] == 50
    assert metrics["candidates.1.val.bpc"] == 4.0 and metrics["m5.test.bpc"] == 2.4
    assert metrics["test.book.11.bpc"] == 2.4 and metrics["test.book.b.chars"] == 100
    assert list(metrics) == sorted(metrics)


def test_book_cuts_end_where_the_next_book_starts():
    test, books = three_books(seed=7)
    cuts = book_cuts(test, books)
    assert cuts == [(11, books[1]["start"]), ("mine", books[2]["start"]), (3, len(test))]
    assert test[cuts[0][1] - 1] == " "   # the space joining two books goes with the book before it


@pytest.mark.parametrize("edit, message", [
    (lambda books: books[1].update(start=books[1]["start"] + 1), "test book mine starts at"),
    (lambda books: books.pop(), "the test books end at"),
    (lambda books: books.clear(), "the test books end at"),
])
def test_books_that_do_not_tile_the_test_split_are_refused(edit, message):
    test, books = three_books(seed=8)
    edit(books)
    with pytest.raises(CharlmError, match=message):
        book_cuts(test, books)


def test_a_pair_coded_with_two_models_is_an_error(tmp_path):
    # A zpaq whose analysis changes its model once the text is longer than train: train + val is another model.
    exe = python_zpaq(tmp_path / "bin", method_above=(2000, "x6.0ci1.1"))
    texts = {"train": "ab " * 600, "val": "ba " * 300, "test": "ab " * 100}
    with pytest.raises(CharlmError, match=r"-mx6.0ci1 did not code these archives with one model \(candidates.0"
                                          r".train: -method x6.0ci1; candidates.0.val: -method x6.0ci1.1"):
        run_anchor(str(exe), texts, ("x6.0ci1",), None, tmp_path)


def test_the_fake_layout_is_measured_as_its_coded_bytes(tmp_path):
    # python_zpaq codes n bytes into n // 4 bytes (+ 1 end mark): given train, val costs a quarter of its bytes.
    exe = python_zpaq(tmp_path / "bin")
    texts = {"train": "a" * 4000, "val": "b" * 799, "test": "c" * 399}
    metrics, _ = run_anchor(str(exe), texts, ("x6.0c",), None, tmp_path)
    assert metrics["val.bytes_compressed"] == 200 and metrics["test.bytes_compressed"] == 100
    assert metrics["m5.val.bytes_compressed"] == 200 and metrics["m5.method_argument"] == "56,230,1"


def test_without_zpaq_on_path_the_stage_writes_the_skip_note_and_succeeds(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    interim = write_interim(tmp_path / "interim", {"train": "a b", "val": "a", "test": "b"})
    metrics, runtime = tmp_path / "out" / "zpaq.json", tmp_path / "out" / "runtime.json"
    zpaq_stage.main(["--params", str(TINY_PARAMS), "--interim", str(interim), "--metrics", str(metrics),
                     "--runtime", str(runtime)])
    assert read_json(metrics) == SKIPPED
    assert "apt-get install zpaq" in SKIPPED["skipped"]
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "zpaq not found on PATH" in err
    assert not runtime.exists()


def test_a_failing_zpaq_is_a_stage_error_with_its_message(tmp_path, monkeypatch, capsys):
    # Like zpaq 7.15: banner and usage (exit 1) without arguments; on failure the message, then a timing line.
    fake_zpaq(tmp_path / "bin", 'echo "zpaq error: disk on fire" >&2\necho "0.000 seconds (with errors)" >&2\nexit 2\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    interim = write_interim(tmp_path / "interim", {"train": "a b", "val": "a", "test": "b"})
    with pytest.raises(SystemExit) as exit_:
        run_stage(zpaq_stage.main, ["--params", str(TINY_PARAMS), "--interim", str(interim),
                                    "--metrics", str(tmp_path / "m.json"), "--runtime", str(tmp_path / "r.json")])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "exited 2: zpaq error: disk on fire" in err
    assert not (tmp_path / "m.json").exists()


def test_a_program_without_the_zpaq_banner_is_refused(tmp_path):
    exe = tmp_path / "zpaq"
    exe.write_text('#!/bin/sh\necho "hello"\n')
    exe.chmod(0o755)
    with pytest.raises(CharlmError, match="not zpaq"):
        run_anchor(str(exe), {"train": "a", "val": "b", "test": "c"}, (1,), None, tmp_path)


def test_an_empty_split_is_refused_before_zpaq_runs(tmp_path):
    with pytest.raises(CharlmError, match="data/interim/val.txt is empty"):
        run_anchor("no-such-zpaq", {"train": "a", "val": "", "test": "c"}, (1,), None, tmp_path)
