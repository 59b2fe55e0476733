"""The compressor anchor: zpaq's cost, in bits per character, of each held-out split given the training split.

    archive A = zpaq( text.txt = train               )    one block, one model from scratch
    archive B = zpaq( text.txt = train + " " + split )    the same block, continued into the split
    <split>.bpc = (|B| - |A|) · 8 / characters of the split

One file, in one block, is what makes the difference a *conditional* cost. zpaq compresses every block
with a fresh model, so the split is coded by a model that has just read all of train, as a language model
trained on train scores it (one that, like dynamic evaluation, keeps learning as it reads). The space joins
the two texts as the splits' books are joined; its few bits count toward the split, its character does not.
Two files in one archive would add the second file's name, date and index entries to the difference, and
zpaq could put them in separate blocks. Both archives hold one file of
the same name, so their headers are the same size; what the split adds beyond its own bits is the index
entry of each ~64 KiB dedupe fragment it brings: 32 bytes each, 0.006 bpc on the 265k characters of our val
split (measured against `-fragment 10`, which makes one fragment). That overhead is part of any zpaq archive
and is counted, as in the issue's reference numbers (1.675 val, 1.666 test at -m5).

The block size is set explicitly (the digit after the level: `-m56` = level 5, 2^6 MiB blocks, zpaq's own
default for -m5), grown only when the text would not fit, and the block count zpaq reports is checked.
One thread (`-t1`) and fixed file names: the archive's sizes are the same on every run. Its bytes are not
(zpaq stores the time of each update in fixed-width fields), so only sizes are used.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from charlm.errors import CharlmError

SKIPPED = {"skipped": "zpaq not found on PATH: apt-get install zpaq, then dvc repro -f -s zpaq"}
_FILE = "text.txt"                    # the one file in every archive: equal names, equal header sizes
_BANNER = re.compile(r"^zpaq v(\d+)\.(\d+)")
_BLOCK = re.compile(r"\[\d+\.\.\d+\] \d+ -method ")   # zpaq's line per compressed block: [frags] bytes -method ...
_MIB = 1 << 20


def find_zpaq() -> str | None:
    """The path of the zpaq executable on PATH, or None."""
    return shutil.which("zpaq")


def zpaq_version(exe: str) -> str:
    """zpaq's version ("7.15") from its banner; not a zpaq 7 (whose options this uses): CharlmError."""
    out = _run([exe], check=False).stdout   # no arguments: banner and usage, exit status 1
    match = _BANNER.match(out)
    if match is None:
        raise CharlmError(f"{exe}: not zpaq (no 'zpaq vX.Y' banner in its output)")
    if int(match[1]) < 7:
        raise CharlmError(f"{exe}: zpaq {match[1]}.{match[2]} is too old; the anchor needs zpaq 7 (-t, -noattributes)")
    return f"{match[1]}.{match[2]}"


