"""Stage zpaq: the compressor anchor, zpaq's bits per character on val and test given train, at its best method
on val, with -m5 beside it and, with zpaq.per_book, each test book's (docs/evaluation.md).

Without zpaq on PATH the stage writes a `skipped` note as its metrics and succeeds, so a machine without it
still runs the whole pipeline. The compression times go to --runtime, which is not a DVC output.
"""
from __future__ import annotations

import sys
from pathlib import Path

from charlm.data.corpus import read_splits
from charlm.evaluate.anchor import read_test_books, run_anchor
from charlm.evaluate.zpaq import SKIPPED, find_zpaq
from charlm.io import write_json
from charlm.params import load_params
from charlm.stage import run_stage, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--interim", type=Path, required=True, help="folder with {train,val,test}.txt and books.json")
    parser.add_argument("--metrics", type=Path, required=True, help="output: the anchor's metrics (no timings)")
    parser.add_argument("--runtime", type=Path, required=True, help="this run's compression times (not a DVC output)")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    texts = read_splits(args.interim)
    exe = find_zpaq()
    if exe is None:
        print(f"note: {SKIPPED['skipped']}; the anchor is skipped", file=sys.stderr)
        write_json(args.metrics, SKIPPED)
        return
    books = read_test_books(args.interim) if params.zpaq.per_book else None
    metrics, runtime = run_anchor(exe, texts, params.zpaq.methods, books)
    write_json(args.metrics, metrics)
    write_json(args.runtime, runtime)


if __name__ == "__main__":
    run_stage(main)
