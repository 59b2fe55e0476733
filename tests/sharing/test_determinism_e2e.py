"""Byte-identical reruns: two clean `dvc repro` runs of the tiny profile, in two separate copies of the repo,
record the same md5 in dvc.lock for every output of every stage — models, metrics and DVCLive curves included.

Timings (wall time, tokens/s) are not results: they belong in an untracked runtime log, never in an output
that dvc.lock hashes, or a teammate's identical rerun would look like a change.
"""
from __future__ import annotations

import contextlib

import pytest
import yaml

from helpers import TINY_BOOKS, make_tiny_repo, serve_books
from sharingkit import LiveDvc, digest_diff, lock_outputs, output_digests

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two copies of the tiny repo, each reproduced from scratch; both runs go at once, as two machines would."""
    server = serve_books(TINY_BOOKS)
    try:
        repos = [make_tiny_repo(tmp_path_factory.mktemp(f"run{i}") / "repo", f"{server.url}/{{id}}.txt",
                                books=TINY_BOOKS) for i in (1, 2)]
        with contextlib.ExitStack() as stack:   # kills whatever is left of both runs on any failure
            runs = [stack.enter_context(LiveDvc(repo, "repro")) for repo in repos]
            for run in runs:
                assert run.wait() == 0, f"dvc repro failed:\n{run.output}"
    finally:
        server.stop()
    return repos


def test_every_stage_is_locked(two_runs):
    """The comparison below covers the whole pipeline: every stage of dvc.yaml has its outputs in dvc.lock."""
    for repo in two_runs:
        stages = set(yaml.safe_load((repo.root / "dvc.lock").read_text())["stages"])
        expected = {"fetch", "preprocess", "build_vocab", "encode", "report"}
        params = repo.params
        expected |= {f"train@{m}" for m in params["models"]} | {f"evaluate@{m}" for m in params["models"]}
        expected |= {f"mix@{m}" for m in params["mix"]} | {"ngram", "cm", "zpaq", "headline", "code"}
        assert params["compare"]["models"] and params["compare"]["seeds"]   # the repeats are compared too
        assert stages == expected
        outputs = set(lock_outputs(repo.root))
        assert {f"models/{m}.pt" for m in params["models"]} <= outputs
        assert {f"models/seeds/{m}" for m in params["compare"]["models"]} <= outputs
        assert {f"data/mix/{m}" for m in [*params["mix"], "cm"]} | {"metrics/anchor/zpaq.json"} <= outputs


def test_two_clean_runs_lock_identical_outputs(two_runs):
    first, second = (repo.root for repo in two_runs)
    diff = digest_diff(output_digests(second), output_digests(first))
    assert not diff, ("two clean runs of the same pipeline produced different outputs "
                      "(lock:<path> = the md5 dvc.lock records; other lines are files on disk):\n" + diff)
