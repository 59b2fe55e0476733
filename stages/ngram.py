"""Stage ngram: fit every n-gram baseline under `ngram:` and score each as evaluate@ scores a neural model.

One stage for all of them, since each fits and scores in seconds and a no-op `dvc repro` pays per stage. Each
entry <name> gets models/ngram/<name>.npz (and .arpa), metrics/train/ngram/<name>.json, metrics/eval/ngram/<name>.json,
reports/samples/ngram/<name>.md and data/scores/ngram/<name>/ (charlm.model_names.model_key).

The metrics files are DVC outputs and must be byte-identical on every rerun, so the fit times go to separate
runtime logs (--runtime), which are not outputs: `dvc metrics show metrics/runtime` reads them.
"""
from __future__ import annotations

from pathlib import Path

from charlm.io import atomic_write, write_json
from charlm.stage import run_stage, stage_params, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--data", type=Path, required=True, help="folder with {train,val,test}.npy")
    parser.add_argument("--vocab", type=Path, required=True)
    parser.add_argument("--interim", type=Path, required=True, help="folder with {val,test}.txt and books.json")
    parser.add_argument("--models", type=Path, required=True, help="output folder: <name>.npz and <name>.arpa")
    parser.add_argument("--train-metrics", type=Path, required=True, help="output folder: fit metrics, <name>.json")
    parser.add_argument("--eval-metrics", type=Path, required=True, help="output folder: held-out metrics, <name>.json")
    parser.add_argument("--samples", type=Path, required=True, help="output folder: samples, <name>.md")
    parser.add_argument("--scores", type=Path, required=True, help="output folder: per-token nll, <name>/{val,test}.npy")
    parser.add_argument("--runtime", type=Path, required=True,
                        help="folder of this run's fit times, ngram-<name>.json (not a DVC output)")
    args = parser.parse_args(argv)

    params = stage_params(args.params)
    # Only now numpy: it fixes its CPU kernels when imported (charlm.kernels).
    from charlm.data.ids import load_ids
    from charlm.data.vocab import load_vocab
    from charlm.evaluate.run import evaluate_model
    from charlm.evaluate.scores import save_scores
    from charlm.ngram.arpa import write_arpa
    from charlm.ngram.run import train_ngram
    from charlm.ngram.store import save_ngram_model

    vocab = load_vocab(args.vocab)
    for folder in (args.models, args.train_metrics, args.eval_metrics, args.samples, args.scores):
        folder.mkdir(parents=True, exist_ok=True)   # DVC outputs even when `ngram:` is empty
    train_ids, val_ids = (load_ids(args.data / f"{split}.npy", len(vocab)) for split in ("train", "val"))
    for name in params.ngram:
        fitted = train_ngram(params, name, len(vocab), train_ids, val_ids)
        model = args.models / f"{name}.npz"
        save_ngram_model(model, fitted.model, vocab.fingerprint)
        write_arpa(args.models / f"{name}.arpa", fitted.model, vocab.tokens)
        write_json(args.train_metrics / f"{name}.json", fitted.metrics)
        write_json(args.runtime / f"ngram-{name}.json", fitted.runtime)

        metrics, samples, nll = evaluate_model(name, model, args.data, args.interim, args.vocab, params)
        write_json(args.eval_metrics / f"{name}.json", metrics)
        atomic_write(args.samples / f"{name}.md", samples)
        save_scores(args.scores / name, nll)


if __name__ == "__main__":
    run_stage(main)
