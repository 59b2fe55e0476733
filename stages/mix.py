"""Stage mix@<name>: a mixture of models' per-token probabilities (and a cache), weights by EM on val; its
val and test bpc (test with bootstrap CI and per book), the weights, and the mixture's per-token nll."""
from __future__ import annotations

from pathlib import Path

from charlm.io import write_json
from charlm.stage import run_stage, stage_params, stage_parser


def main(argv=None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--name", required=True, help="mixture name under `mix` in params")
    parser.add_argument("--scores", type=Path, required=True, help="folder with <model>/{val,test}.npy per-token nll")
    parser.add_argument("--data", type=Path, required=True, help="folder with {val,test}.npy")
    parser.add_argument("--vocab", type=Path, required=True)
    parser.add_argument("--interim", type=Path, required=True, help="folder with {val,test}.txt and books.json")
    parser.add_argument("--metrics", type=Path, required=True, help="output metrics JSON")
    parser.add_argument("--out", type=Path, required=True, help="output folder for the mixture's {val,test}.npy")
    args = parser.parse_args(argv)
    params = stage_params(args.params)
    # Only now numpy: it fixes its CPU kernels when imported (charlm.kernels).
    from charlm.evaluate.scores import save_scores
    from charlm.mix.run import mix_model

    metrics, nll = mix_model(args.name, params, args.scores, args.data, args.interim, args.vocab)
    write_json(args.metrics, metrics)
    save_scores(args.out, nll)


if __name__ == "__main__":
    run_stage(main)
