"""Killing `dvc repro` mid-training never leaves a half-written output that DVC takes as valid, and the next
`dvc repro` finishes with every output byte-identical to an uninterrupted run's.

Each test copies one prepared repo (data stages done), starts `dvc repro train@rnn` in its own process group,
and stops the whole group at one point of the train stage: SIGKILL before the first evaluation, SIGKILL after
a few evaluations, SIGKILL in the middle of writing a resume checkpoint, and SIGINT (Ctrl-C). The exact
points come from output lines, never from timers: the stage's "<name> step S tokens N ..." summaries, or a
`FAULT` line from tests/sharing/fault_launcher.py, injected as the `train.launcher` param.
"""
from __future__ import annotations

import os
import re
import signal

import pytest

from charlm.models.checkpoint import load_checkpoint
from charlm.train.resume import RESUME_FORMAT
from helpers import TINY_BOOKS, make_tiny_repo, serve_books
from sharingkit import (FAULT_LAUNCHER, LiveDvc, assert_same_outputs, copy_repo, dvc, stale_stages,
                        workspace_files)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAME = "rnn"
STAGE = f"train@{NAME}"
MODEL, METRICS = f"models/{NAME}.pt", f"metrics/train/{NAME}.json"
RESUME = f"checkpoints/{NAME}.resume.pt"
LIVE = f"dvclive/train/{NAME}/"
# Long enough (20 evaluations, two epochs) that every kill point lands well before the run can finish.
LONGER = {f"models.{NAME}.train": {"max_tokens": 40000, "max_epochs": 4}}
SUMMARY = re.compile(rf"^{NAME} step (\d+) tokens ([\d,]+) ")


def is_summary(line: str) -> bool:
    return bool(SUMMARY.match(line))


def summary_tokens(line: str) -> int:
    return int(SUMMARY.match(line).group(2).replace(",", ""))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The tiny repo with the longer rnn run, committed, and its data stages (fetch .. encode) reproduced."""
    server = serve_books(TINY_BOOKS)
    try:
        repo = make_tiny_repo(tmp_path_factory.mktemp("prepared") / "repo", f"{server.url}/{{id}}.txt",
                              books=TINY_BOOKS)
        repo.edit_params(**LONGER)
        repo.run("git", "commit", "-qam", "longer rnn run")
        dvc(repo, "repro", "encode")
    finally:
        server.stop()   # from here on a copy that reran fetch would fail: the kills must not disturb it
    return repo


@pytest.fixture(scope="module")
def reference(prepared, tmp_path_factory):
    """An uninterrupted `dvc repro train@rnn` from the prepared state; `.evals` = tokens at each evaluation."""
    repo = copy_repo(prepared, tmp_path_factory.mktemp("reference") / "repo")
    out = dvc(repo, "repro", STAGE).stdout
    repo.evals = [summary_tokens(line) for line in out.splitlines() if is_summary(line)]
    assert len(repo.evals) >= 10, f"the longer run should evaluate often:\n{out}"
    return repo


@pytest.fixture
def repo(prepared, tmp_path):
    return copy_repo(prepared, tmp_path / "repo")


def set_launcher(repo, launcher: str) -> None:
    repo.edit_params(**{"train.launcher": launcher})


def assert_nothing_half_written_was_taken(repo, before: set[str]) -> None:
    """After a kill: DVC does not consider the stage done, its outputs are absent, and every new file is a
    temp file, the resume checkpoint, or the DVCLive curves logged so far (which the rerun rebuilds)."""
    assert STAGE in stale_stages(repo, STAGE), "dvc status takes the killed train stage as in sync"
    for output in (MODEL, METRICS):
        assert not (repo.root / output).exists(), f"{output} exists after the kill"
    new = workspace_files(repo.root) - before
    unexpected = {f for f in new if not (f.endswith(".tmp") or f == RESUME or f.startswith(LIVE))}
    assert not unexpected, f"files left by the killed run that are neither temp files nor the resume checkpoint: " \
                           f"{sorted(unexpected)}"


def rerun_and_compare(repo, reference) -> str:
    """`dvc repro train@rnn` with the plain launcher: it completes, and every output equals the reference's."""
    set_launcher(repo, "python")
    out = dvc(repo, "repro", STAGE).stdout
    assert_same_outputs(repo.root, reference.root)
    assert not (repo.root / RESUME).exists(), "a finished run should delete its resume checkpoint"
    assert not stale_stages(repo, STAGE), "after the rerun, dvc status should find the stage in sync"
    return out


