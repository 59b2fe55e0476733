"""Resume after a real SIGKILL: rerunning the stage reaches bit-identical weights, metrics and curves.

Each test kills a real `stages/train.py` process: once partway through training, once in the middle
of writing a resume checkpoint. Timings live in the runtime log, so every output must match byte for byte.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from trainkit import kill_when, run_stage, stage_command, tiny_corpus, tiny_params

pytestmark = pytest.mark.slow
NAME = "bilstm"   # two directions, two layers, dropout: the most state to restore


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    data, _ = tiny_corpus(root / "data")
    params = tiny_params(root / "params.yaml", train={"max_tokens": 9000, "eval_every_tokens": 1000},
                         bilstm={"dropout": 0.1})
    reference = root / "reference"
    run_stage(stage_command(root, NAME, params, data, reference), root)
    return root, data, params, reference


def _assert_same_outputs(out: Path, reference: Path) -> None:
    assert (out / f"{NAME}.pt").read_bytes() == (reference / f"{NAME}.pt").read_bytes()
    assert (out / f"{NAME}.json").read_bytes() == (reference / f"{NAME}.json").read_bytes()
    files = sorted(p.relative_to(reference / "live") for p in (reference / "live").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(out / "live") for p in (out / "live").rglob("*") if p.is_file())
    for file in files:
        assert (out / "live" / file).read_bytes() == (reference / "live" / file).read_bytes(), file
    # The runtime log covers every evaluation, including those from before the kill.
    runtimes = [json.loads((d / f"{NAME}.runtime.json").read_text()) for d in (out, reference)]
    assert [p["tokens"] for p in runtimes[0]["curve"]] == [p["tokens"] for p in runtimes[1]["curve"]]


def _eval_tokens(line: str) -> int:
    return int(line.split()[4].replace(",", ""))   # "<name> step S tokens N ..."


def _first_eval_tokens(stdout: str) -> int:
    return _eval_tokens(next(line for line in stdout.splitlines() if line.startswith(f"{NAME} step")))


def test_sigkill_partway_then_rerun_matches_an_unbroken_run(setup):
    root, data, params, reference = setup
    out = root / "killed"
    printed = kill_when(stage_command(root, NAME, params, data, out), root, f"{NAME} step", 3)
    third_eval = _eval_tokens(printed.splitlines()[-1])
    assert not (out / f"{NAME}.pt").exists() and (out / f"{NAME}.resume.pt").exists()
    rerun = run_stage(stage_command(root, NAME, params, data, out), root)
    assert _first_eval_tokens(rerun.stdout) > third_eval          # it continued; it did not start over
    _assert_same_outputs(out, reference)


# Runs the stage with Python's open() hooked: the 3rd time any file named after the resume checkpoint is
# opened for writing (the checkpoint itself, or a temp file beside it), half the bytes go in and the process
# hangs there to be killed. The hook sits under charlm, so the save under test runs as it is: had it written
# the checkpoint in place, the kill would leave that file half-written and the rerun would start over.
# (It sees only writes through open(), as charlm.io.atomic_write makes them.)
_HALF_WRITE = """
import builtins, io, pathlib, runpy, sys, time
real_open, writes = io.open, []
class HalfThenHang:
    def __init__(self, f, name):
        self.f, self.name = f, name
    def write(self, data):
        self.f.write(data[: len(data) // 2])
        self.f.flush()
        print("HALF-WRITTEN", self.name, flush=True)
        time.sleep(600)
    def __getattr__(self, attr):
        return getattr(self.f, attr)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.f.close()
def hooked_open(file, mode="r", *args, **kwargs):
    f = real_open(file, mode, *args, **kwargs)
    if ".resume.pt" in str(file) and any(m in mode for m in "wxa"):
        writes.append(file)
        if len(writes) == 3:
            return HalfThenHang(f, file)
    return f
io.open = builtins.open = hooked_open
if hasattr(pathlib, "_NormalAccessor"):   # Python 3.10's pathlib keeps its own reference to io.open
    pathlib._NormalAccessor.open = staticmethod(hooked_open)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_sigkill_while_writing_a_checkpoint_keeps_the_previous_one(setup):
    root, data, params, reference = setup
    out = root / "killed_mid_write"
    cmd = stage_command(root, NAME, params, data, out)
    printed = kill_when([sys.executable, "-c", _HALF_WRITE, *cmd[1:]], root, "HALF-WRITTEN", 1)
    half = Path(printed.splitlines()[-1].split(maxsplit=1)[1])
    assert half.stat().st_size > 0, "the kill should have left a half-written file"
    rerun = run_stage(cmd, root)
    assert 3000 <= _first_eval_tokens(rerun.stdout) < 4000   # resumed from the 2nd checkpoint: the 3rd eval is next
    _assert_same_outputs(out, reference)
