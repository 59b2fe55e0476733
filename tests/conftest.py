"""Fixtures shared by the test suite (the helpers themselves live in helpers.py)."""
from __future__ import annotations

import pytest
import torch

from helpers import TINY_BOOKS, finished_tiny_repo, make_tiny_repo, serve_books

# Tests share 2 cores with whatever else runs; one thread keeps them predictable and deterministic.
torch.set_num_threads(1)


@pytest.fixture
def book_server():
    """A loopback HTTP server serving the three tiny synthetic books at /<id>.txt."""
    server = serve_books(TINY_BOOKS)
    yield server
    server.stop()


@pytest.fixture
def tiny_repo(tmp_path, book_server):
    """A git+DVC copy of the project with the tiny profile, fetching from the loopback server."""
    return make_tiny_repo(tmp_path / "repo", f"{book_server.url}/{{id}}.txt", books=TINY_BOOKS)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A tiny repo after one full `dvc repro`, committed, shared by every test that only *reads* a finished
    run (charlm score, the notebook, the API's doctests): write elsewhere, never into it."""
    with finished_tiny_repo(tmp_path_factory.mktemp("tiny_run") / "repo") as tiny:
        yield tiny
