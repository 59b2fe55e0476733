"""Stage inputs for the report stage without training anything: bigram 'models' scored (statically and
dynamically) by the real evaluator, mixed by the real mix stage, and a zpaq anchor with its writer's keys."""
from __future__ import annotations

import numpy as np
import yaml

from charlm.evaluate.metrics import evaluate_lm
from charlm.evaluate.samples import generate_samples, samples_markdown
from charlm.evaluate.scores import save_scores
from charlm.evaluate.splits import load_eval_split
from charlm.evaluate.anchor import Candidate, anchor_metrics
from charlm.io import read_json, write_json
from charlm.cm.run import cm_model
from charlm.mix.run import mix_model
from charlm.model_names import model_key, repeats
from charlm.report.load import ReportPaths, ScorePaths, repeat_path
from charlm.report.run import build_report
from charlm.params import parse_params
from fake_lm import BigramLM, write_eval_inputs
from helpers import TINY_PARAMS

EPOCH_TOKENS = 1600   # the fake training split's length in tokens
# Why each fake neural run stopped (the train loop's stop_reason); unnamed models spend their budget.
STOPS = {"lstm": "max_epochs", "deep_lstm": "patience"}


def fake_params():
    """The tiny profile with the two books that write_eval_inputs makes (ids 7 and 9), per-model budgets
    that differ from the shared one, and a transformer beside the recurrent models."""
    raw = yaml.safe_load(TINY_PARAMS.read_text())
    raw["data"]["books"] = [{"id": 7, "title": "The Seventh Book of Tests", "author": "T"},
                            {"id": 9, "title": "Nine", "author": "T"}]
    raw["models"]["gru"]["train"] = {"max_tokens": 4321}
    raw["models"]["deep_lstm"]["train"] = {"patience": 2}
    raw["models"]["tf"] = {"arch": "transformer", "role": "compare", "num_layers": 2, "hidden_size": 16, "num_heads": 2, "context": 32,
                           "stride": 16, "dropout": 0.0, "train": {"max_tokens": 5000}}
    return parse_params(raw)


