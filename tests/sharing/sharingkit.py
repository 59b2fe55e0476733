"""What the sharing e2e tests share: a dvc runner that uses the copy's own code, dvc.lock output digests
with a readable diff, and a `dvc repro` in its own process group whose output is read line by line.
"""
from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import yaml

from helpers import TinyRepo, hermetic_env

FAULT_LAUNCHER = Path(__file__).with_name("fault_launcher.py")
WAIT_S = 300           # the longest any single wait on a dvc process may take before the test fails


def dvc(repo: TinyRepo, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `dvc <args>` in the copy (hermetic env); on failure show its output."""
    proc = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo.root, env=hermetic_env(repo),
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout}"
                             f"\n--- stderr\n{proc.stderr}")
    return proc


def stale_stages(repo: TinyRepo, *targets: str) -> dict:
    """`dvc status --json`: {stage: what changed} for each stage (of `targets` and everything upstream of
    them; default all) that is not in sync with dvc.lock."""
    return json.loads(dvc(repo, "status", "--json", *(("--with-deps", *targets) if targets else ())).stdout
                      or "{}")


def copy_repo(repo: TinyRepo, dest: Path) -> TinyRepo:
    """A byte-for-byte copy of a tiny repo (git, DVC cache, workspace) at `dest`."""
    shutil.copytree(repo.root, dest, symlinks=True)
    return TinyRepo(dest)


# ------------------------------------------------------------------------------- dvc.lock outputs
def lock_outputs(root: Path) -> dict[str, str]:
    """{output path: md5} for every `outs` entry of every stage in dvc.lock (directories: the `.dir` md5)."""
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", [])}


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def output_digests(root: Path) -> dict[str, str]:
    """The dvc.lock md5 of each output (key `lock:<path>`) and the md5 of every file on disk under it."""
    digests = {}
    for path, md5 in lock_outputs(root).items():
        digests[f"lock:{path}"] = md5
        target = root / path
        files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
        for file in files:
            digests[str(file.relative_to(root))] = _md5(file) if file.exists() else "(missing)"
    return digests


def digest_diff(actual: dict[str, str], expected: dict[str, str]) -> str:
    """One line per output or file that differs, is missing, or is extra; '' when they agree."""
    lines = []
    for key in sorted(actual.keys() | expected.keys()):
        a, e = actual.get(key), expected.get(key)
        if a == e:
            continue
        if a is None:
            lines.append(f"  missing  {key} (expected {e})")
        elif e is None:
            lines.append(f"  extra    {key} ({a})")
        else:
            lines.append(f"  differs  {key}: {a} != expected {e}")
    return "\n".join(lines)


def assert_same_outputs(actual: Path, expected: Path) -> None:
    """Every dvc.lock output (and every file in it) of `actual` is byte-identical to `expected`'s."""
    got, want = output_digests(actual), output_digests(expected)
    assert any(k.startswith("lock:") for k in want), f"{expected}/dvc.lock lists no outputs"
    diff = digest_diff(got, want)
    assert not diff, f"outputs of {actual} differ from {expected}:\n{diff}"


def workspace_files(root: Path) -> set[str]:
    """Every file in the copy outside .git and .dvc, relative to its root."""
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and p.relative_to(root).parts[0] not in (".git", ".dvc")}


# ------------------------------------------------------------------------------ a live dvc process
def _default_sigint() -> None:
    # A shell starts background jobs (`cmd &`, nohup, some CI runners) with SIGINT ignored, and an ignored
    # signal stays ignored across exec, so dvc and its stages would never see the Ctrl-C under test.
    # A terminal's foreground job has the default disposition; restore it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class LiveDvc:
    """`dvc <args>` started in a new session (its own process group), its merged stdout/stderr read on a
    thread, so a test can wait for a line and then signal the whole group (dvc and the stage it runs).

    Use as a context manager: on exit, whatever is left of the group is SIGKILLed and reaped.
    """

    def __init__(self, repo: TinyRepo, *args: str, shell: str | None = None):
        self.args = args
        env = hermetic_env(repo)
        if shell:
            env["SHELL"] = shell   # dvc runs stage commands under $SHELL -c
        self.proc = subprocess.Popen([sys.executable, "-m", "dvc", *args], cwd=repo.root, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True, preexec_fn=_default_sigint)
        self.pgid = self.proc.pid
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, predicate: Callable[[str], bool], count: int = 1, timeout: float = WAIT_S) -> str:
        """Read lines until `count` of them satisfied `predicate`; return the last. Fails on exit or timeout."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"dvc {' '.join(self.args)}: no such line within {timeout:.0f} s; "
                                     f"output so far:\n{self.output}") from None
            if line is None:
                raise AssertionError(f"dvc {' '.join(self.args)} ended (exit {self.proc.wait()}) before the "
                                     f"expected line; output:\n{self.output}")
            self.lines.append(line)
            if predicate(line):
                seen += 1
                if seen >= count:
                    return line

    def signal(self, sig: int) -> None:
        """Send `sig` to the whole process group, as a terminal does for Ctrl-C."""
        os.killpg(self.pgid, sig)

    def wait(self, timeout: float = WAIT_S) -> int:
        """Wait for dvc to exit and its output to end; returns the exit status."""
        rc = self.proc.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while (line := self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))) is not None:
            self.lines.append(line)
        return rc

    def group_alive(self) -> bool:
        """Whether any process of the group still runs (zombies left for init to reap do not count)."""
        return bool(live_members(self.pgid))

    def wait_group_gone(self, timeout: float = 30) -> None:
        """Fail unless every process of the group has exited (a surviving stage could still write outputs)."""
        deadline = time.monotonic() + timeout
        while self.group_alive():
            assert time.monotonic() < deadline, f"processes of group {self.pgid} survived:\n{ps_group(self.pgid)}"
            time.sleep(0.05)

    def __enter__(self) -> "LiveDvc":
        return self

    def __exit__(self, *exc) -> None:
        if self.group_alive():
            with_suppressed(lambda: os.killpg(self.pgid, signal.SIGKILL))
        with_suppressed(lambda: self.proc.wait(timeout=30))


def with_suppressed(fn: Callable[[], object]) -> None:
    try:
        fn()
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass


def live_members(pgid: int) -> list[int]:
    """PIDs in process group `pgid` that are not zombies, from /proc/<pid>/stat."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()   # after "(comm)": state ppid pgrp ...
        except (OSError, IndexError):
            continue   # exited while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def ps_group(pgid: int) -> str:
    return subprocess.run(["ps", "-o", "pid,pgid,stat,args", "-g", str(pgid)], capture_output=True,
                          text=True).stdout
