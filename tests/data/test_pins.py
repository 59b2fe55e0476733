"""Pinned books: the pin ignores what Gutenberg re-releases change (header, licence, wrapping, encoding
details) and catches a changed word; a mismatch warns, or under data.verify: strict fails and writes nothing."""
from __future__ import annotations

import pytest
import yaml

from charlm.data.corpus import preprocess_books
from charlm.data.fetch import fetch_books
from charlm.data.pin import body_sha256
from charlm.errors import CharlmError
from charlm.params import parse_params
from helpers import TINY_PARAMS, synthetic_text

BODY = synthetic_text(400, seed=7)


def gutenberg(body: str, header: str = "The Project Gutenberg eBook of X\n", footer: str = "Licence.\n") -> bytes:
    return (f"{header}*** START OF THE PROJECT GUTENBERG EBOOK X ***\n{body}"
            f"*** END OF THE PROJECT GUTENBERG EBOOK X ***\n{footer}").encode("utf-8")


def rewrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], []
    for word in words:
        line.append(word)
        if len(" ".join(line)) > width:
            lines.append(" ".join(line))
            line = []
    return "\n".join(lines + [" ".join(line)]) + "\n"


def test_what_a_re_release_changes_leaves_the_pin_alone():
    pin = body_sha256(gutenberg(BODY), "x")
    assert body_sha256(gutenberg(BODY, header="Updated header, 2031 edition\nRelease date: ...\n"), "x") == pin
    assert body_sha256(gutenberg(BODY, footer="A new licence text, much longer.\n" * 20), "x") == pin
    assert body_sha256(gutenberg(rewrap(BODY, 40)), "x") == pin
    assert body_sha256(gutenberg(BODY.replace("\n", "\r\n")), "x") == pin          # line ends
    assert body_sha256(b"\xef\xbb\xbf" + gutenberg(BODY), "x") == pin                # a byte-order mark


def test_a_changed_word_changes_the_pin():
    pin = body_sha256(gutenberg(BODY), "x")
    assert body_sha256(gutenberg(BODY.replace("whale", "wale", 1)), "x") != pin
    assert body_sha256(gutenberg(BODY + "one more sentence.\n"), "x") != pin


def _data(tmp_path, books: dict[int, bytes], pins: dict[int, str | None], verify: str = "warn"):
    folder = tmp_path / "books"
    folder.mkdir()
    for book_id, raw in books.items():
        (folder / f"{book_id}.txt").write_bytes(raw)
    raw = yaml.safe_load(TINY_PARAMS.read_text())
    raw["data"].update(source=str(folder), verify=verify,
                       books=[{"id": i, "title": f"Book {i}", "author": "A", "sha256": pins[i]} for i in books])
    return parse_params(raw)


def test_fetch_warns_naming_the_book_the_source_and_both_hashes(tmp_path):
    good, edited = gutenberg(BODY), gutenberg(BODY.replace("whale", "wale", 1))
    params = _data(tmp_path, {1: good, 2: edited}, {1: body_sha256(good, "1"), 2: body_sha256(good, "2")})
    warnings = []
    fetch_books(params.data, tmp_path / "raw", warn=warnings.append)
    assert len(warnings) == 1
    (line,) = warnings
    assert "\n" not in line and line.startswith("warning: book 2 (Book 2): ")
    assert str(tmp_path / "books" / "2.txt") in line
    assert body_sha256(edited, "2") in line and body_sha256(good, "2") in line
    assert (tmp_path / "raw" / "2.txt").read_bytes() == edited   # a warning, so the data is still written


def test_strict_verification_fails_and_writes_nothing(tmp_path):
    good, edited = gutenberg(BODY), gutenberg(BODY.replace("whale", "wale", 1))
    params = _data(tmp_path, {1: good, 2: edited}, {1: body_sha256(good, "1"), 2: body_sha256(good, "2")},
                   verify="strict")
    with pytest.raises(CharlmError, match=r"^book 2 \(Book 2\): .*\(data\.verify: strict; nothing written\)$"):
        fetch_books(params.data, tmp_path / "raw", warn=pytest.fail)
    assert not (tmp_path / "raw").exists()


def test_unpinned_books_pass_silently_and_the_metrics_say_which_are_pinned(tmp_path):
    good, other = gutenberg(BODY), gutenberg(synthetic_text(400, seed=8))
    params = _data(tmp_path, {1: good, 2: other, 3: good},
                   {1: body_sha256(good, "1"), 2: None, 3: body_sha256(other, "3")})
    warnings = []
    fetch_books(params.data, tmp_path / "raw", warn=warnings.append)
    assert len(warnings) == 1 and warnings[0].startswith("warning: book 3 (Book 3): ")
    raw = {i: (tmp_path / "raw" / f"{i}.txt").read_bytes() for i in (1, 2, 3)}
    corpus = preprocess_books(raw, params.data.books, params.preprocess)
    assert {k: v["pinned"] for k, v in corpus.metrics["per_book"].items()} == {"1": True, "2": False, "3": False}


@pytest.mark.parametrize("bad", ["abc", "A" * 64, "g" * 64, 123])
def test_a_malformed_pin_is_a_params_error(bad):
    raw = yaml.safe_load(TINY_PARAMS.read_text())
    raw["data"]["books"][0]["sha256"] = bad
    with pytest.raises(CharlmError, match=r"^data\.books\.0\.sha256: |^data\.books\[0\]\.sha256: "):
        parse_params(raw)
