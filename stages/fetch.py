"""Stage fetch: every book in data.books from data.source into <out>/<id>.txt, byte-for-byte."""
from __future__ import annotations

from pathlib import Path

from charlm.data.fetch import fetch_books
from charlm.params import load_params
from charlm.stage import run_stage, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--out", type=Path, required=True, help="folder for the raw books (data/raw)")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    sizes = fetch_books(params.data, args.out, log=print)
    print(f"fetched {len(sizes)} books, {sum(sizes.values()):,} bytes, into {args.out}")


if __name__ == "__main__":
    run_stage(main)
