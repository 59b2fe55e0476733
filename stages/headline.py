"""Stage headline: metrics/headline.json, the few numbers per entry that `dvc metrics show`, `dvc metrics diff`
and `dvc exp show` list (src/charlm/headline.py), and beside it metrics/time.json, the training wall times.

The times are measurements, not a function of the inputs: --time is not a DVC output (like metrics/runtime,
which it reads), so this stage's outputs, and dvc.lock, stay byte-identical across reruns.
"""
from __future__ import annotations

from pathlib import Path

from charlm.headline import headline, read_entries, read_folder, read_repeats, train_times
from charlm.io import read_json, write_json
from charlm.stage import run_stage, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--eval", type=Path, required=True, help="metrics/eval: <entry>.json, ngram/<name>.json, seeds/<model>.json")
    parser.add_argument("--train", type=Path, required=True, help="metrics/train: <model>.json (the neural models')")
    parser.add_argument("--anchor", type=Path, required=True, help="metrics/anchor/zpaq.json")
    parser.add_argument("--runtime", type=Path, required=True, help="metrics/runtime: <model>.json (not a DVC output)")
    parser.add_argument("--out", type=Path, required=True, help="output: metrics/headline.json")
    parser.add_argument("--time", type=Path, required=True, help="metrics/time.json (not a DVC output)")
    args = parser.parse_args(argv)
    evals, trains = read_entries(args.eval), read_folder(args.train)
    anchor = read_json(args.anchor) if args.anchor.is_file() else None
    write_json(args.out, headline(evals, read_repeats(args.eval / "seeds"), trains, anchor))
    write_json(args.time, train_times(trains, read_folder(args.runtime)))


if __name__ == "__main__":
    run_stage(main)
