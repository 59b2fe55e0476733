"""Stage train@<name>: train one neural LM, resuming a killed run, and write its model, metrics and curves; for a
compare.models entry, then train it again at every seed of compare.seeds (its repeats, for the report's seed spread).

Runs as one process (`python stages/train.py ...`) or as a DDP job (`torchrun --nproc_per_node N
stages/train.py ...`, see charlm.train.distributed); either way only rank 0 writes files.
"""
from __future__ import annotations

from pathlib import Path

from charlm.io import write_json
from charlm.stage import run_stage, stage_params, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--name", required=True, help="model name under `models:` in params.yaml")
    parser.add_argument("--data", required=True, help="folder with train.npy and val.npy")
    parser.add_argument("--vocab", required=True)
    parser.add_argument("--model", type=Path, required=True, help="output: best checkpoint by val bpc")
    parser.add_argument("--resume", type=Path, required=True,
                        help="resume checkpoint (kept until the run completes); each repeat's sits beside it")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--live", help="DVCLive folder for the curves (of the model, not of its repeats)")
    parser.add_argument("--runtime", type=Path, required=True,
                        help="timings log (not a DVC output: it differs run to run)")
    parser.add_argument("--repeats", type=Path, required=True,
                        help="output folder: <name>-s<seed>.pt per compare.seeds repeat, and repeats.json listing them")
    parser.add_argument("--repeat-metrics", type=Path, required=True,
                        help="output: every repeat's metrics, {<name>-s<seed>: metrics} ({} for no repeats)")
    parser.add_argument("--repeat-runtime", type=Path, required=True,
                        help="folder of the repeats' timings logs, <name>-s<seed>.json (not a DVC output)")
    args = parser.parse_args(argv)

    params = stage_params(args.params)
    # Only now numpy and torch: they fix their CPU kernels when imported (charlm.kernels).
    from charlm.data.ids import load_ids
    from charlm.data.vocab import load_vocab
    from charlm.model_names import REPEATS_INDEX, repeats
    from charlm.models.checkpoint import save_checkpoint
    from charlm.train.distributed import session
    from charlm.train.run import fit, train_params

    vocab = load_vocab(args.vocab)
    train_ids, val_ids = (load_ids(Path(args.data) / f"{split}.npy", len(vocab)) for split in ("train", "val"))
    todo = repeats(params, args.name)
    runs = [(params, args.resume, args.live, args.model, args.runtime)]
    runs += [(params.with_seed(args.name, seed), args.resume.with_name(f"{repeat}.resume.pt"), None,
              args.repeats / f"{repeat}.pt", args.repeat_runtime / f"{repeat}.json") for seed, repeat in todo]
    metrics = []
    with session(train_params(params, args.name).device) as dist:
        for run_params, resume, live, model, runtime in runs:
            fitted = fit(run_params, args.name, vocab, train_ids, val_ids, resume_path=resume, live_dir=live, dist=dist)
            if dist.is_main:
                save_checkpoint(model, fitted.model_file)
                write_json(runtime, fitted.runtime)
                metrics.append(fitted.metrics)
    if dist.is_main:
        write_json(args.metrics, metrics[0])
        write_json(args.repeat_metrics, {repeat: m for (_, repeat), m in zip(todo, metrics[1:])})
        write_json(args.repeats / REPEATS_INDEX, {repeat: seed for seed, repeat in todo})
        # Only now is the stage complete. A kill before this line resumes every run from its checkpoint: a
        # finished one at its end, the unfinished one from its last evaluation.
        for _, resume, *_ in runs:
            resume.unlink(missing_ok=True)


if __name__ == "__main__":
    run_stage(main)
