"""Stage ngram@<name>: fit one n-gram baseline, and write its model (.npz), ARPA export and metrics.

The metrics file is a DVC output and must be byte-identical on every rerun, so the fit time goes to a
separate runtime log (--runtime), which is not an output: `dvc metrics show metrics/runtime` reads it.
"""
from __future__ import annotations

from pathlib import Path

from charlm.io import write_json
from charlm.stage import run_stage, stage_params, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--name", required=True, help="entry under `ngram:` in params.yaml")
    parser.add_argument("--data", required=True, help="folder with train.npy and val.npy")
    parser.add_argument("--vocab", required=True)
    parser.add_argument("--model", required=True, help="output: the model as .npz")
    parser.add_argument("--arpa", required=True, help="output: the model as an ARPA file")
    parser.add_argument("--metrics", required=True, help="output: fit and val metrics (no timings)")
    parser.add_argument("--runtime", required=True, help="this run's fit time and speed (not a DVC output)")
    args = parser.parse_args(argv)

    params = stage_params(args.params)
    # Only now numpy: it fixes its CPU kernels when imported (charlm.kernels).
    from charlm.data.ids import load_ids
    from charlm.data.vocab import load_vocab
    from charlm.ngram.arpa import write_arpa
    from charlm.ngram.run import train_ngram
    from charlm.ngram.store import save_ngram_model

    vocab = load_vocab(args.vocab)
    train_ids, val_ids = (load_ids(Path(args.data) / f"{split}.npy", len(vocab)) for split in ("train", "val"))
    fitted = train_ngram(params, args.name, len(vocab), train_ids, val_ids)
    save_ngram_model(args.model, fitted.model, vocab.fingerprint)
    write_arpa(args.arpa, fitted.model, vocab.tokens)
    write_json(args.metrics, fitted.metrics)
    write_json(args.runtime, fitted.runtime)


if __name__ == "__main__":
    run_stage(main)
