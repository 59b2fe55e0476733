"""DDP with real torchrun (gloo, 2 CPU processes): the same curve as one process at the same global batch,
only rank 0 writes, a batch the ranks cannot share is a one-line error, and a killed job resumes exactly.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch

from charlm.errors import CharlmError
from charlm.models import build_model
from charlm.models.scoring import stream_nll
from charlm.params import ARCH_PARAMS, load_params
from charlm.train.distributed import Dist
from charlm.train.resume import run_fingerprint
from charlm.train.runtime import setup_runtime
from charlm.train.validate import _shard_nll
from helpers import TINY_PARAMS, tool_env
from trainkit import kill_when, run_stage, stage_command, tiny_corpus, tiny_params

TORCHRUN = ["torchrun", "--standalone", "--nproc_per_node", "2"]   # the venv's: tool_env() puts it first on PATH
NAME = "bilstm"   # two directions and tied weights: the most that one DDP forward has to cover

# Relative tolerance between the DDP and single-process curves. Measured on the tiny profile (6 to 9
# evaluations, 2 processes, 6 models): at most 2.3e-7 for the train loss and 2.2e-8 for val bpc: float32
# rounding. The math is the same; the rounding is not: each rank's matmuls have half the rows, DDP
# pre-divides and gloo sums the gradients in its own order, and every step's tiny weight difference
# feeds the next. 1e-5 leaves 40x headroom, while a real error is far outside it: without gradient
# sync (each rank training on its half) the curves differ by about 1e-2.
CURVE_RTOL = 1e-5


def torchrun(cmd: list[str]) -> list[str]:
    """A stage command (`python stages/train.py ...`) launched as 2 processes instead; --standalone picks a
    free port, so tests running side by side never collide."""
    return [*TORCHRUN, *cmd[1:]]


def curve(live: Path, metric: str) -> list[tuple[int, float]]:
    """[(tokens, value)] from a DVCLive tsv."""
    rows = (live / "plots" / "metrics" / f"{metric}.tsv").read_text().splitlines()[1:]
    return [(int(step), float(value)) for step, value in (row.split("\t") for row in rows)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same tiny run (global batch 8) as one process and as 2 DDP processes (4 rows each)."""
    root = tmp_path_factory.mktemp("ddp")
    data, _ = tiny_corpus(root / "data")
    params = tiny_params(root / "params.yaml", train={"batch_size": 8, "max_tokens": 6000, "eval_every_tokens": 1000})
    single = run_stage(stage_command(root, NAME, params, data, root / "single"), root)
    ddp = run_stage(torchrun(stage_command(root, NAME, params, data, root / "ddp")), root)
    return root, data, single, ddp


@pytest.mark.slow
def test_ddp_gives_the_single_process_curve_at_the_same_global_batch(runs):
    root = runs[0]
    for metric in ("train/loss_nats", "val/bpc", "val/bpc_forward", "val/bpc_backward"):
        one, two = curve(root / "single" / "live", metric), curve(root / "ddp" / "live", metric)
        assert [t for t, _ in one] == [t for t, _ in two] and len(one) >= 5
        for (tokens, a), (_, b) in zip(one, two):
            assert b == pytest.approx(a, rel=CURVE_RTOL), (metric, tokens)
    assert json.loads((root / "ddp" / f"{NAME}.runtime.json").read_text())["world_size"] == 2


@pytest.mark.slow
def test_only_rank_0_prints_and_writes(runs):
    root, _, single, ddp = runs
    out = root / "ddp"
    evaluations = json.loads((out / f"{NAME}.json").read_text())["evaluations"]
    summary = [line for line in ddp.stdout.splitlines() if line.startswith(f"{NAME} step")]
    assert len(summary) == evaluations == len(curve(out / "live", "val/bpc"))   # one line per eval, not two
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (root / "single").iterdir()) == \
           sorted([f"{NAME}.pt", f"{NAME}.json", f"{NAME}.runtime.json", "live", "seeds", "seeds-metrics.json"])  # no
    # resume file, no temp files; "seeds" holds only repeats.json, {} (bilstm is not in the tiny compare.models)


