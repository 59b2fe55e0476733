"""Stage code: data/code/<script>.json for every other stage script, the md5 of each file it runs (its import
closure, src/charlm/stage_code.py). Each stage depends on its manifest instead of on each source file."""
from __future__ import annotations

from pathlib import Path

from charlm.stage import run_stage, stage_parser
from charlm.stage_code import write_manifests


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository (stages/ and src/ in it)")
    parser.add_argument("--out", type=Path, required=True, help="output folder: data/code")
    args = parser.parse_args(argv)
    written = write_manifests(args.root, args.out, skip=("code",))
    print(f"code: {len(written)} stage manifests in {args.out}")


if __name__ == "__main__":
    run_stage(main)
