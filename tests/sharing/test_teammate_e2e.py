"""A teammate's fresh `git clone` is up to date: the path of docs/team.md, run exactly as written there.

The origin runs the tiny pipeline the way a user's machine does: Python writes bytecode into the repo's
own src/ (a `__pycache__` inside every hashed code folder), then commits and pushes. The clone has no
bytecode at all, so this fails whenever a cache file sneaks into a dependency hash.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from helpers import (TINY_BOOKS, TRAIN_SUMMARY, TinyRepo, hermetic_env, make_tiny_repo, serve_books, stage_lines,
                     tool_env)
from sharingkit import assert_same_outputs

pytestmark = pytest.mark.e2e

def dvc(repo: TinyRepo, *args: str) -> str:
    """`dvc <args>` running the repo's own src/, writing bytecode as Python does by default; stdout + stderr."""
    env = hermetic_env(repo)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.run(["dvc", *args], cwd=repo.root, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"dvc {' '.join(args)} exited {proc.returncode}:\n{out}"
    return out


def test_fresh_clone_is_up_to_date_and_the_run_cache_skips_training(tmp_path):
    # 1. Whoever ran the pipeline: repro, commit, push the data and the run cache.
    server = serve_books(TINY_BOOKS)
    try:
        origin = make_tiny_repo(tmp_path / "origin", f"{server.url}/{{id}}.txt", books=TINY_BOOKS)
        dvc(origin, "repro")
    finally:
        server.stop()   # from here on, a stage that really runs fails at fetch: a built-in tripwire
    assert list((origin.root / "src").rglob("__pycache__")), "the origin should hold bytecode, as a real one does"
    remote = tmp_path / "remote"
    dvc(origin, "remote", "add", "-d", "storage", str(remote))
    dvc(origin, "push")
    dvc(origin, "push", "--run-cache")
    origin.run("git", "add", "-A")
    origin.run("git", "commit", "-q", "-m", "results")

    # 2. A teammate: git clone, dvc pull; status is clean and repro runs nothing.
    subprocess.run(["git", "clone", "-q", str(origin.root), str(tmp_path / "mate")], check=True, env=tool_env())
    mate = TinyRepo(tmp_path / "mate")
    assert not list((mate.root / "src").rglob("__pycache__"))
    dvc(mate, "pull")
    assert "Data and pipelines are up to date." in dvc(mate, "status")
    out = dvc(mate, "repro")
    assert not stage_lines(out, "Running stage"), out
    assert_same_outputs(mate.root, origin.root)

    # 3. The same teammate without a dvc.lock: the run cache restores every train@ stage, no training.
    # (`dvc pull --run-cache` would fetch the same, then exit 1 over outputs no lock gives a hash for.)
    (mate.root / "dvc.lock").unlink()
    dvc(mate, "fetch", "--run-cache")
    out = dvc(mate, "repro")
    trains = {f"train@{name}" for name in yaml.safe_load((mate.root / "params.yaml").read_text())["models"]}
    assert trains <= stage_lines(out, "is cached - skipping run"), out
    assert not TRAIN_SUMMARY.search(out), out
    assert_same_outputs(mate.root, origin.root)
