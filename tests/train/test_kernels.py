"""runtime.kernels (charlm/kernels.py): the stages that compute with floats choose the CPU kernels before numpy or
torch is imported, `portable` reaches the stage process as AVX2 kernels, and `native` leaves the libraries'
own choice."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest
import yaml

from charlm import kernels
from charlm.kernels import PORTABLE_ENV, cpu_flags, is_x86_64_v3, use_kernels
from helpers import REPO, tool_env
from trainkit import run_stage, stage_command, tiny_corpus, tiny_params

FLOAT_STAGES = ("train", "evaluate", "ngram", "mix", "report")   # stage scripts


def _python(code: str) -> str:
    # -W error::ImportWarning: numpy only warns, and then ignores the whole cap, when a name in it is wrong.
    proc = subprocess.run([sys.executable, "-W", "error::ImportWarning", "-c", code], cwd=REPO, env=tool_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.parametrize("stage", FLOAT_STAGES)
def test_a_float_stage_script_imports_neither_numpy_nor_torch_before_it_chooses(stage):
    # Both fix their kernels when imported: a module-level import in the script would make runtime.kernels
    # a no-op without a sound.
    loaded = _python("import importlib.util, sys\n"
                     f"spec = importlib.util.spec_from_file_location('s', 'stages/{stage}.py')\n"
                     "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
                     "print(sorted({'numpy', 'torch'} & set(sys.modules)))")
    assert loaded == "[]"


def params_with(tmp_path, choice: str, **train) -> "Path":
    """tests/tiny_params.yaml with runtime.kernels = `choice` (and `train` overrides), written to tmp_path."""
    params = tiny_params(tmp_path / f"{choice}.yaml", train=train)
    raw = yaml.safe_load(params.read_text())
    raw["runtime"]["kernels"] = choice
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    return params


@pytest.mark.skipif(not is_x86_64_v3(), reason="portable kernels are x86-64-v3 (AVX2) ones: this CPU has none")
def test_the_choice_reaches_torch_in_the_train_stage_process(tmp_path):
    # On an AVX2-only machine native is AVX2 too, so only an AVX-512 machine can see the two differ.
    data, _ = tiny_corpus(tmp_path / "data")
    # What torch picks by itself here, in a process that chose nothing: AVX512 on an AVX-512 machine.
    native = _python("import torch; print(torch.backends.cpu.get_cpu_capability())")
    for choice, expected in (("portable", "AVX2"), ("native", native)):
        params = params_with(tmp_path, choice, max_tokens=1000, eval_every_tokens=1000)
        out = tmp_path / choice
        run_stage(stage_command(tmp_path, "gru", params, data, out), tmp_path)
        runtime = json.loads((out / "gru.runtime.json").read_text())
        assert (runtime["kernels"], runtime["cpu_capability"]) == (choice, expected)


LOG_DIGEST = ("import hashlib, numpy as np\n"
              "x = np.random.default_rng(0).random(100_000) * 100 + 1e-3\n"
              "print(hashlib.md5(np.log(x).tobytes()).hexdigest())")


@pytest.mark.skipif(not is_x86_64_v3(), reason="portable kernels are x86-64-v3 (AVX2) ones: this CPU has none")
def test_the_choice_reaches_numpy_in_a_stage_process(tmp_path):
    # numpy's log has an AVX-512 loop that rounds otherwise: what made the n-gram tables differ.
    digests = {choice: _python(f"from charlm.stage import stage_params\n"
                               f"stage_params({str(params_with(tmp_path, choice))!r})\n" + LOG_DIGEST)
               for choice in ("portable", "native")}
    capped = subprocess.run([sys.executable, "-c", LOG_DIGEST], env={**tool_env(), **PORTABLE_ENV},
                            capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert digests["portable"] == capped
    if "avx512f" in cpu_flags():
        assert digests["native"] != capped


@pytest.fixture
def no_caps(monkeypatch):
    """The caps unset for the test and restored after it (setenv first, so that monkeypatch
    records them: deleting an unset variable records nothing, and a later set would leak)."""
    for key in PORTABLE_ENV:
        monkeypatch.setenv(key, "unset-by-the-test")
        monkeypatch.delenv(key)
    return monkeypatch


def test_portable_sets_every_librarys_cap_and_native_sets_nothing(no_caps):
    monkeypatch = no_caps
    monkeypatch.setattr(kernels, "is_x86_64_v3", lambda: True)
    monkeypatch.delitem(sys.modules, "torch")          # as in a fresh stage process (restored afterwards)
    monkeypatch.delitem(sys.modules, "numpy")
    monkeypatch.delitem(sys.modules, "numba", raising=False)   # imported by the cm tests, if they ran first
    use_kernels("native")
    assert not PORTABLE_ENV.keys() & os.environ.keys()
    use_kernels("portable")
    assert {k: os.environ[k] for k in PORTABLE_ENV} == PORTABLE_ENV


def test_portable_after_torch_is_imported_warns_and_changes_nothing(no_caps):
    no_caps.setattr(kernels, "is_x86_64_v3", lambda: True)
    no_caps.delitem(sys.modules, "numba", raising=False)
    with pytest.warns(UserWarning, match="^runtime.kernels: portable could not apply, numpy and torch were imported"):
        use_kernels("portable")
    assert not PORTABLE_ENV.keys() & os.environ.keys()


def test_portable_is_left_alone_where_avx2_is_missing(no_caps):
    no_caps.setattr(kernels, "is_x86_64_v3", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        use_kernels("portable")      # forcing AVX2 kernels on such a CPU would crash torch
    assert not PORTABLE_ENV.keys() & os.environ.keys()


V3 = "fpu sse4_2 avx avx2 fma f16c bmi1 bmi2 movbe abm"


@pytest.mark.parametrize("machine, flags, expected", [
    ("x86_64", f"{V3} avx512f avx512_bf16", True),
    ("x86_64", V3, True),
    ("x86_64", V3.replace(" f16c", ""), False),      # AVX2 without F16C: numpy would refuse X86_V3
    ("x86_64", "fpu sse4_2 avx fma", False),
    ("aarch64", f"fp asimd {V3}", False),
])
def test_x86_64_v3_is_read_from_the_flags_line(tmp_path, monkeypatch, machine, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Some CPU with avx2 in its name\nflags\t\t: {flags}\n")
    monkeypatch.setattr(kernels.platform, "machine", lambda: machine)
    assert is_x86_64_v3(cpuinfo) is expected
    assert is_x86_64_v3(tmp_path / "missing") is False
    assert ("avx512f" in cpu_flags(cpuinfo)) is (machine == "x86_64" and "avx512f" in flags)
