"""A parameter sweep through DVC's experiment queue: `dvc exp run --queue -S 'models.rnn.hidden_size=8,12'`
queues two experiments, `dvc queue start -j 2` runs them in temp copies of the repo, and `dvc exp show --json`
lists both with their params and metrics.

Queued runs see only what git and DVC track, so the tiny repo is committed (with the data stages reproduced
and locked) before queueing; the loopback book server keeps running in case a run needs to fetch.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from dvc import api as dvc_api

from helpers import TINY_BOOKS, make_tiny_repo, serve_books
from sharingkit import dvc

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SIZES = (8, 12)
TARGET = "evaluate@rnn"          # train@rnn and its evaluation: the cheapest targets that produce both metrics
QUEUE_TIMEOUT_S = 600
DONE = {"Success", "Failed", "Killed"}


def queue_status(repo) -> dict[str, str]:
    """{experiment name: status} from `dvc queue status` (columns: task, name, created, status)."""
    rows = {}
    for line in dvc(repo, "queue", "status").stdout.splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[-1] in DONE | {"Queued", "Running"}:
            rows[cols[1]] = cols[-1]
    return rows


def processes_under(root: Path) -> list[int]:
    """PIDs (other than ours) whose working directory is inside `root`: the queue's workers and runs."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cwd = Path(os.readlink(proc / "cwd"))
        except OSError:
            continue
        if int(proc.name) != os.getpid() and cwd.is_relative_to(root):
            pids.append(int(proc.name))
    return pids


def stop_queue(repo) -> None:
    """`dvc queue stop --kill`, then SIGKILL anything still running inside the repo (by pid); fail if it stays."""
    dvc(repo, "queue", "stop", "--kill", check=False, timeout=120)
    deadline = time.monotonic() + 30
    while pids := processes_under(repo.root):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert time.monotonic() < deadline, f"queue processes survived: {pids}"
        time.sleep(0.2)


@pytest.fixture
def sweep(tmp_path):
    """Queue the two-point sweep on a committed tiny repo and run it; yields (repo, statuses, seconds taken)."""
    server = serve_books(TINY_BOOKS)
    repo = make_tiny_repo(tmp_path / "repo", f"{server.url}/{{id}}.txt", books=TINY_BOOKS)
    try:
        dvc(repo, "repro", "encode")
        repo.run("git", "add", "-A")
        repo.run("git", "commit", "-qm", "data stages")
        start = time.monotonic()
        sizes = ",".join(map(str, SIZES))
        queued = dvc(repo, "exp", "run", "--queue", "-S", f"models.rnn.hidden_size={sizes}", TARGET).stdout
        assert queued.count("Queued experiment") == len(SIZES), queued
        dvc(repo, "queue", "start", "-j", "2")
        deadline = time.monotonic() + QUEUE_TIMEOUT_S
        while True:
            status = queue_status(repo)
            if len(status) == len(SIZES) and set(status.values()) <= DONE:
                break
            assert time.monotonic() < deadline, f"queue not done after {QUEUE_TIMEOUT_S} s: {status}"
            time.sleep(1)   # polling: the queue has no "wait" command
        elapsed = time.monotonic() - start
        failed = [name for name, state in status.items() if state != "Success"]
        logs = "\n".join(dvc(repo, "queue", "logs", name, check=False).stdout for name in failed)
        assert not failed, f"experiments {failed} did not succeed:\n{logs}"
        yield repo, elapsed
    finally:
        stop_queue(repo)
        server.stop()


def test_queued_sweep_runs_both_points_and_exp_show_lists_them(sweep):
    repo, elapsed = sweep
    print(f"queue of {len(SIZES)} tiny experiments took {elapsed:.0f} s")
    baseline, = [row for row in json.loads(dvc(repo, "exp", "show", "--json").stdout) if row["rev"] != "workspace"]
    runs = {}
    for exp in baseline["experiments"] or []:
        rev = exp["revs"][0]
        data = rev["data"]
        hidden = data["params"]["params.yaml"]["data"]["models"]["rnn"]["hidden_size"]
        # metrics/{train,eval}/rnn.json are plain outputs, not DVC metrics (dvc.yaml): read from the experiment
        runs[hidden] = (rev["name"], {kind: json.loads(dvc_api.read(f"metrics/{kind}/rnn.json", repo=str(repo.root),
                                                                     rev=rev["rev"]))
                                      for kind in ("train", "eval")})
    assert sorted(runs) == sorted(SIZES), f"exp show lists hidden sizes {sorted(runs)}"
    assert len({name for name, _ in runs.values()}) == len(SIZES), "each point is its own named experiment"

    params_count = {}
    for hidden, (name, metrics) in runs.items():
        train, evaluation = metrics["train"], metrics["eval"]
        assert train and evaluation, f"{name}: metrics missing from exp show: {metrics}"
        assert train["val.bpc"] > 0 and evaluation["test.bpc"] > 0
        # Each experiment's metrics come from its own model, not a shared workspace file.
        assert train["num_parameters"] == evaluation["num_parameters"]
        params_count[hidden] = train["num_parameters"]
    assert params_count[min(SIZES)] < params_count[max(SIZES)]
    # The runs happened in temp copies: the workspace keeps the committed params and has no rnn model.
    assert repo.params["models"]["rnn"]["hidden_size"] not in SIZES
    assert not (repo.root / "models" / "rnn.pt").exists()
