"""Benchmark: a no-op `dvc repro` (every stage up to date), against DVC's own start-up measured in the same run.

What a user pays on every `dvc repro`, `dvc status` or `dvc exp run` before any stage runs: DVC loads
dvc.yaml and dvc.lock and checks each stage's deps, params and outputs (issue 19 asks for <= 2 s, best of 3).
The baseline, `dvc --version`, is Python and DVC starting up; the difference over the stage count is what one
stage costs DVC. Each command runs `--rounds` times, taking turns, and the best of each is kept. A run in which
any stage ran, or dvc failed, is an error: it would time work, not the check.

    python benchmarks/noop_repro.py [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = {"dvc --version (start-up)": ["--version"], "dvc repro (no-op)": ["repro"]}


def timed(args: list[str]) -> float:
    """Seconds of one `dvc <args>` in this workspace; a failure, or a stage that ran, stops the benchmark."""
    env = dict(os.environ, DVC_NO_ANALYTICS="1", PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    started = time.perf_counter()
    proc = subprocess.run(["dvc", *args], cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"dvc {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    if args == ["repro"] and ("Running stage" in proc.stdout or "up to date" not in proc.stdout):
        sys.exit(f"dvc repro was not a no-op (run it once first):\n{proc.stdout}")
    return seconds


def stage_count() -> int:
    proc = subprocess.run([sys.executable, "-m", "dvc", "stage", "list", "--name-only"], cwd=REPO,
                          capture_output=True, text=True, check=True)
    return len(proc.stdout.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for _ in range(args.rounds):
        for label, command in COMMANDS.items():
            times[label].append(timed(command))
    best = {label: min(values) for label, values in times.items()}
    stages, lock_lines = stage_count(), len((REPO / "dvc.lock").read_text().splitlines())
    start, noop = best["dvc --version (start-up)"], best["dvc repro (no-op)"]
    print(f"{stages} stages, dvc.lock {lock_lines:,} lines; best of {args.rounds}, taking turns\n")
    print("| command | best s | each run s |\n|---|---:|---|")
    for label, values in times.items():
        print(f"| {label} | {best[label]:.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    print(f"\nno-op / start-up: {noop / start:.2f}x; per stage: {1000 * (noop - start) / stages:.0f} ms")


if __name__ == "__main__":
    main()