@pytest.mark.slow
def test_a_batch_the_ranks_cannot_share_is_one_line_and_no_output(tmp_path, runs):
    data = runs[1]
    params = tiny_params(tmp_path / "params.yaml", train={"batch_size": 5})
    proc = subprocess.run(torchrun(stage_command(tmp_path, NAME, params, data, tmp_path / "out")), cwd=tmp_path,
                          env=tool_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    # Each process says it once (a rank-specific error must never be hidden, so rank 1 is not silenced).
    assert errors and set(errors) == {"error: train.batch_size: 5 is not divisible by the world size 2 (processes "
                                      "in the torchrun job); each process takes an equal share of the batch rows"}
    assert not (tmp_path / "out").exists()


def _eval_tokens(stdout: str) -> list[int]:
    """Tokens of every summary line "<name> step S tokens N ..."."""
    return [int(line.split()[4].replace(",", "")) for line in stdout.splitlines() if line.startswith(f"{NAME} step")]


@pytest.mark.slow
def test_a_killed_ddp_job_resumes_to_the_unbroken_result(tmp_path, runs):
    data = runs[1]
    # Dropout on: each rank's RNG state must come back as its own, and each rank's carried state as its rows.
    params = tiny_params(tmp_path / "params.yaml", train={"max_tokens": 9000, "eval_every_tokens": 1000},
                         bilstm={"dropout": 0.1})
    reference, out = tmp_path / "reference", tmp_path / "killed"
    run_stage(torchrun(stage_command(tmp_path, NAME, params, data, reference)), tmp_path)
    printed = kill_when(torchrun(stage_command(tmp_path, NAME, params, data, out)), tmp_path, f"{NAME} step", 3)
    assert (out / f"{NAME}.resume.pt").exists() and not (out / f"{NAME}.pt").exists()
    rerun = run_stage(torchrun(stage_command(tmp_path, NAME, params, data, out)), tmp_path)
    assert _eval_tokens(rerun.stdout)[0] > _eval_tokens(printed)[-1]           # it continued; it did not start over
    # A gloo job on the CPU is deterministic, so the resumed job must match the unbroken one bit for bit.
    for file in (f"{NAME}.pt", f"{NAME}.json", *(str(p.relative_to(reference)) for p in (reference / "live").rglob("*")
                                                 if p.is_file())):
        assert (out / file).read_bytes() == (reference / file).read_bytes(), file


def test_the_fingerprint_has_the_world_size_but_not_the_launcher():
    params = load_params(TINY_PARAMS)
    p, model = params.train, params.models["gru"]
    splits = {"train": torch.arange(10).numpy()}
    one = run_fingerprint(model, p, "vocab", splits, world_size=1)
    assert run_fingerprint(model, p, "vocab", splits, world_size=2) != one   # per-rank state: never mixed
    relaunched = p.model_copy(update={"launcher": "torchrun --standalone --nproc_per_node 1"})
    assert run_fingerprint(model, relaunched, "vocab", splits, world_size=1) == one


def test_shards_are_equal_contiguous_rows_or_a_one_line_error():
    assert [Dist(rank=r, world_size=4).shard(8, "train.batch_size") for r in range(4)] == \
           [slice(0, 2), slice(2, 4), slice(4, 6), slice(6, 8)]
    with pytest.raises(CharlmError, match=r"^train.batch_size: 6 is not divisible by the world size 4 \(") as err:
        Dist(rank=0, world_size=4).shard(6, "train.batch_size")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("n_tokens, batch_size, world_size", [
    (10, 4, 2),    # 9 targets in 4 streams of 3: the last stream is all padding
    (50, 7, 2),    # streams that do not split evenly between ranks
    (50, 3, 4),    # more ranks than streams: one rank scores nothing
    (200, 8, 3),
])
def test_validation_shards_add_up_to_the_single_process_score(n_tokens, batch_size, world_size):
    torch.manual_seed(0)
    lm = build_model(ARCH_PARAMS["lstm"](arch="lstm", role="compare", num_layers=1, hidden_size=8, embedding_size=4, input="embedding",
                                         dropout=0.0, tie_weights=False, train={}), 5)
    tokens = torch.randint(0, 5, (n_tokens,))
    whole = stream_nll(lm, tokens, batch_size)
    shares = [_shard_nll(lm, tokens, batch_size, Dist(rank=r, world_size=world_size)) for r in range(world_size)]
    assert sum(count for _, count in shares) == n_tokens - 1             # every target scored exactly once
    # Same streams, same contexts: only float32 rounding of the smaller batches differs.
    assert sum(total for total, _ in shares) == pytest.approx(float(whole.sum()), rel=1e-6)


@pytest.mark.e2e
def test_dvc_repro_with_a_torchrun_launcher(tiny_repo):
    tiny_repo.edit_params(**{"train.launcher": "torchrun --standalone --nproc_per_node 2"})
    tiny_repo.dvc("repro", "train@rnn")
    metrics = json.loads((tiny_repo.root / "metrics" / "train" / "rnn.json").read_text())
    runtime = json.loads((tiny_repo.root / "metrics" / "runtime" / "rnn.json").read_text())
    assert metrics["val.bpc"] > 0 and (tiny_repo.root / "models" / "rnn.pt").is_file()
    assert runtime["world_size"] == 2 and len(runtime["curve"]) == metrics["evaluations"]
    assert not (tiny_repo.root / "checkpoints" / "rnn.resume.pt").exists()
    assert "train@rnn" not in tiny_repo.stale_stages()


@pytest.mark.parametrize("cores, local_world_size, threads", [
    (12, 2, 6),
    (12, 4, 3),
    (3, 2, 1),    # a remainder is left idle, not oversubscribed
    (2, 4, 1),    # more processes than cores: still one thread each, never zero
])
def test_threads_0_under_torchrun_shares_the_cores_among_local_processes(monkeypatch, cores, local_world_size,
                                                                          threads):
    # A pretend machine: the real one has 2 cores, where one thread per process is also conftest's setting.
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    p = load_params(TINY_PARAMS).train.model_copy(update={"threads": 0})
    before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    try:
        setup_runtime(p, Dist(rank=1, world_size=2 * local_world_size, local_world_size=local_world_size))
        assert torch.get_num_threads() == threads
        setup_runtime(p.model_copy(update={"threads": 5}), Dist(rank=1, world_size=4, local_world_size=2))
        assert torch.get_num_threads() == 5                  # an explicit count always wins
    finally:
        torch.set_num_threads(before[0])
        torch.use_deterministic_algorithms(before[1])
