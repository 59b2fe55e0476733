"""data.source is transport, data.books (with its pins) is content: real `dvc repro` on the tiny profile.

Switching from an https-style server to a local folder or a mirror with the same bytes changes no result:
no stage depends on the source, and a forced re-fetch gives the same data/raw, so DVC skips every later
stage. Different bytes behind a new source are caught by the pin.
"""
from __future__ import annotations

import pytest

from charlm.data.pin import body_sha256
from helpers import TINY_BOOKS, make_tiny_repo, serve_books, stage_lines

pytestmark = pytest.mark.e2e


DATA_STAGES = {"fetch", "preprocess", "build_vocab", "encode"}


def test_the_source_changes_no_result_and_a_new_edition_is_caught(tmp_path):
    server = serve_books(TINY_BOOKS)
    try:
        repo = make_tiny_repo(tmp_path / "repo", f"{server.url}/{{id}}.txt", books=TINY_BOOKS)
        params = repo.params
        for book in params["data"]["books"]:
            book["sha256"] = body_sha256(TINY_BOOKS[book["id"]], str(book["id"]))
        repo.set_params(params)
        repo.dvc("repro", "encode")
    finally:
        server.stop()
    raw_before = (repo.root / "data" / "raw").stat().st_mtime_ns

    # The same bytes from a local folder: nothing is stale, and a forced re-fetch reruns nothing after it.
    folder = tmp_path / "mirror"
    folder.mkdir()
    for book_id, data in TINY_BOOKS.items():
        (folder / f"{book_id}.txt").write_bytes(data)
    repo.edit_params(**{"data.source": str(folder), "data.allow_http": False})
    assert repo.stale_stages() & DATA_STAGES == set()
    out = repo.dvc("repro", "-f", "fetch").stdout
    assert "Running stage 'fetch'" in out and "warning" not in out
    assert (repo.root / "data" / "raw").stat().st_mtime_ns != raw_before    # it really fetched again
    out = repo.dvc("repro", "encode").stdout
    assert stage_lines(out, "Running stage") == set(), out
    assert repo.stale_stages() & DATA_STAGES == set()

    # A new edition behind the mirror (one word changed): a one-line warning naming book, source and both
    # hashes; the book is unpinned in metrics/data.json; under data.verify: strict, an error that writes nothing.
    edited_id = next(iter(TINY_BOOKS))
    edited = TINY_BOOKS[edited_id].replace(b"whale", b"wale", 1)
    (folder / f"{edited_id}.txt").write_bytes(edited)
    proc = repo.dvc("repro", "-f", "fetch")
    warnings = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, proc.stdout + proc.stderr
    assert f"book {edited_id} " in warnings[0] and str(folder / f"{edited_id}.txt") in warnings[0]
    assert body_sha256(edited, "x") in warnings[0] and body_sha256(TINY_BOOKS[edited_id], "x") in warnings[0]
    out = repo.dvc("repro", "encode").stdout
    assert "Running stage 'preprocess'" in out
    metrics = repo.run("cat", "metrics/data.json").stdout
    assert '"pinned": false' in metrics and '"pinned": true' in metrics

    repo.edit_params(**{"data.verify": "strict"})
    proc = repo.dvc("repro", "-f", "fetch", check=False)
    assert proc.returncode != 0
    assert f"error: book {edited_id} " in proc.stderr + proc.stdout
    # (DVC itself clears a stage's outputs before running it; the stage must not have written any.)
    raw_dir = repo.root / "data" / "raw"
    assert not raw_dir.exists() or not any(raw_dir.iterdir())
    assert "fetch" in repo.stale_stages()
