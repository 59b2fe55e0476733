"""Stage preprocess: strip, clean and split the raw books into <out>/{train,val,test}.txt and books.json."""
from __future__ import annotations

from pathlib import Path

from charlm.data.corpus import preprocess_books, read_raw_books, write_corpus
from charlm.io import write_json
from charlm.params import load_params
from charlm.stage import run_stage, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--raw", type=Path, required=True, help="folder with <id>.txt (data/raw)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the splits (data/interim)")
    parser.add_argument("--metrics", type=Path, required=True, help="characters per split and book (JSON)")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    raw = read_raw_books(args.raw, params.data.books)
    corpus = preprocess_books(raw, params.data.books, params.preprocess, where=str(args.raw))
    write_corpus(corpus, args.out)
    write_json(args.metrics, corpus.metrics)


if __name__ == "__main__":
    run_stage(main)
