"""What a teammate's fresh clone costs: `git clone`, `dvc pull`, then `dvc status` and `dvc repro`.

    python benchmarks/fresh_clone.py            # after a full `dvc repro` here, with the results committed

It clones HEAD of this repo into a temp folder, uses this workspace's DVC cache as the clone's remote (a
local remote has the cache's layout, so nothing is pushed), and times each step. The baseline, measured in
the same run, is a no-op `dvc repro` in this workspace: a clone that is really up to date costs the same.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(args: list[str], cwd: Path) -> tuple[float, str]:
    """(seconds, stdout + stderr) of one command; a failure stops the benchmark with its output."""
    env = dict(os.environ, DVC_NO_ANALYTICS="1", PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed in {cwd}:\n{proc.stdout}{proc.stderr}")
    return seconds, proc.stdout + proc.stderr


def main() -> None:
    cache = REPO / ".dvc" / "cache"
    if not cache.is_dir():
        sys.exit(f"{cache} does not exist: run `dvc repro` here first")
    baseline, _ = run(["dvc", "repro"], REPO)
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        clone_s, _ = run(["git", "clone", "-q", str(REPO), str(clone)], Path(tmp))
        run(["dvc", "remote", "add", "--local", "-d", "here", str(cache)], clone)
        pull_s, _ = run(["dvc", "pull"], clone)
        status_s, status = run(["dvc", "status"], clone)
        repro_s, repro = run(["dvc", "repro"], clone)
    ran = [line for line in repro.splitlines() if line.startswith("Running stage")]
    print(f"fresh clone of {REPO.name} at {subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO, capture_output=True, text=True).stdout.strip()}")
    print(f"  git clone        {clone_s:6.1f} s")
    print(f"  dvc pull         {pull_s:6.1f} s")
    print(f"  dvc status       {status_s:6.1f} s   -> {status.strip()}")
    print(f"  dvc repro        {repro_s:6.1f} s   -> {len(ran)} stage(s) ran{': ' + ', '.join(ran) if ran else ''}")
    print(f"  baseline: no-op dvc repro in this workspace {baseline:.1f} s; clone / baseline = {repro_s / baseline:.2f}x")


if __name__ == "__main__":
    main()
