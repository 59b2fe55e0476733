"""Stage train@<name>: train one neural LM, resuming a killed run, and write its model, metrics and curves.

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
    parser.add_argument("--model", required=True, help="output: best checkpoint by val bpc")
    parser.add_argument("--resume", required=True, help="resume checkpoint (kept until the run completes)")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--seed", type=int, help="train at this train.seed instead: a repeat of the comparison "
                        "(compare.seeds)")
    parser.add_argument("--live", help="DVCLive folder for the curves (the repeats of compare.seeds keep none)")
    parser.add_argument("--runtime", required=True, help="timings log (not a DVC output: it differs run to run)")
    args = parser.parse_args(argv)

    params = stage_params(args.params)
    if args.seed is not None:
        params = params.with_seed(args.name, args.seed)
    # Only now numpy and torch: they fix their CPU kernels when imported (charlm.kernels).
    from charlm.data.ids import load_ids
    from charlm.data.vocab import load_vocab
    from charlm.models.checkpoint import save_checkpoint
    from charlm.train.distributed import session
    from charlm.train.run import fit, train_params

    vocab = load_vocab(args.vocab)
    train_ids, val_ids = (load_ids(Path(args.data) / f"{split}.npy", len(vocab)) for split in ("train", "val"))
    with session(train_params(params, args.name).device) as dist:
        fitted = fit(params, args.name, vocab, train_ids, val_ids, resume_path=args.resume, live_dir=args.live,
                     dist=dist)
    if dist.is_main:
        save_checkpoint(args.model, fitted.model_file)
        write_json(args.metrics, fitted.metrics)
        write_json(args.runtime, fitted.runtime)
        # Only now is the run complete; a kill before this line resumes from the last evaluation instead.
        Path(args.resume).unlink(missing_ok=True)


if __name__ == "__main__":
    run_stage(main)