def block_method(method: int, size: int) -> str:
    """The -m argument: level `method`, then log2 of the block size in MiB, large enough for `size` bytes."""
    default = 4 if method <= 2 else 6         # zpaq 7's defaults: 16 MiB for -m1/-m2, 64 MiB above
    # zpaq keeps a little of each block for itself; a 1/16 margin leaves plenty, and 2^11 MiB is its limit.
    needed = math.ceil(math.log2(max(size + size // 16, 1) / _MIB)) if size > _MIB else 0
    return f"{method}{min(max(default, needed), 11)}"


def compressed_size(exe: str, text: str, method: int, workdir: Path) -> int:
    """Bytes of a fresh zpaq archive holding `text` as one file in one block; zpaq errors: CharlmError."""
    data = text.encode("utf-8")
    workdir.mkdir(parents=True)
    (workdir / _FILE).write_bytes(data)
    archive = workdir / "text.zpaq"
    out = _run([exe, "a", archive.name, _FILE, f"-m{block_method(method, len(data))}", "-t1", "-noattributes"],
               cwd=workdir).stdout
    blocks = sum(1 for line in out.splitlines() if _BLOCK.search(line))
    if blocks != 1:
        raise CharlmError(f"zpaq packed {len(data)} bytes into {blocks} blocks, not 1: the split would not be "
                          f"coded given train")
    _check_listing(exe, archive, len(data))
    return archive.stat().st_size


def _check_listing(exe: str, archive: Path, size: int) -> None:
    # zpaq exits 0 even when it could not read a file, so the archive must be seen to hold all of it.
    listing = _run([exe, "l", archive.name], cwd=archive.parent).stdout
    if not re.search(rf"^- .*\s{size}\s+{re.escape(_FILE)}$", listing, re.MULTILINE):
        raise CharlmError(f"zpaq's archive {archive.name} does not list {_FILE} with its {size} bytes")


def _run(cmd: list[str], cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except OSError as e:   # not executable, or gone since shutil.which found it
        raise CharlmError(f"{cmd[0]}: cannot run ({e.strerror})") from None
    if check and proc.returncode != 0:
        # zpaq ends stderr with a timing line ("0.000 seconds (with errors)"); the message is the line before.
        lines = [l for l in proc.stderr.splitlines() if l.strip() and not re.match(r"[\d.]+ seconds \(", l)]
        last = lines[-1] if lines else (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
        raise CharlmError(f"{' '.join(cmd[:2])} exited {proc.returncode}: {last.strip()}")
    return proc


def anchor_metrics(sizes: dict[str, int], texts: dict[str, str], method: int, version: str) -> dict:
    """metrics/anchor/zpaq.json (keys: docs/metrics.md) from archive sizes: "train" alone, "val"/"test" after train."""
    metrics = {"method": method, "version": version, "train.bytes_compressed": sizes["train"],
               "train.chars": len(texts["train"])}
    for split in ("val", "test"):
        extra = sizes[split] - sizes["train"]
        metrics |= {f"{split}.bpc": round(extra * 8 / len(texts[split]), 4), f"{split}.bytes_compressed": extra,
                    f"{split}.chars": len(texts[split])}
    return metrics


def run_anchor(exe: str, texts: dict[str, str], method: int, scratch: Path | None = None) -> tuple[dict, dict]:
    """(metrics, runtime log) of the anchor on texts {"train", "val", "test"}; empty split: CharlmError."""
    for split in ("train", "val", "test"):
        if not texts[split]:
            raise CharlmError(f"data/interim/{split}.txt is empty: the anchor needs text in train, val and test")
    version = zpaq_version(exe)
    inputs = {"train": texts["train"], **{s: f"{texts['train']} {texts[s]}" for s in ("val", "test")}}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="zpaq-", dir=scratch) as tmp:
        # Three independent single-threaded processes: running them side by side changes no byte.
        workers = min(len(inputs), len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
        with ThreadPoolExecutor(workers) as pool:
            jobs = {name: pool.submit(_timed, exe, text, method, Path(tmp) / name) for name, text in inputs.items()}
            results = {name: job.result() for name, job in jobs.items()}
    sizes = {name: size for name, (size, _) in results.items()}
    seconds = {name: s for name, (_, s) in results.items()}
    return anchor_metrics(sizes, texts, method, version), anchor_runtime(time.perf_counter() - start, seconds)


def anchor_runtime(wall_s: float, compress_s: dict[str, float]) -> dict:
    """metrics/runtime/zpaq.json: the whole measurement's seconds, and each compression's ("val": train + val)."""
    return {"wall_time_s": round(wall_s, 3), **{f"{name}.compress_s": round(s, 3) for name, s in compress_s.items()}}


def _timed(exe: str, text: str, method: int, workdir: Path) -> tuple[int, float]:
    start = time.perf_counter()
    return compressed_size(exe, text, method, workdir), time.perf_counter() - start
