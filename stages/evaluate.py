"""Stage evaluate@<model>: held-out bpc (val, test, per book, bootstrap CI) and text samples of one model."""
from __future__ import annotations

from pathlib import Path

from charlm.evaluate.run import evaluate_model
from charlm.io import atomic_write, write_json
from charlm.params import load_params
from charlm.stage import run_stage, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--name", required=True, help="model name under `models` or `ngram` in params")
    parser.add_argument("--model", type=Path, required=True, help="checkpoint (.pt) or n-gram model (.npz)")
    parser.add_argument("--data", type=Path, required=True, help="folder with {val,test}.npy")
    parser.add_argument("--vocab", type=Path, required=True)
    parser.add_argument("--interim", type=Path, required=True, help="folder with {val,test}.txt and books.json")
    parser.add_argument("--metrics", type=Path, required=True, help="output metrics JSON")
    parser.add_argument("--samples", type=Path, required=True, help="output samples markdown")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    metrics, samples = evaluate_model(args.name, args.model, args.data, args.interim, args.vocab, params)
    write_json(args.metrics, metrics)
    atomic_write(args.samples, samples)


if __name__ == "__main__":
    run_stage(main)
