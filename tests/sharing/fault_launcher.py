"""A `train.launcher` for fault-injection tests: `python fault_launcher.py <fault> <stage script> <args...>`.

The train stage's command is `${train.launcher} stages/train.py ...`, so setting the launcher to
`python <this file> <fault>` runs the real stage script under DVC with one hook installed. At the fault point
the process prints a line starting with `FAULT` and then hangs, so a test can SIGKILL the run at exactly
that point instead of racing a timer.

Faults:
  after-first-step    the first optimizer step has run; no evaluation (and so no resume checkpoint) yet
  half-write-resume:N the N-th resume checkpoint write: half its bytes are written (to the file that
                      charlm.io.atomic_write writes, a temp file), and the write never returns
"""
from __future__ import annotations

import runpy
import sys
import time

HANG_S = 3600   # the test kills us long before this; its own finally block kills us if it does not


def _hang(message: str) -> None:
    print(f"FAULT {message}", flush=True)
    time.sleep(HANG_S)
    sys.exit(f"fault_launcher: nobody killed the run at: {message}")


def _after_first_step() -> None:
    from charlm.train import report

    if not hasattr(report.Reporter, "step"):
        sys.exit("fault_launcher: charlm.train.report.Reporter.step is gone; update the after-first-step hook")
    real = report.Reporter.step

    def step(self, tokens):
        real(self, tokens)
        _hang("after the first training step")

    report.Reporter.step = step


def _half_write_resume(n: int) -> None:
    """Interrupt the product's own write: charlm's atomic_write runs unchanged, and only the bytes it hands to
    Path.write_bytes, wherever it chose to put them, are cut in half. A writer that wrote straight to the
    final path would leave the half file there for the test to find."""
    import pathlib

    import charlm.models.checkpoint as checkpoint

    real_atomic_write, real_write_bytes = checkpoint.atomic_write, pathlib.Path.write_bytes
    writes, armed = [], []

    def write_bytes(self, data):
        if not armed:
            return real_write_bytes(self, data)
        with open(self, "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
        _hang(f"half-written resume checkpoint #{n}: {self}")

    def atomic_write(path, data):
        if str(path).endswith(".resume.pt"):
            writes.append(path)
            if len(writes) == n:
                armed.append(True)
        real_atomic_write(path, data)
        if armed:
            sys.exit(f"fault_launcher: resume write #{n} never reached Path.write_bytes; update the hook")

    pathlib.Path.write_bytes = write_bytes
    checkpoint.atomic_write = atomic_write


def main() -> None:
    fault, script, *args = sys.argv[1:]
    # The hooks import torch, which fixes its CPU kernels then: choose them first, as the stage itself does
    # (charlm.kernels), or the run would train on other kernels than an unhooked one and never resume it.
    from charlm.stage import stage_params

    stage_params(args[args.index("--params") + 1] if "--params" in args else "params.yaml")
    if fault == "after-first-step":
        _after_first_step()
    elif fault.startswith("half-write-resume:"):
        _half_write_resume(int(fault.split(":", 1)[1]))
    else:
        sys.exit(f"fault_launcher: unknown fault {fault!r}")
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