def fake_run(params, name: str, num_parameters: int) -> dict:
    """metrics/train/<name>.json with the keys charlm.train.run.train_metrics writes, consistent with params."""
    p = params.model_train(name)
    stop = STOPS.get(name, "max_tokens")
    step = p.batch_size * p.num_steps
    tokens = {"max_tokens": p.max_tokens // step * step, "max_epochs": p.max_epochs * EPOCH_TOKENS,
              "patience": EPOCH_TOKENS + 3 * step}[stop]
    assert tokens <= p.max_tokens, name   # a fake run must not overspend its budget either
    return {"train.tokens": tokens, "train.epochs": round(tokens / EPOCH_TOKENS, 3), "stop_reason": stop,
            "best.tokens": tokens - (p.patience * step if stop == "patience" else 0),
            "train.steps": tokens // step, "num_parameters": num_parameters}


def write_fake_results(root, params) -> dict:
    """metrics/eval, metrics/train, dvclive/train, reports/samples and data/scores for every model in params,
    metrics/eval for every mix and the cm, and metrics/anchor/zpaq.json; returns the dirs (and the report stage's
    outputs)."""
    interim, processed, vocab = write_eval_inputs(root)
    splits = [load_eval_split(s, processed, interim, vocab) for s in ("val", "test")]
    train = np.load(processed / "train.npy")
    dirs = {k: root / v for k, v in (("eval", "metrics/eval"), ("train", "metrics/train"), ("live", "dvclive/train"),
                                     ("samples", "reports/samples"), ("plots", "plots"), ("data", "metrics/data.json"),
                                     ("scores", "data/scores"), ("passage", "reports/bits_passage.html"),
                                     ("anchor", "metrics/anchor/zpaq.json"), ("mix", "data/mix"))}
    dirs["interim"], dirs["processed"] = interim, processed
    # Book 9's text does not match its pin: the report must say so.
    write_json(dirs["data"], {"per_book": {str(b.id): {"pinned": b.id != 9} for b in params.data.books}})
    names = [*params.models, *params.ngram]
    for i, name in enumerate(names):
        neural = name in params.models
        directions = ("forward", "backward") if name == "bilstm" else ("forward",)
        # Models fitted on different amounts of text (a share that grows with i, the last the whole split), so
        # their scores differ.
        lm = BigramLM(train[: len(train) * (i + 2) // (len(names) + 1)], len(vocab), name=name, directions=directions)
        evaluation, nll = evaluate_lm(lm, splits, params.evaluate, len(vocab),
                                      dynamic=name in params.evaluate.dynamic.models,
                                      distributions=name in params.evaluate.distributions)
        key = model_key(params, name)     # where each stage writes it: <name> or ngram/<name>
        write_json(dirs["eval"] / f"{key}.json", evaluation)
        save_scores(dirs["scores"] / key, nll)
        (dirs["samples"] / f"{key}.md").parent.mkdir(parents=True, exist_ok=True)
        (dirs["samples"] / f"{key}.md").write_text(
            samples_markdown(name, generate_samples(lm, vocab, params.evaluate), params.evaluate))
        # The keys each trainer writes (charlm.train.run.train_metrics, charlm.ngram.run.train_ngram).
        if neural:
            metrics = fake_run(params, name, evaluation["num_parameters"])
            live = dirs["live"] / name / "plots" / "metrics"
            steps = np.linspace(metrics["train.tokens"] / 6, metrics["train.tokens"], 6).round().astype(int)
            tables = {"val/bpc_forward.tsv": ("bpc_forward", 4.5 - np.log1p(steps / 1000) * (0.5 + 0.1 * i)),
                      "train/loss_nats.tsv": ("loss_nats", 3.0 - np.log1p(steps / 1000) * 0.3)}
            for file, (field, values) in tables.items():
                (live / file).parent.mkdir(parents=True, exist_ok=True)
                lines = ["step\t" + field] + [f"{s}\t{v}" for s, v in zip(steps, values)]
                (live / file).write_text("\n".join(lines) + "\n")
        else:
            metrics = {"train.tokens": 3000 * (i + 1), "train.epochs": 1, "order": params.ngram[name].order}
        write_json(dirs["train"] / f"{key}.json", metrics)
        runs = {}
        for j, (seed, repeat) in enumerate(repeats(params, name) if neural else []):
            # A repeat at another seed: the same kind of model, fitted on a slightly different share.
            share = len(train) * (i + 2) // (len(names) + 1) + 37 * (j + 1)
            lm = BigramLM(train[:share], len(vocab), name=name, directions=directions)
            runs[repeat], nll = evaluate_lm(lm, splits, params.evaluate, len(vocab))
            save_scores(repeat_path(dirs["scores"], name, seed), nll)
        if neural:
            write_json(dirs["eval"] / "seeds" / f"{name}.json", runs)
    for name in params.mix:
        metrics, nll = mix_model(name, params, dirs["scores"], processed, interim, processed / "vocab.json")
        write_json(dirs["eval"] / f"{name}.json", metrics)
        save_scores(dirs["mix"] / name, nll)
    # The context mixer, the real one, over the members' distributions written above.
    metrics, nll, _ = cm_model(params, processed, interim, dirs["scores"], processed / "vocab.json")
    write_json(dirs["eval"] / "cm.json", metrics)
    save_scores(dirs["mix"] / "cm", nll)
    write_json(dirs["anchor"], fake_zpaq(dirs, params))
    return dirs


def fake_zpaq(dirs, params) -> dict:
    """metrics/anchor/zpaq.json from the real writer, for archive sizes that put the compressor in the middle
    of the models on test (and a little worse on val)."""
    test_bpc = sorted(read_json(dirs["eval"] / f"{model_key(params, name)}.json")["test.bpc"]
                      for name in [*params.models, *params.ngram])
    middle = (test_bpc[len(test_bpc) // 2 - 1] + test_bpc[len(test_bpc) // 2]) / 2
    texts = {split: (dirs["interim"] / f"{split}.txt").read_text() for split in ("train", "val", "test")}
    train_bytes = len(texts["train"]) // 4
    extra = {split: round((middle + 0.01 * (split == "val")) * len(texts[split]) / 8) for split in ("val", "test")}
    best = Candidate(params.zpaq.methods[0], str(params.zpaq.methods[0]), train_bytes, train_bytes + extra["val"],
                     train_bytes + extra["test"])
    # zpaq's default, a little worse than the best
    m5 = Candidate(5, "56,234,1", train_bytes, best.val + len(texts["val"]) // 100, best.test + len(texts["test"]) // 100)
    # Each test book's cost (zpaq.per_book): the test bytes shared out by characters, one book a little harder.
    books = [(b["id"], b["end"] - b["start"]) for b in read_json(dirs["interim"] / "books.json")["test"]]
    total = sum(n for _, n in books)
    shares = [round(extra["test"] * n / total) + (8 if i == 0 else -8) for i, (_, n) in enumerate(books)]
    return anchor_metrics([best], m5, texts, "7.15", {book: (shares[i], n) for i, (book, n) in enumerate(books)})


def report_paths(dirs, plots=None, report_path=None, passage=None, anchor=None, eval_dir=None) -> ReportPaths:
    """The report stage's inputs from the fakes, and the given outputs (default: under the fakes' root)."""
    return ReportPaths(eval_dir or dirs["eval"], dirs["train"], dirs["live"], dirs["samples"], dirs["data"],
                       ScorePaths(dirs["scores"], dirs["mix"]), dirs["processed"],
                       dirs["interim"], anchor or dirs["anchor"], plots or dirs["plots"],
                       report_path or dirs["plots"].parent / "reports" / "report.md", passage or dirs["passage"])


def build(params, dirs, plots, report_path, passage, anchor=None, eval_dir=None):
    """The report stage's (report markdown, summary) from the fakes, to the given outputs."""
    return build_report(params, report_paths(dirs, plots, report_path, passage, anchor, eval_dir))


def build_fake_report(root):
    """(params, dirs, report markdown, summary): the fakes written under `root` and the report built from them,
    the shared start of the report tests' module fixtures."""
    params = fake_params()
    dirs = write_fake_results(root, params)
    report, summary = build(params, dirs, dirs["plots"], root / "reports" / "report.md", dirs["passage"])
    return params, dirs, report, summary


def table_rows(report: str, heading: str, key: str = "model", which: int = 0
               ) -> tuple[list[str], dict[str, list[str]]]:
    """The header and the rows (by the `key` column, backticks off) of the `which`-th markdown table (0: the
    first) under `## heading`."""
    section = report.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    tables, lines = [], []
    for line in section.splitlines() + [""]:
        if line.startswith("|"):
            lines.append(line)
        elif lines:
            tables.append(lines)
            lines = []
    cells = [[c.strip() for c in line.strip("|").split(" | ")] for line in tables[which]]
    header = cells[0]
    return header, {row[header.index(key)].replace("`", ""): row for row in cells[2:]}


def eval_file(dirs, params, name: str, eval_dir=None):
    """metrics/eval's file of entry `name`: <name>.json, or ngram/<name>.json for an n-gram."""
    return (eval_dir or dirs["eval"]) / f"{model_key(params, name) if name in params.ngram else name}.json"
