"""`charlm generate`: continue a prefix with any trained model (neural .pt or n-gram .npz).
`charlm profile <name>`: the `-S` overrides of profiles/<name>.yaml, validated, for `dvc exp run`.
`charlm books <folder>`: a folder of .txt files as `data.source` and `data.books` (docs/data.md).
`charlm diff <rev>`: every entry's bpc here against a git revision or DVC experiment, paired 95% intervals.
`charlm score`: bits per character of any text under one model, cleaned as the pipeline cleans (charlm.score).
`charlm export`: a neural model as ONNX (and TorchScript), state as explicit inputs/outputs (charlm.export).

    charlm generate --model models/lstm.pt --vocab data/processed/vocab.json --prefix "it was a dark" --length 200
    charlm generate ... --temperature 0.8 --top-k 5 --seed 1      # seeded sampling (the default mode)
    charlm generate ... --greedy                                   # the notebook's argmax decoding
    charlm diff main --models lstm,champion.dynamic --per-book     # a real gain, or noise?
    charlm score --model models/champion.pt letter.txt --per-char bits.tsv --html bits.html
    charlm export --model models/champion.pt --onnx champion.onnx   # scored without torch: docs/api.md

A prefix token outside the vocabulary is an error naming it (models are trained on cleaned text:
lowercase a-z and spaces by default), never a silent <unk>. An empty prefix starts from a space.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Sequence

from charlm.api import vocab_file
from charlm.data.folder import books_yaml, folder_overrides
from charlm.data.vocab import load_vocab
from charlm.errors import CharlmError
from charlm.io import atomic_write
from charlm.lm import load_lm
from charlm.params import load_params
from charlm.profiles import override_args, profile_args, shell_words
from charlm.revdiff import diff_report
from charlm.stage import run_stage


def generate(model: str | Path, vocab: str | Path, prefix: str, length: int, *, greedy: bool = False,
             temperature: float = 1.0, top_k: int = 0, seed: int = 0) -> str:
    """The prefix followed by `length` generated tokens, as text; the same seed gives the same text."""
    if length < 0:
        raise CharlmError(f"--length: must be >= 0, got {length}")
    if temperature <= 0:
        raise CharlmError(f"--temperature: must be > 0, got {temperature}")
    if top_k < 0:
        raise CharlmError(f"--top-k: must be >= 0, got {top_k}")
    vocab = load_vocab(vocab)
    lm = load_lm(model, vocab)
    tokens = vocab.split(prefix) if prefix else []
    index = {t: i for i, t in enumerate(vocab.tokens)}
    unknown = sorted({t for t in tokens if t not in index or t == vocab.tokens[0]})
    if unknown:
        shown = "".join(sorted(vocab.tokens[1:])) if vocab.token == "char" else f"{len(vocab)} words"
        raise CharlmError(f"--prefix: {', '.join(map(repr, unknown))} not in the vocabulary ({shown!r}); "
                          f"the models were trained on cleaned text")
    ids = lm.generate([index[t] for t in tokens], length, greedy=greedy, temperature=temperature, top_k=top_k,
                      seed=seed)
    sep = "" if vocab.token == "char" else " "
    return sep.join(part for part in (prefix, vocab.decode(ids)) if part)


def score(args: argparse.Namespace) -> str:
    """`charlm score`: the summary it prints, after writing --per-char and --html when asked."""
    from charlm.report.render.html import text_html
    from charlm.score import ContextMixerText, char_bits, clean_text, per_char_tsv, read_text, score_text, summary

    params = load_params(args.params)
    where = "standard input" if args.text == "-" else args.text
    cleaned = clean_text(read_text(args.text), params.preprocess, where)
    if args.model == "cm":   # the context mixer has no model file: rebuilt from the project (charlm.score)
        if args.dynamic or args.streams != 1:
            raise CharlmError("--model cm: reads the text as one stream and adapts by design; it takes no "
                              "--dynamic or --streams")
        root = Path(args.params).parent
        project_vocab = root / "data" / "processed" / "vocab.json"
        vocab = load_vocab(vocab_file(root / "models" / "cm", args.vocab))
        # The mixer reads train.npy and its members' scores, all in the project's own vocabulary.
        if args.vocab and vocab.fingerprint != load_vocab(project_vocab).fingerprint:
            raise CharlmError(f"--vocab {args.vocab}: --model cm reads the project's train split, encoded with "
                              f"{project_vocab}; drop --vocab or pass that file")
        lm = ContextMixerText(params, root, vocab)
    else:
        vocab = load_vocab(vocab_file(args.model, args.vocab))
        lm = load_lm(args.model, vocab)
    scored = score_text(lm, vocab, cleaned.text, params.evaluate, streams=args.streams, dynamic=args.dynamic)
    if args.per_char:
        atomic_write(args.per_char, per_char_tsv(scored, vocab))
    if args.html:
        atomic_write(args.html, text_html(scored.text, char_bits(scored, vocab), scored.model, scored.bpc,
                                          math.log2(len(vocab)), where))
    return summary(scored, cleaned, args.params)


def export(args: argparse.Namespace) -> str:
    """`charlm export`: one line per file written."""
    from charlm.export import export_model, neural_model   # torch and onnx load only for this command

    if not (args.onnx or args.torchscript):
        raise CharlmError("export: pass --onnx FILE, --torchscript FILE or both")
    vocab = load_vocab(vocab_file(neural_model(args.model), args.vocab))
    return "\n".join(f"wrote {path}" for path in export_model(args.model, vocab, args.onnx, args.torchscript))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="charlm", description="Character-level language models.")
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="continue a prefix with a trained model",
                              description=generate.__doc__)
    gen.add_argument("--model", required=True, help="models/<name>.pt or models/ngram/<name>.npz")
    gen.add_argument("--vocab", default="data/processed/vocab.json")
    gen.add_argument("--prefix", default="", help="text to continue (default: start from a space)")
    gen.add_argument("--length", type=int, default=200, help="tokens to generate")
    gen.add_argument("--greedy", action="store_true", help="argmax decoding, as in the notebook")
    gen.add_argument("--temperature", type=float, default=None, help="sampling temperature (default 1.0)")
    gen.add_argument("--top-k", type=int, default=None, help="sample among the k likeliest (default 0 = all)")
    gen.add_argument("--seed", type=int, default=0)
    sc = commands.add_parser("score", help="bits per character of a text under one trained model",
                             description=score.__doc__)
    sc.add_argument("text", help="a UTF-8 text file, or - for standard input")
    sc.add_argument("--model", required=True,
                    help="models/<name>.pt, models/ngram/<name>.npz, or cm (the context mixer, rebuilt: ~1 min)")
    sc.add_argument("--vocab", help="default: data/processed/vocab.json of the model's project")
    sc.add_argument("--params", default="params.yaml", help="where preprocess (the cleaning) and evaluate come from")
    sc.add_argument("--dynamic", action="store_true", help="adapt while scoring, with evaluate.dynamic (neural)")
    sc.add_argument("--streams", type=int, default=1,
                    help="read the text as N streams, as evaluate does with evaluate.batch_size (default 1: "
                         "every character sees all text before it)")
    sc.add_argument("--per-char", help="write a TSV of position, token and bits")
    sc.add_argument("--html", help="write the text coloured by bits, as reports/bits_passage.html")
    exp = commands.add_parser("export", help="write a neural model as ONNX (and TorchScript), its state explicit",
                              description="charlm export --model models/champion.pt --onnx champion.onnx")
    exp.add_argument("--model", required=True, help="models/<name>.pt (an n-gram model is already ARPA)")
    exp.add_argument("--vocab", help="default: data/processed/vocab.json of the model's project")
    exp.add_argument("--onnx", help="the ONNX file to write (docs/api.md scores it with onnxruntime)")
    exp.add_argument("--torchscript", help="the TorchScript file to write (the same traced graph)")
    prof = commands.add_parser("profile", help="print a params profile as `dvc exp run -S` arguments",
                               description="charlm profile gpu | xargs -r dvc exp run -n gpu")
    prof.add_argument("name", help="a file profiles/<name>.yaml")
    prof.add_argument("--params", default="params.yaml", help="the params file the profile must fit")
    books = commands.add_parser("books", help="print a folder of .txt files as data.source and data.books",
                                description="charlm books my_texts | xargs -r dvc exp run")
    books.add_argument("folder", help="one book per file: <id>.txt, e.g. my_letters.txt")
    books.add_argument("--yaml", action="store_true", help="print the block to paste under data: in params.yaml")
    books.add_argument("--params", default="params.yaml", help="the params file the books must fit")
    diff = commands.add_parser("diff", help="each entry's bpc here against a git revision or DVC experiment, "
                                            "with the difference's paired 95%% interval",
                               description="charlm diff main --per-book")
    diff.add_argument("rev", help="a git revision (main, HEAD~1, a tag) or a DVC experiment's name")
    diff.add_argument("--models", help="comma-separated entries, e.g. lstm,kn8,champion.dynamic (default: all)")
    diff.add_argument("--per-book", action="store_true", help="also one row per book")
    diff.add_argument("--split", choices=("test", "val"), default="test")
    diff.add_argument("--params", default="params.yaml", help="where evaluate.bootstrap_* and the seed come from")
    return parser


def _main(argv: Sequence[str] | None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "profile":
        print(shell_words(profile_args(args.name, args.params)))
        return
    if args.command == "books":
        overrides = folder_overrides(args.folder, args.params)
        print(books_yaml(overrides) if args.yaml else shell_words(override_args(overrides)))
        return
    if args.command == "score":
        if args.dynamic and args.streams != 1:
            raise CharlmError("--dynamic: reads the text as one stream; it takes no --streams")
        print(score(args))
        return
    if args.command == "export":
        print(export(args))
        return
    if args.command == "diff":
        models = [m.strip() for m in args.models.split(",")] if args.models else None
        print(diff_report(args.rev, Path.cwd(), args.split, load_params(args.params).evaluate, models, args.per_book))
        return
    if args.greedy and (args.temperature is not None or args.top_k is not None):
        raise CharlmError("--greedy: takes no --temperature or --top-k (those configure sampling)")
    print(generate(args.model, args.vocab, args.prefix, args.length, greedy=args.greedy,
                   temperature=1.0 if args.temperature is None else args.temperature,
                   top_k=args.top_k or 0, seed=args.seed))


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: a CharlmError prints `error: …` and exits 1."""
    try:
        run_stage(_main, argv)
    except BrokenPipeError:
        # `charlm score ... | head -1`: the reader has gone. Point stdout at /dev/null so that Python's own
        # flush at exit does not fail again (the recipe of Python's signal docs), and exit as `head` expects.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)


if __name__ == "__main__":
    main()
