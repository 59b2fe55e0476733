"""Minutes per stage of a whole `dvc repro -f`, and each training stage's tokens/s: the README's table.

    python benchmarks/pipeline_minutes.py -- -f              # dvc repro -f here (every stage reruns)
    python benchmarks/pipeline_minutes.py --out benchmarks/results/pipeline_minutes.txt

It runs `dvc repro -f` in this workspace, stamps each "Running stage '<name>'" line as DVC prints it, and
charges the time until the next stage starts to that stage (DVC runs them one at a time, so this includes
DVC's own hashing and caching of the stage's outputs). Shares of the total are printed beside the seconds:
those carry over to another machine, the seconds do not. tokens/s come from each stage's own runtime log
(metrics/runtime/<name>.json). With `data.source` an https URL this includes the download; for an offline
measurement set it to ../shared/data/novels first (it is a transport setting: no stage depends on it).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from charlm.kernels import cpu_flags
from charlm.params import load_params

REPO = Path(__file__).resolve().parents[1]
STAGE_LINE = re.compile(r"^Running stage '([^']+)'")


def timed_repro(args: list[str]) -> tuple[list[tuple[str, float]], float]:
    """([(stage, seconds)] in run order, total seconds) of one `dvc repro` run; a failure stops with its output."""
    env = dict(os.environ, DVC_NO_ANALYTICS="1", PYTHONUNBUFFERED="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    started = time.perf_counter()
    marks: list[tuple[str, float]] = []
    proc = subprocess.Popen(["dvc", "repro", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    tail: list[str] = []
    for line in proc.stdout:
        tail = (tail + [line])[-40:]
        match = STAGE_LINE.match(line)
        if match:
            marks.append((match.group(1), time.perf_counter()))
    if proc.wait() != 0:
        sys.exit("dvc repro failed:\n" + "".join(tail))
    total = time.perf_counter() - started
    ends = [t for _, t in marks[1:]] + [started + total]
    return [(name, end - t) for (name, t), end in zip(marks, ends)], total


def tokens_per_s(stage: str) -> str:
    """The stage's own measured tokens/s, or an empty cell: train@<model>'s, then each of its repeats', joined by
    " / "; for ngram, the range over its n-grams' fits."""
    runtime = REPO / "metrics" / "runtime"
    if stage.startswith("train@"):
        name = stage.split("@", 1)[1]
        logs = [runtime / f"{name}.json", *sorted((runtime / "seeds").glob(f"{name}-s*.json"))]
    elif stage == "ngram":
        logs = sorted(runtime.glob("ngram-*.json"))
    else:
        return ""
    speeds = [json.loads(log.read_text())["tokens_per_s"] for log in logs if log.is_file()]
    if stage == "ngram" and speeds:
        return f"{min(speeds):,} – {max(speeds):,}"
    return " / ".join(f"{speed:,}" for speed in speeds)


def table(times: list[tuple[str, float]], total: float) -> str:
    rows = ["| stage | seconds | minutes | share | tokens/s |", "|---|---:|---:|---:|---:|"]
    rows += [f"| {name} | {s:.1f} | {s / 60:.2f} | {100 * s / total:.1f}% | {tokens_per_s(name)} |"
             for name, s in times]
    groups: dict[str, float] = {}
    for name, s in times:
        groups[name.split("@")[0]] = groups.get(name.split("@")[0], 0.0) + s
    rows += ["", "| stage kind | minutes | share |", "|---|---:|---:|"]
    rows += [f"| {kind} | {s / 60:.2f} | {100 * s / total:.1f}% |" for kind, s in groups.items()]
    rows += ["", f"total: {total:.1f} s = {total / 60:.2f} min ({len(times)} stages)"]
    return "\n".join(rows)


def machine() -> str:
    """The CPU, its widest vector set (the kernels torch may pick) and the params' runtime.kernels."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = cpu_flags()
    widest = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "neither AVX2 nor AVX-512"
    kernels = load_params(REPO / "params.yaml").runtime.kernels
    return f"machine: {model}, {os.cpu_count()} cores, {widest}; runtime.kernels: {kernels}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the table here")
    parser.add_argument("repro_args", nargs="*", default=["-f"], help="arguments of dvc repro (default: -f)")
    args = parser.parse_args()
    report = machine() + "\n\n" + table(*timed_repro(args.repro_args))
    print(report)
    if args.out:
        args.out.write_text(f"$ python benchmarks/pipeline_minutes.py {' '.join(args.repro_args)}\n{report}\n")


if __name__ == "__main__":
    main()
