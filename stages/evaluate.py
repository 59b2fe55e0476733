"""Stage evaluate@<model>: held-out bpc (val, test, per book, bootstrap CI), per-token nll and samples of one model."""
from __future__ import annotations

import time
from pathlib import Path

from charlm.io import atomic_write, write_json
from charlm.stage import run_stage, stage_params, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--name", required=True, help="model name under `models` or `ngram` in params")
    parser.add_argument("--model", type=Path, required=True, help="checkpoint (.pt) or n-gram model (.npz)")
    parser.add_argument("--data", type=Path, required=True, help="folder with {val,test}.npy")
    parser.add_argument("--vocab", type=Path, required=True)
    parser.add_argument("--interim", type=Path, required=True, help="folder with {val,test}.txt and books.json")
    parser.add_argument("--metrics", type=Path, required=True, help="output metrics JSON")
    parser.add_argument("--samples", type=Path, help="output samples markdown (the repeats of compare.seeds "
                        "sample nothing)")
    parser.add_argument("--scores", type=Path, required=True, help="output folder for {val,test}.npy per-token nll")
    parser.add_argument("--runtime", type=Path, help="timings log (not a DVC output: it differs run to run)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    params = stage_params(args.params)
    # Only now numpy and torch: they fix their CPU kernels when imported (charlm.kernels).
    from charlm.evaluate.run import evaluate_model, evaluation_runtime
    from charlm.evaluate.scores import save_scores

    metrics, samples, nll = evaluate_model(args.name, args.model, args.data, args.interim, args.vocab, params,
                                           samples=args.samples is not None)
    write_json(args.metrics, metrics)
    if args.samples:
        atomic_write(args.samples, samples)
    save_scores(args.scores, nll)
    if args.runtime:
        write_json(args.runtime, evaluation_runtime(time.perf_counter() - started, params.runtime.kernels))


if __name__ == "__main__":
    run_stage(main)
