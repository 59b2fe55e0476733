"""Every bad input to the data stages, run as the real stage scripts: one-line error, exit 1, earlier outputs untouched."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from charlm.data.vocab import load_vocab
from helpers import REPO, TINY_BOOKS, TINY_PARAMS, tool_env

BOOKS = {101: TINY_BOOKS[101], 102: TINY_BOOKS[102]}
COMMANDS = {  # the command lines of dvc.yaml, relative to the project folder
    "fetch": ["--out", "data/raw"],
    "preprocess": ["--raw", "data/raw", "--out", "data/interim", "--metrics", "metrics/data.json"],
    "build_vocab": ["--interim", "data/interim", "--out", "data/processed/vocab.json",
                    "--metrics", "metrics/vocab.json"],
    "encode": ["--interim", "data/interim", "--vocab", "data/processed/vocab.json", "--out", "data/processed"],
}


class Project:
    """A folder with params.yaml, a local `novels/` source and the data stage outputs."""

    def __init__(self, root: Path):
        self.root = root

    def stage(self, name: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(REPO / "stages" / f"{name}.py"), *COMMANDS[name]],
                              cwd=self.root, env=tool_env(), capture_output=True, text=True, timeout=60)

    def edit(self, change) -> None:
        params = yaml.safe_load((self.root / "params.yaml").read_text())
        change(params)
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def outputs(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.root)): p.read_bytes()
                for folder in ("data", "metrics") for p in sorted((self.root / folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A project on which all four stages ran once, successfully (copied by each test)."""
    root = tmp_path_factory.mktemp("built")
    (root / "novels").mkdir()
    for book_id, body in BOOKS.items():
        (root / "novels" / f"{book_id}.txt").write_bytes(body)
    params = yaml.safe_load(TINY_PARAMS.read_text())
    params["data"].update(source="novels", allow_http=False,
                          books=[{"id": i, "title": f"Book {i}", "author": "Test"} for i in BOOKS])
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    project = Project(root)
    for name in COMMANDS:
        proc = project.stage(name)
        assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture
def project(built, tmp_path) -> Project:
    shutil.copytree(built, tmp_path / "p")
    return Project(tmp_path / "p")


def test_the_stages_produce_the_contract(project):
    interim, processed = project.root / "data" / "interim", project.root / "data" / "processed"
    assert (project.root / "data" / "raw" / "101.txt").read_bytes() == BOOKS[101]
    vocab = load_vocab(processed / "vocab.json")
    for split in ("train", "val", "test"):
        ids = np.load(processed / f"{split}.npy")
        assert ids.dtype == np.uint8 and vocab.decode(ids) == (interim / f"{split}.txt").read_text()


def assert_fails(project: Project, stage: str, message: str, before: dict[str, bytes]) -> None:
    proc = project.stage(stage)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    assert project.outputs() == before  # nothing truncated, nothing half-written, no temp files


def set_book(project: Project, book_id: int, body: bytes | None) -> None:
    path = project.root / "novels" / f"{book_id}.txt"
    if body is None:
        path.unlink()
    else:
        path.write_bytes(body)


# ------------------------------------------------------------------------------- fetch
@pytest.mark.parametrize("break_it, message", [
    (lambda p: p.edit(lambda d: d["data"].update(books=[])), "data.books: must list at least one book"),
    (lambda p: shutil.rmtree(p.root / "novels"), "data.source: folder novels does not exist"),
    (lambda p: set_book(p, 102, None), "book 102: cannot fetch novels/102.txt: file not found"),
    (lambda p: set_book(p, 102, b""), "book 102 (novels/102.txt): file is empty (0 bytes)"),
    (lambda p: set_book(p, 102, "na\u00efve".encode("latin-1")), "book 102 (novels/102.txt): not valid UTF-8"),
    (lambda p: set_book(p, 102, bytes(range(256))), "book 102 (novels/102.txt): looks like a binary file"),
    (lambda p: p.edit(lambda d: d["data"].pop("max_bytes")), "data.max_bytes: missing key"),
    (lambda p: p.edit(lambda d: d["data"].update(retries="3")), "data.retries: must be an integer"),
    (lambda p: p.edit(lambda d: d["data"]["books"][0].update(id=-4)), "data.books[0].id: must be a positive"),
], ids=["no-books", "no-folder", "missing-book", "zero-bytes", "not-utf8", "binary", "missing-key", "wrong-type",
        "negative-id"])
def test_fetch_errors(project, break_it, message):
    before = project.outputs()
    break_it(project)
    assert_fails(project, "fetch", message, before)


# -------------------------------------------------------------------------- preprocess
@pytest.mark.parametrize("body, message", [
    (b"1234 5678 -- 90!\n", "book 102 (data/raw/102.txt): no text left after cleaning"),
    (b"Hello, world.\n", "book 102 (data/raw/102.txt): too short to split (11 characters after cleaning)"),
], ids=["empty-after-cleaning", "too-short"])
def test_preprocess_errors_from_fetched_books(project, body, message):
    set_book(project, 102, body)
    assert project.stage("fetch").returncode == 0  # a valid text file: fetch accepts it
    assert_fails(project, "preprocess", message, project.outputs())


@pytest.mark.parametrize("raw, message", [
    (None, "book 102: data/raw/102.txt not found"),
    (b"", "book 102 (data/raw/102.txt): file is empty"),
    (b"\xff\xfe bad", "book 102 (data/raw/102.txt): not valid UTF-8"),
], ids=["raw-missing", "raw-empty", "raw-not-utf8"])
def test_preprocess_rechecks_edited_raw_files(project, raw, message):
    path = project.root / "data" / "raw" / "102.txt"
    path.unlink() if raw is None else path.write_bytes(raw)
    assert_fails(project, "preprocess", message, project.outputs())


@pytest.mark.parametrize("change, message", [
    (lambda d: d["preprocess"].update(alphabett="abc"), "preprocess.alphabett: unknown key"),
    (lambda d: d["preprocess"].update(val_fraction=-0.1), "preprocess.val_fraction: must be in (0, 1)"),
    (lambda d: d["preprocess"].update(val_fraction=0.5, test_fraction=0.5), "must be < 1"),
    (lambda d: d["preprocess"].update(val_fraction=1e-6), "its val part would be empty"),
    (lambda d: d["preprocess"].update(lowercase="yes"), "preprocess.lowercase: must be true or false"),
])
def test_preprocess_params_errors(project, change, message):
    before = project.outputs()
    project.edit(change)
    assert_fails(project, "preprocess", message, before)


# ------------------------------------------------------------------------ vocab, encode
@pytest.mark.parametrize("change, message", [
    (lambda d: d["vocab"].update(min_freq=-1), "vocab.min_freq: must be >= 0"),
    (lambda d: d["vocab"].update(min_freq="two"), "vocab.min_freq: must be an integer"),
    (lambda d: d["vocab"].update(token="byte"), "vocab.token: must be one of char, word"),
])
def test_build_vocab_params_errors(project, change, message):
    before = project.outputs()
    project.edit(change)
    assert_fails(project, "build_vocab", message, before)


def test_build_vocab_needs_the_splits(project):
    (project.root / "data" / "interim" / "val.txt").unlink()
    assert_fails(project, "build_vocab", "data/interim/val.txt: not found", project.outputs())


def test_encode_needs_a_valid_vocab(project):
    (project.root / "data" / "processed" / "vocab.json").write_text("{}")
    assert_fails(project, "encode", "data/processed/vocab.json: not a charlm vocabulary", project.outputs())
