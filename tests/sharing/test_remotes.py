"""Sharing through real DVC remotes: a local-folder remote and an S3-compatible server (moto).
(The run cache and the fresh-clone teammate path: test_teammate_e2e.py.)

Each test starts from one finished tiny-profile pipeline (the "origin" repo), pushes it, and checks that a fresh
`git clone` gets back every output bit-identical — without retraining anything.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from helpers import TRAIN_SUMMARY, TinyRepo, require_module, stage_lines, tool_env

pytestmark = pytest.mark.e2e


def tracked_outputs(repo: TinyRepo) -> dict[str, str]:
    """md5 of every file under the pipeline's output folders, keyed by path relative to the repo."""
    digests = {}
    for top in ("data", "models", "metrics", "plots", "reports"):
        for path in sorted((repo.root / top).rglob("*")):
            if path.is_file():
                digests[str(path.relative_to(repo.root))] = hashlib.md5(path.read_bytes()).hexdigest()
    return digests


@pytest.fixture(scope="module")
def origin(tiny_run, tmp_path_factory) -> TinyRepo:
    """A tiny-profile pipeline run to completion, with dvc.lock and the git-tracked metrics committed: a copy of
    the session's finished tiny run, git and DVC cache included."""
    dest = tmp_path_factory.mktemp("origin") / "repo"
    shutil.copytree(tiny_run.root, dest, symlinks=True)
    repo = TinyRepo(dest)
    # No server at this source (data.source is no stage's param, so nothing goes stale): from here on, any
    # stage that really runs fails at fetch, a built-in tripwire.
    repo.edit_params(**{"data.source": "http://127.0.0.1:1/{id}.txt"})
    repo.run("git", "commit", "-q", "-am", "no book server")
    assert not repo.stale_stages()
    return repo


def clone(origin: TinyRepo, dest: Path) -> TinyRepo:
    subprocess.run(["git", "clone", "-q", str(origin.root), str(dest)], check=True, env=tool_env())
    return TinyRepo(dest)


def test_local_remote_round_trip(origin, tmp_path):
    remote = tmp_path / "remote"
    origin.dvc("remote", "add", "-f", "-d", "shared", str(remote))
    origin.run("git", "commit", "-q", "-am", "add remote")
    origin.dvc("push")

    mate = clone(origin, tmp_path / "mate")
    mate.dvc("pull")
    assert "up to date" in mate.dvc("status").stdout.lower()
    assert "in sync" in mate.dvc("status", "-c").stdout.lower()
    assert tracked_outputs(mate) == tracked_outputs(origin)


def test_s3_remote_round_trip(origin, tmp_path):
    boto3 = require_module("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        creds = dict(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        boto3.client("s3", endpoint_url=endpoint, **creds).create_bucket(Bucket="charlm-team")

        def configure(repo: TinyRepo) -> None:
            # The remote URL is shared (committed); the endpoint and credentials stay in config.local.
            repo.dvc("remote", "add", "-f", "-d", "s3team", "s3://charlm-team/cache")
            repo.dvc("remote", "modify", "--local", "s3team", "endpointurl", endpoint)
            repo.dvc("remote", "modify", "--local", "s3team", "access_key_id", "testing")
            repo.dvc("remote", "modify", "--local", "s3team", "secret_access_key", "testing")

        configure(origin)
        assert "testing" not in (origin.root / ".dvc" / "config").read_text()
        origin.dvc("push")

        mate = clone(origin, tmp_path / "mate")
        configure(mate)
        mate.dvc("pull")
        assert "in sync" in mate.dvc("status", "-c").stdout.lower()
        assert tracked_outputs(mate) == tracked_outputs(origin)
        listed = boto3.client("s3", endpoint_url=endpoint, **creds).list_objects_v2(Bucket="charlm-team")
        assert listed["KeyCount"] > 0
    finally:
        server.stop()


def test_fresh_clone_repro_pull_restores_every_stage_without_running_any(origin, tmp_path):
    """The teammate workflow that needs no run cache: clone, then `dvc repro --pull`. The committed dvc.lock
    says every stage is up to date, so DVC only pulls the outputs it lacks; nothing is retrained."""
    remote = tmp_path / "remote"
    origin.dvc("remote", "add", "-f", "-d", "shared", str(remote))
    origin.dvc("push")

    mate = clone(origin, tmp_path / "mate")
    mate.dvc("remote", "add", "-f", "-d", "shared", str(remote))
    result = mate.dvc("repro", "--pull")
    out = result.stdout + result.stderr
    assert not stage_lines(out, "Running stage"), out
    assert not TRAIN_SUMMARY.search(out), out
    locked = set(yaml.safe_load((origin.root / "dvc.lock").read_text())["stages"])
    assert {s for s in locked if s.startswith("train@")} <= stage_lines(out, "Pulling data for stage"), out
    assert tracked_outputs(mate) == tracked_outputs(origin)
    assert "up to date" in mate.dvc("status").stdout.lower()
