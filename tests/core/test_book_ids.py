"""Book ids: a positive integer or a safe name (`my_letters`), because an id becomes the file name <id>.txt."""
from __future__ import annotations

import copy

import pytest
import yaml

from charlm.params import Book, ParamsError, is_book_id, parse_params
from helpers import REPO

RULE = "must be a positive integer or a name matching ^[a-z0-9][a-z0-9_-]{0,63}$"


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load((REPO / "params.yaml").read_text())


def with_books(raw: dict, books: list[dict]) -> dict:
    edited = copy.deepcopy(raw)
    edited["data"]["books"] = books
    return edited


@pytest.mark.parametrize("book_id", [1, 84, 2701, "my_letters", "shakespeare", "a", "0", "011", "my-letters",
                                     "x" * 64, "1e5", "true"])
def test_positive_integers_and_safe_names_are_ids(book_id):
    assert is_book_id(book_id)
    assert Book(id=book_id, title="T").id == book_id   # kept as given: 84 stays an int, "011" a str


@pytest.mark.parametrize("book_id", [0, -3, True, 1.5, None, "", "My_letters", "my letters", "../etc", "a/b", "a.b",
                                     "-x", "_x", "abc\n", "x" * 65, "é", ["a"]])
def test_anything_else_is_a_one_line_error_naming_the_book(raw, book_id):
    with pytest.raises(ParamsError) as err:
        parse_params(with_books(raw, [{"id": 11, "title": "A"}, {"id": book_id, "title": "B"}]))
    assert str(err.value) == f"data.books[1].id: {RULE}, got {book_id!r}"


def test_a_missing_title_is_the_id_and_author_is_optional(raw):
    books = parse_params(with_books(raw, [{"id": "my_letters"}, {"id": 84, "title": "Frankenstein"}])).data.books
    assert [(b.id, b.title, b.author) for b in books] == [("my_letters", "my_letters", ""), (84, "Frankenstein", "")]
    assert Book(id=11).title == "11"


def test_a_null_title_is_not_a_missing_one(raw):
    with pytest.raises(ParamsError, match=r"^data.books\[0\].title: must be a string, got None$"):
        parse_params(with_books(raw, [{"id": "my_letters", "title": None}]))


@pytest.mark.parametrize("first, second", [(11, 11), (11, "11"), ("my_letters", "my_letters")])
def test_duplicate_ids_compare_as_text(raw, first, second):
    # 11 and "11" would both be data/raw/11.txt.
    with pytest.raises(ParamsError) as err:
        parse_params(with_books(raw, [{"id": first}, {"id": "other"}, {"id": second}]))
    assert str(err.value) == f"data.books[2].id: {second!r} is already the id of books[0] (ids compare as text)"
