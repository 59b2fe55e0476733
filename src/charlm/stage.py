"""What every stage script shares: the --params flag and turning user errors into one line + exit 1."""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from charlm.errors import CharlmError
from charlm.kernels import use_kernels
from charlm.params import Params, load_params


def stage_parser(description: str) -> argparse.ArgumentParser:
    """An ArgumentParser with the common --params option; stages add their own paths."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return parser


def stage_params(path: str) -> Params:
    """The validated params, with runtime.kernels applied. numpy and torch fix their CPU kernels when they
    are imported (charlm.kernels), so a stage calls this first and imports its numeric code after it."""
    params = load_params(path)
    use_kernels(params.runtime.kernels)
    return params


def run_stage(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> None:
    """Run a stage's main(); a CharlmError becomes `error: <message>` on stderr and exit status 1."""
    # One write per line: print() writes the text and the newline apart, and the ranks of a torchrun job,
    # which share stderr and fail together, then run their lines into one.
    try:
        main(argv)
    except CharlmError as e:
        sys.stderr.write(f"error: {e}\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: outputs written so far are complete; rerun `dvc repro` to continue\n")
        sys.exit(130)
