"""Which CPU kernels the numeric libraries run (`runtime.kernels`): `portable` caps them at AVX2, so machines
of one kind with and without AVX-512 write the same bytes, and `native` runs the fastest the CPU has.

Machines of one cloud kind differ: some have AVX-512 (with BF16), some only AVX2. Left to themselves,
torch and numpy pick the widest kernels each machine has, and those round differently (another order of
additions, other log and exp approximations). The same params and data then train other weights (the
champion: 1.7596 against 1.7645 val bpc) and write other n-gram tables, so a dvc.lock written on one
machine is not reproduced on the other. Capping every library at AVX2 reproduced the lock of an AVX2
machine on an AVX-512 one, byte for byte (both AMD EPYC; MKL may take other paths on another vendor's
CPU). It costs the LSTM about 16% there and nothing on AVX2 machines.

Each library reads its cap once per process, when it is loaded:

    ATEN_CPU_CAPABILITY       torch's own vectorised ops (elementwise, reductions, softmax, embedding)
    ONEDNN_MAX_CPU_ISA        oneDNN in torch (the RNN, GRU and LSTM cells, many matmuls)
    MKL_ENABLE_INSTRUCTIONS   MKL's BLAS in torch (the other matmuls)
    NPY_ENABLE_CPU_FEATURES   numpy's dispatched loops (log, exp: the n-gram tables, EM, the bootstrap)
    OPENBLAS_CORETYPE         numpy's BLAS (dot products: EM)
    NUMBA_CPU_NAME            the machine code numba compiles (the cm model's loop, src/charlm/cm)

So a stage must choose before it imports numpy or torch: the stages that compute with floats call
charlm.stage.stage_params first and import their numeric code after it.
"""
from __future__ import annotations

import os
import platform
import sys
import warnings
from pathlib import Path

# numpy (2.4 on, pyproject.toml) names its dispatch levels by the x86-64 microarchitecture levels: X86_V3 is
# AVX2 with FMA, F16C and BMI, above its X86_V2 baseline; X86_V4 and the AVX512_* groups are what it leaves
# out. OpenBLAS's Haswell kernels need the same level.
PORTABLE_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                "NPY_ENABLE_CPU_FEATURES": "X86_V3", "OPENBLAS_CORETYPE": "Haswell", "NUMBA_CPU_NAME": "haswell"}
# What a CPU must report (Linux /proc/cpuinfo names) for all of those: x86-64-v3. abm is LZCNT.
X86_V3_FLAGS = frozenset({"avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "movbe", "abm"})


def use_kernels(choice: str) -> None:
    """Set the environment numpy and torch read for `choice` ("portable" | "native"); call before either is
    imported.

    Where the CPU is not x86-64-v3 (AVX2 and its companions), or that cannot be told (not x86-64 Linux:
    macOS, Windows, Arm), portable leaves the libraries' choice alone: numpy refuses to start with a level
    the CPU lacks, forced AVX2 kernels could crash torch, and no narrower set matches the AVX2 machines.
    """
    if choice == "native" or not is_x86_64_v3():
        return
    loaded = sorted({"numpy", "torch", "numba"} & sys.modules.keys())
    if loaded and any(os.environ.get(k) != v for k, v in PORTABLE_ENV.items()):
        # Only in-process callers (tests, notebooks) get here; a stage script is its own process.
        named = " and ".join([", ".join(loaded[:-1]), loaded[-1]] if len(loaded) > 1 else loaded)
        warnings.warn(f"runtime.kernels: portable could not apply, {named} "
                      f"{'was' if len(loaded) == 1 else 'were'} imported before the stage chose its kernels",
                      stacklevel=2)
        return
    os.environ.update(PORTABLE_ENV)


def kernels_in_use(choice: str) -> dict:
    """{"kernels": the choice, "cpu_capability": ATen's kernels in this process (AVX2, AVX512, ...)}, for a
    runtime log. The other libraries follow the caps in PORTABLE_ENV but report nothing back."""
    import torch   # only once the stage has chosen: this import fixes the choice

    return {"kernels": choice, "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def cpu_kernels() -> dict:
    """What decides this process's CPU kernels: ATen's choice and each cap of PORTABLE_ENV as set (None: none)."""
    import torch

    return {"cpu_capability": torch.backends.cpu.get_cpu_capability(),
            **{name: os.environ.get(name) for name in sorted(PORTABLE_ENV)}}


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (avx2, avx512f, ...) on x86-64 Linux; empty elsewhere or when unreadable."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return set()
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    return next((set(line.split(":", 1)[-1].split()) for line in text.splitlines() if line.startswith("flags")), set())


def is_x86_64_v3(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this is an x86-64 CPU with every x86-64-v3 feature, AVX2 among them (Linux only)."""
    return X86_V3_FLAGS <= cpu_flags(cpuinfo)
