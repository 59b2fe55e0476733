"""Stage evaluate@<model>: held-out bpc (val, test, per book, bootstrap CI), per-token nll and samples of one neural
model, then the val and test scores of each of its compare.seeds repeats (no samples). The stage ngram scores
every n-gram the same way."""
from __future__ import annotations

import time
from pathlib import Path

from charlm.io import atomic_write, write_json
from charlm.stage import run_stage, stage_params, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--name", required=True, help="model name under `models` in params")
    parser.add_argument("--model", type=Path, required=True, help="checkpoint (.pt)")
    parser.add_argument("--data", type=Path, required=True, help="folder with {val,test}.npy")
    parser.add_argument("--vocab", type=Path, required=True)
    parser.add_argument("--interim", type=Path, required=True, help="folder with {val,test}.txt and books.json")
    parser.add_argument("--metrics", type=Path, required=True, help="output metrics JSON")
    parser.add_argument("--samples", type=Path, required=True, help="output samples markdown")
    parser.add_argument("--scores", type=Path, required=True, help="output folder for {val,test}.npy per-token nll")
    parser.add_argument("--repeats", type=Path, required=True,
                        help="folder of the repeats (train@): <model>-s<seed>.pt, and repeats.json listing them")
    parser.add_argument("--repeat-metrics", type=Path, required=True,
                        help="output: every repeat's metrics, {<model>-s<seed>: metrics} ({} for no repeats)")
    parser.add_argument("--repeat-scores", type=Path, required=True,
                        help="output folder: <model>-s<seed>/{val,test}.npy, and repeats.json listing them")
    parser.add_argument("--runtime", type=Path, help="timings log (not a DVC output: it differs run to run)")
    parser.add_argument("--repeat-runtime", type=Path, help="folder of the repeats' timings logs (not a DVC output)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    params = stage_params(args.params)
    # Only now numpy and torch: they fix their CPU kernels when imported (charlm.kernels).
    from charlm.errors import CharlmError
    from charlm.evaluate.run import evaluate_model, evaluation_runtime
    from charlm.evaluate.scores import save_scores
    from charlm.io import read_json
    from charlm.model_names import REPEATS_INDEX, repeats, train_stage

    # The repeats train@ wrote (its index) must be those params ask for now (compare is not a param of this
    # stage: the folder, a dependency, changes whenever it does); anything else means train@ has not run since.
    # Checked before any scoring, but after the model itself: evaluate_model names a missing checkpoint first.
    todo = repeats(params, args.name)
    index = args.repeats / REPEATS_INDEX
    listed = read_json(index) if index.is_file() else None
    if args.model.is_file() and listed != {repeat: seed for seed, repeat in todo}:
        raise CharlmError(f"{index}: {'lists ' + str(sorted(listed)) if listed is not None else 'missing'}, but "
                          f"compare.models and compare.seeds ask for {[r for _, r in todo]}: "
                          f"run `dvc repro {train_stage(params, args.name)}`")

    metrics, samples, nll = evaluate_model(args.name, args.model, args.data, args.interim, args.vocab, params)
    write_json(args.metrics, metrics)
    atomic_write(args.samples, samples)
    save_scores(args.scores, nll)
    if args.runtime:
        write_json(args.runtime, evaluation_runtime(time.perf_counter() - started, params.runtime.kernels))

    repeat_metrics = {}
    for _, repeat in todo:
        started = time.perf_counter()
        repeat_metrics[repeat], _, nll = evaluate_model(args.name, args.repeats / f"{repeat}.pt", args.data,
                                                        args.interim, args.vocab, params, samples=False)
        save_scores(args.repeat_scores / repeat, nll)
        if args.repeat_runtime:
            write_json(args.repeat_runtime / f"evaluate-{repeat}.json",
                       evaluation_runtime(time.perf_counter() - started, params.runtime.kernels))
    write_json(args.repeat_metrics, repeat_metrics)
    write_json(args.repeat_scores / REPEATS_INDEX, listed)


if __name__ == "__main__":
    run_stage(main)
