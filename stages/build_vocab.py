"""Stage build_vocab: the vocabulary of the train split, and its size and val/test OOV rates as metrics."""
from __future__ import annotations

from pathlib import Path

from charlm.data.corpus import read_splits
from charlm.data.vocab import count_tokens, save_vocab, vocab_from_counts, vocab_metrics
from charlm.io import write_json
from charlm.params import load_params
from charlm.stage import run_stage, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--interim", type=Path, required=True, help="folder with {train,val,test}.txt")
    parser.add_argument("--out", type=Path, required=True, help="vocab.json to write")
    parser.add_argument("--metrics", type=Path, required=True, help="vocab metrics JSON to write")
    args = parser.parse_args(argv)
    params = load_params(args.params).vocab
    counts = {split: count_tokens(text, params.token) for split, text in read_splits(args.interim).items()}
    vocab = vocab_from_counts(counts["train"], params.token, params.min_freq, params.reserved)
    save_vocab(vocab, args.out)
    write_json(args.metrics, vocab_metrics(vocab, counts))


if __name__ == "__main__":
    run_stage(main)