def first_summary_tokens(out: str) -> int:
    return summary_tokens(next(line for line in out.splitlines() if is_summary(line)))


def test_sigkill_before_the_first_evaluation(repo, reference):
    set_launcher(repo, f"python {FAULT_LAUNCHER} after-first-step")
    before = workspace_files(repo.root)
    with LiveDvc(repo, "repro", STAGE) as run:
        run.wait_for(lambda line: line.startswith("FAULT "))
        run.signal(signal.SIGKILL)
        run.wait()
        run.wait_group_gone()
    assert not any(map(is_summary, run.lines)), f"an evaluation ran before the kill point:\n{run.output}"
    assert not (repo.root / RESUME).exists(), "no evaluation yet, so no resume checkpoint"
    assert_nothing_half_written_was_taken(repo, before)
    rerun_and_compare(repo, reference)


def test_sigkill_mid_epoch_then_rerun_resumes(repo, reference):
    before = workspace_files(repo.root)
    with LiveDvc(repo, "repro", STAGE) as run:
        third = run.wait_for(is_summary, count=3)
        run.signal(signal.SIGKILL)
        run.wait()
        run.wait_group_gone()
    assert " epoch 0 " in third, f"the kill should land inside the first epoch: {third}"
    assert (repo.root / RESUME).exists(), "three evaluations ran, so a resume checkpoint should be there"
    assert_nothing_half_written_was_taken(repo, before)
    out = rerun_and_compare(repo, reference)
    # Same launcher, same params: the rerun continues from the last checkpoint instead of starting over.
    assert first_summary_tokens(out) > summary_tokens(third), f"the rerun started over:\n{out}"


def test_sigkill_while_writing_a_resume_checkpoint(repo, reference):
    set_launcher(repo, f"python {FAULT_LAUNCHER} half-write-resume:2")
    before = workspace_files(repo.root)
    with LiveDvc(repo, "repro", STAGE) as run:
        fault = run.wait_for(lambda line: line.startswith("FAULT "))
        run.signal(signal.SIGKILL)
        run.wait()
        run.wait_group_gone()
    half = repo.root / fault.split(": ", 1)[1].strip()   # the file charlm's atomic_write was writing into
    assert half.name.endswith(".tmp") and half.exists(), f"the half-written bytes went to {half}, not a temp file"
    # The half-written bytes never replaced the checkpoint: it is still the first one, whole and loadable.
    payload = load_checkpoint(repo.root / RESUME, RESUME_FORMAT)
    assert len(payload["snapshot"]["history"]) == 1
    assert_nothing_half_written_was_taken(repo, before)
    out = rerun_and_compare(repo, reference)
    # It resumed from that first checkpoint: its first evaluation is the unbroken run's second.
    assert first_summary_tokens(out) == reference.evals[1], f"the rerun did not resume from checkpoint #1:\n{out}"


# dvc runs a stage's command under the user's $SHELL; an interrupt must be clean under either kind of shell.
@pytest.mark.parametrize("shell", [sh for sh in ("/bin/bash", "/bin/sh") if os.path.exists(sh)])
def test_sigint_stops_cleanly_and_the_rerun_resumes(repo, reference, shell):
    before = workspace_files(repo.root)
    with LiveDvc(repo, "repro", STAGE, shell=shell) as run:
        second = run.wait_for(is_summary, count=2)
        run.signal(signal.SIGINT)   # what Ctrl-C in a terminal sends: the whole foreground group
        rc = run.wait(timeout=120)
        run.wait_group_gone()
    assert rc != 0, f"an interrupted dvc repro must not exit 0:\n{run.output}"
    # The stage says what happened and what to do; dvc names the stage that failed.
    assert "interrupted: outputs written so far are complete; rerun `dvc repro` to continue" in run.output
    # bash execs a lone command, so dvc sees the stage's own exit code 130; dash forks, receives the group's
    # SIGINT itself and dies of it, so dvc sees -2.
    assert f"failed to reproduce '{STAGE}'" in run.output, run.output
    assert re.search(r"exited with (130|-2)\b", run.output), run.output
    assert "Traceback" not in run.output, run.output
    assert "Updating lock file" not in run.output.split(second)[1], "dvc locked the interrupted stage"
    assert_nothing_half_written_was_taken(repo, before)
    out = rerun_and_compare(repo, reference)
    assert first_summary_tokens(out) > summary_tokens(second), f"the rerun started over:\n{out}"
