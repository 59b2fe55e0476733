"""Real `dvc repro encode` in a throwaway copy of the repo: outputs, no-op reruns, what min_freq reruns, determinism."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from charlm.data.vocab import load_vocab
from charlm.io import read_json
from helpers import REPO, TINY_BOOKS, make_tiny_repo, require_shared_novels

pytestmark = pytest.mark.e2e
DATA_STAGES = {"fetch", "preprocess", "build_vocab", "encode"}


def expected_clean(raw: bytes) -> str:
    """The book's cleaned text, computed without charlm: cut at the marker lines, then the notebook regex."""
    text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    if "*** START OF" in text:
        text = text.split(" ***\n", 1)[1].split("*** END OF")[0]
    return " ".join(re.sub("[^a-z]", " ", text.lower()).split())


def outputs(root: Path) -> dict[str, bytes]:
    files = [p for folder in ("data", "metrics") for p in (root / folder).rglob("*") if p.is_file()]
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(files + [root / "dvc.lock"])}


def test_repro_encode_decodes_back_to_the_cleaned_text_and_reruns_nothing(tiny_repo):
    tiny_repo.dvc("repro", "encode")
    root = tiny_repo.root
    for book_id, body in TINY_BOOKS.items():
        assert (root / "data" / "raw" / f"{book_id}.txt").read_bytes() == body
    vocab = load_vocab(root / "data" / "processed" / "vocab.json")
    books = read_json(root / "data" / "interim" / "books.json")
    texts = {}
    for split in ("train", "val", "test"):
        texts[split] = (root / "data" / "interim" / f"{split}.txt").read_text(encoding="utf-8")
        ids = np.load(root / "data" / "processed" / f"{split}.npy")
        assert ids.dtype == np.uint8 and vocab.decode(ids) == texts[split]
    for i, book_id in enumerate(TINY_BOOKS):
        parts = [texts[s][books[s][i]["start"]:books[s][i]["end"]] for s in ("train", "val", "test")]
        assert " ".join(parts) == expected_clean(TINY_BOOKS[book_id])
    assert read_json(root / "metrics" / "data.json")["books"] == len(TINY_BOOKS)

    again = tiny_repo.dvc("repro", "encode")
    assert "Data and pipelines are up to date." in again.stdout
    assert not tiny_repo.stale_stages() & DATA_STAGES


def test_min_freq_reruns_build_vocab_and_encode_only_when_the_vocab_changes(tiny_repo):
    tiny_repo.dvc("repro", "encode")
    tiny_repo.edit_params(**{"vocab.min_freq": 1})   # same vocabulary as min_freq 0
    assert tiny_repo.stale_stages() & DATA_STAGES == {"build_vocab"}
    out = tiny_repo.dvc("repro", "encode").stdout
    assert "Running stage 'build_vocab'" in out
    for stage in ("fetch", "preprocess", "encode"):   # vocab.json came out identical, so DVC skips encode
        assert f"Stage '{stage}' didn't change, skipping" in out

    train = (tiny_repo.root / "data" / "interim" / "train.txt").read_text()
    rarest = min(set(train), key=train.count)
    tiny_repo.edit_params(**{"vocab.min_freq": train.count(rarest) + 1})
    out = tiny_repo.dvc("repro", "encode").stdout
    assert "Running stage 'build_vocab'" in out and "Running stage 'encode'" in out
    for stage in ("fetch", "preprocess"):
        assert f"Stage '{stage}' didn't change, skipping" in out
    vocab = load_vocab(tiny_repo.root / "data" / "processed" / "vocab.json")
    assert rarest not in vocab.tokens
    decoded = vocab.decode(np.load(tiny_repo.root / "data" / "processed" / "train.npy"))
    assert decoded == train.replace(rarest, "<unk>")


def test_two_runs_from_scratch_are_byte_identical(tiny_repo, book_server, tmp_path):
    other = make_tiny_repo(tmp_path / "other", f"{book_server.url}/{{id}}.txt", books=TINY_BOOKS)
    tiny_repo.dvc("repro", "encode")
    other.dvc("repro", "encode")
    first, second = outputs(tiny_repo.root), outputs(other.root)
    manifests = len(list((REPO / "stages").glob("*.py"))) - 1   # data/code: one per stage script but code's own
    assert len(first) == len(TINY_BOOKS) + 4 + 4 + 2 + 1 + manifests  # raw, interim, processed, metrics, dvc.lock
    assert first == second


def test_the_ten_novels_give_the_notebooks_28_entry_vocabulary(tmp_path):
    novels = require_shared_novels()
    repo = make_tiny_repo(tmp_path / "repo", str(novels), allow_http=False)
    defaults = yaml.safe_load((REPO / "params.yaml").read_text())
    params = repo.params
    params["data"] = {**defaults["data"], "source": str(novels)}   # the ten books, default caps
    params["preprocess"], params["vocab"] = defaults["preprocess"], defaults["vocab"]
    repo.set_params(params)
    repo.dvc("repro", "encode")
    vocab = load_vocab(repo.root / "data" / "processed" / "vocab.json")
    assert len(vocab) == 28 and vocab.tokens[:2] == ("<unk>", " ")
    assert sorted(vocab.tokens[2:]) == list("abcdefghijklmnopqrstuvwxyz")
    assert read_json(repo.root / "metrics" / "vocab.json")["vocab_size"] == 28
    assert len(read_json(repo.root / "metrics" / "data.json")["per_book"]) == 10
