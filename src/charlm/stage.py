"""What every stage script shares: the --params flag and turning user errors into one line + exit 1."""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from charlm.errors import CharlmError


def stage_parser(description: str) -> argparse.ArgumentParser:
    """An ArgumentParser with the common --params option; stages add their own paths."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return parser


def run_stage(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> None:
    """Run a stage's main(); a CharlmError becomes `error: <message>` on stderr and exit status 1."""
    try:
        main(argv)
    except CharlmError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted: outputs written so far are complete; rerun `dvc repro` to continue",
              file=sys.stderr)
        sys.exit(130)
