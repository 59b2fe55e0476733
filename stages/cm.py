"""Stage cm: the context-mixing model (src/charlm/cm) over train, val and test: its val and test bpc (test with
bootstrap CI and per book), the val ablation, and its per-token nll; timings to metrics/runtime/cm.json."""
from __future__ import annotations

from pathlib import Path

from charlm.io import write_json
from charlm.stage import run_stage, stage_params, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--scores", type=Path, required=True, help="folder with the members' <model>/logp.*.npy")
    parser.add_argument("--data", type=Path, required=True, help="folder with {train,val,test}.npy")
    parser.add_argument("--vocab", type=Path, required=True)
    parser.add_argument("--interim", type=Path, required=True, help="folder with {val,test}.txt and books.json")
    parser.add_argument("--metrics", type=Path, required=True, help="output metrics JSON")
    parser.add_argument("--out", type=Path, required=True, help="output folder for {val,test}.npy per-token nll")
    parser.add_argument("--runtime", type=Path, help="timings log (not a DVC output: it differs run to run)")
    args = parser.parse_args(argv)
    params = stage_params(args.params)
    # Only now numpy and numba: numpy fixes its CPU kernels when imported (charlm.kernels).
    from charlm.cm.run import cm_model
    from charlm.evaluate.scores import save_scores

    metrics, nll, runtime = cm_model(params, args.data, args.interim, args.scores, args.vocab)
    write_json(args.metrics, metrics)
    save_scores(args.out, nll)
    if args.runtime:
        write_json(args.runtime, runtime)


if __name__ == "__main__":
    run_stage(main)
