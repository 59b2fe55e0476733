"""Training runtime setup: glibc keeps the big per-step buffers for reuse instead of re-faulting them in."""
from __future__ import annotations

import subprocess
import sys

import pytest

from charlm.train.runtime import reuse_freed_memory

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
