"""Training runtime setup: glibc keeps the big per-step buffers for reuse instead of re-faulting them in, and
train.precision picks bf16 autocast or fp32, deterministically on the CPU."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from charlm.models import build_model
from charlm.params import ARCH_PARAMS, load_params
from charlm.train.loop import TIMING_KEYS, train
from charlm.train.runtime import _bf16_rnn_works, reuse_freed_memory
from helpers import TINY_PARAMS

# A child process allocates, writes and frees a 64 MB tensor ROUNDS times (a training step's big buffers),
# then prints the minor page faults that took: fresh pages from the kernel cost a fault each (one per page,
# or per huge page). The warm-up rounds come first: glibc's heap takes a few rounds to settle (seen: up to 5).
CHILD = """
import resource, sys, torch
from charlm.train.runtime import reuse_freed_memory
if sys.argv[1] == "reuse":
    assert reuse_freed_memory()
for _ in range(10):
    torch.ones(16 << 20)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range({rounds}):
    torch.ones(16 << 20)   # 16 Mi float32 = 64 MB, freed at once
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
ROUNDS = 20


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD.format(rounds=ROUNDS), mode], capture_output=True, text=True,
                         check=True)
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_freed_big_buffers_are_reused_instead_of_faulted_in_again():
    if not reuse_freed_memory():
        pytest.skip("this C library has no mallopt (not glibc)")
    default, reused = _faults("default"), _faults("reuse")
    # glibc's default maps the buffer afresh every round and faults all of it in again (here: 20 × 16,384
    # faults with 4 KiB pages). Kept for reuse, the pages are already there: all rounds together fault in
    # less than one default round did.
    assert reused < default / ROUNDS, (default, reused)


# ------------------------------------------------------------------------------------------ precision
VOCAB = 9
TOKENS = torch.randint(0, VOCAB, (600,), generator=torch.Generator().manual_seed(0))


def _trained(arch: str, precision: str) -> tuple[dict, list]:
    """(weights, history without timings) of a tiny model trained for a few steps under `precision`."""
    sizes = dict(num_heads=2, context=16, stride=4) if arch == "transformer" else \
        dict(embedding_size=8, input="embedding", tie_weights=False)
    params = ARCH_PARAMS[arch](arch=arch, role="compare", num_layers=1, hidden_size=16, dropout=0.1, train={},
                               **sizes)
    p = load_params(TINY_PARAMS).train.model_copy(update=dict(
        precision=precision, iterator="random", batch_size=4, num_steps=16, warmup_tokens=0, max_tokens=1280,
        eval_every_tokens=640))
    torch.manual_seed(p.seed)
    model = build_model(params, VOCAB)
    pos = train(model, TOKENS, TOKENS[:200], p)
    return model.state_dict(), [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in pos.history]


def _same(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def test_bf16_on_the_cpu_is_deterministic_and_auto_there_is_fp32():
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)   # as setup_runtime sets it for every CPU training run
    try:
        (w1, h1), (w2, h2) = _trained("transformer", "bf16"), _trained("transformer", "bf16")
        (w32, h32), (wauto, hauto) = _trained("transformer", "fp32"), _trained("transformer", "auto")
    finally:
        torch.use_deterministic_algorithms(deterministic)
    assert _same(w1, w2) and h1 == h2                 # bf16, twice: bit for bit
    assert not _same(w1, w32) and h1 != h32           # the switch did something: bf16 rounds differently
    assert _same(w32, wauto) and h32 == hauto         # auto on the CPU is fp32


def test_a_recurrent_model_trains_in_fp32_with_a_note_where_the_cpu_has_no_bf16_lstm(capsys):
    _bf16_rnn_works.cache_clear()                     # the probe prints its note on its first call only
    weights, _ = _trained("lstm", "bf16")             # without the fallback oneDNN raises here on AVX2 CPUs
    if _bf16_rnn_works(torch.device("cpu")):
        assert not _same(weights, _trained("lstm", "fp32")[0])
    else:
        assert "note: bf16 autocast disabled, training in fp32" in capsys.readouterr().err
        assert _same(weights, _trained("lstm", "fp32")[0])
