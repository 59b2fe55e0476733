"""Stage encode: each split's text as token ids, <out>/{train,val,test}.npy in the smallest unsigned dtype."""
from __future__ import annotations

from pathlib import Path

from charlm.data.corpus import read_splits
from charlm.data.ids import save_ids
from charlm.data.vocab import load_vocab
from charlm.stage import run_stage, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--interim", type=Path, required=True, help="folder with {train,val,test}.txt")
    parser.add_argument("--vocab", type=Path, required=True, help="vocab.json")
    parser.add_argument("--out", type=Path, required=True, help="folder for {train,val,test}.npy")
    args = parser.parse_args(argv)
    vocab = load_vocab(args.vocab)
    for split, text in read_splits(args.interim).items():
        save_ids(args.out / f"{split}.npy", vocab.encode(text))


if __name__ == "__main__":
    run_stage(main)
