"""Tiny training inputs for the train tests: an encoded synthetic corpus and a params file around it."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import psutil
import yaml

from charlm.data.vocab import save_vocab
from helpers import REPO, TINY_PARAMS, build_vocab, synthetic_text, tool_env


def tiny_corpus(folder: Path, n_words: int = 2500, seed: int = 7) -> tuple[Path, Path]:
    """(data folder with train.npy/val.npy, vocab.json) from cleaned synthetic text, 90/10 split."""
    text = re.sub(" +", " ", re.sub("[^a-z]", " ", synthetic_text(n_words, seed).lower())).strip()
    vocab = build_vocab(list(text), "char", 0)
    cut = int(len(text) * 0.9)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "train.npy", vocab.encode(text[:cut]))
    np.save(folder / "val.npy", vocab.encode(text[cut:]))
    save_vocab(vocab, folder / "vocab.json")
    return folder, folder / "vocab.json"


def tiny_params(path: Path, train: dict | None = None, **models: dict) -> Path:
    """tests/tiny_params.yaml with `train` keys and per-model keys overridden, written to `path`."""
    params = yaml.safe_load(TINY_PARAMS.read_text())
    params["train"].update(train or {})
    for name, overrides in models.items():
        params["models"][name].update(overrides)
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def stage_command(tmp: Path, name: str, params: Path, data: Path, out: Path) -> list[str]:
    """The train stage's command line as dvc.yaml runs it, with every output under `out`."""
    return [sys.executable, str(REPO / "stages" / "train.py"), "--params", str(params), "--name", name,
            "--data", str(data), "--vocab", str(data / "vocab.json"), "--model", str(out / f"{name}.pt"),
            "--resume", str(out / f"{name}.resume.pt"), "--metrics", str(out / f"{name}.json"),
            "--live", str(out / "live"), "--runtime", str(out / f"{name}.runtime.json"),
            "--repeats", str(out / "seeds"), "--repeat-metrics", str(out / "seeds-metrics.json"),
            "--repeat-runtime", str(out / "seeds-runtime")]


def run_stage(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run the stage to completion; fail the test with its output when it exits non-zero."""
    proc = subprocess.run(cmd, cwd=cwd, env=tool_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def kill_when(cmd: list[str], cwd: Path, marker: str, count: int) -> str:
    """Start `cmd`; once `marker` has started `count` stdout lines, SIGKILL it and every process it started,
    all at once (a lost machine: nothing gets to clean up; torchrun's workers included). Returns its output."""
    env = {**tool_env(), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen, lines = 0, []
    for line in proc.stdout:
        lines.append(line)
        seen += line.startswith(marker)
        if seen >= count:
            job = psutil.Process(proc.pid)
            for process in [*job.children(recursive=True), job]:   # torchrun's workers run in sessions of their own
                process.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the run ended before the kill point:\n{''.join(lines)}"
    return "".join(lines)
