"""Stage report: compare every model, mixture and the zpaq anchor in one report, with its charts; write
metrics/summary.json."""
from __future__ import annotations

from pathlib import Path

from charlm.io import atomic_write, write_json
from charlm.stage import run_stage, stage_params, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--eval", type=Path, required=True, help="folder of metrics/eval/<name>.json (models, mixes)")
    parser.add_argument("--train", type=Path, required=True, help="folder of metrics/train/<name>.json")
    parser.add_argument("--live", type=Path, required=True, help="folder of DVCLive training dirs")
    parser.add_argument("--samples", type=Path, required=True, help="folder of reports/samples/<name>.md")
    parser.add_argument("--data", type=Path, required=True, help="metrics/data.json (which books are pinned)")
    parser.add_argument("--scores", type=Path, required=True,
                        help="folder of data/scores/<name>/test.npy (and <model>-s<seed>/ of compare.seeds)")
    parser.add_argument("--mix", type=Path, required=True, help="folder of data/mix/<name>/test.npy")
    parser.add_argument("--processed", type=Path, required=True, help="folder with test.npy and vocab.json")
    parser.add_argument("--interim", type=Path, required=True, help="folder with test.txt and books.json")
    parser.add_argument("--anchor", type=Path, required=True, help="metrics/anchor/zpaq.json (missing: not measured)")
    parser.add_argument("--plots", type=Path, required=True, help="output folder for the PNG charts")
    parser.add_argument("--report", type=Path, required=True, help="output markdown report")
    parser.add_argument("--passage", type=Path, required=True, help="output HTML page of the coloured passages")
    parser.add_argument("--summary", type=Path, required=True, help="output metrics JSON")
    args = parser.parse_args(argv)
    params = stage_params(args.params)
    # Only now numpy: it fixes its CPU kernels when imported (charlm.kernels).
    from charlm.report.load import ReportPaths, ScorePaths
    from charlm.report.run import build_report

    paths = ReportPaths(args.eval, args.train, args.live, args.samples, args.data,
                        ScorePaths(args.scores, args.mix), args.processed, args.interim, args.anchor,
                        args.plots, args.report, args.passage)
    report, summary = build_report(params, paths)
    atomic_write(args.report, report)
    write_json(args.summary, summary)


if __name__ == "__main__":
    run_stage(main)
