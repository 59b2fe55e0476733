"""The report stage's work: collect every model, mixture and the anchor, rank them, draw the charts, render the report."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from charlm.data.vocab import load_vocab
from charlm.errors import CharlmError
from charlm.evaluate.paired_books import book_bpc
from charlm.evaluate.scores import load_scores
from charlm.evaluate.splits import load_eval_split
from charlm.io import atomic_write, read_json
from charlm.model_names import eval_stage
from charlm.params import Params
from charlm.report.bits import BitsAnalysis, analyse
from charlm.report.bits_charts import draw_bits
from charlm.report.charts import draw_all
from charlm.report.collect import (Collected, ModelResult, collect_mixes, collect_results, collect_seeds, read_anchor,
                                   read_cm)
from charlm.report.compare import ScorePaths, load_comparisons
from charlm.report.entries import entry_table, summary
from charlm.report.markdown import render_report
from charlm.report.passage import passage_html, skipped_html
from charlm.report.table import ranking


@dataclass(frozen=True)
class ReportPaths:
    """Everything the report stage reads (all DVC-tracked, never metrics/runtime) and writes."""
    eval: Path          # metrics/eval: <name>.json of every model and mixture, seeds/<model>-s<seed>.json
    train: Path         # metrics/train: <name>.json, ngram-<name>.json
    live: Path          # dvclive/train: each neural model's curves
    samples: Path       # reports/samples
    data: Path          # metrics/data.json: which books match their pin
    scores: ScorePaths  # per-token test nll: data/scores (models and seed repeats), data/mix
    processed: Path     # data/processed: test.npy and vocab.json (each token's width in characters)
    interim: Path       # data/interim: test.txt and books.json
    anchor: Path        # metrics/anchor/zpaq.json (missing: not measured)
    plots: Path         # out: the PNG charts
    report: Path        # out: reports/report.md (only its folder is used here: links are relative to it)
    passage: Path       # out: reports/bits_passage.html


def build_report(params: Params, paths: ReportPaths) -> tuple[str, dict]:
    """Draw the charts into `paths.plots` and the coloured passages into `paths.passage` (HTML); return (report
    markdown, metrics/summary.json content)."""
    c = collect(params, paths)
    charts = draw_all(c.results, c.entries, c.anchor, c.titles, paths.plots)
    bits = bits_analysis(params, c.results, paths.scores.scores, paths.interim)
    bits_files = [] if isinstance(bits, str) else draw_bits(bits, paths.plots)
    atomic_write(paths.passage, skipped_html(bits) if isinstance(bits, str) else passage_html(bits))
    links = {path.name: relative_link(path, paths.report) for path in charts}
    bits_links = {path.name: relative_link(path, paths.report) for path in bits_files}
    bits_links["page"] = relative_link(paths.passage, paths.report)
    return render_report(c, params, links, bits, bits_links), summary(c.static, c.entries, c.seeds)


def collect(params: Params, paths: ReportPaths) -> Collected:
    """Load every input and make every comparison the report states."""
    results = collect_results(params, paths.eval, paths.train, paths.live, paths.samples)
    mixes, cm, anchor = collect_mixes(params, paths.eval), read_cm(params, paths.eval), read_anchor(paths.anchor)
    vocab = load_vocab(paths.processed / "vocab.json")
    comparisons = load_comparisons(params, load_eval_split("test", paths.processed, paths.interim, vocab),
                                   paths.scores, per_book_costs(results, [*mixes, cm], anchor))
    titles = {book.id: book.title for book in params.data.books}
    data_metrics = read_json(paths.data)
    unpinned = [book_id for book_id in titles if not data_metrics["per_book"][str(book_id)]["pinned"]]
    return Collected(results, mixes, cm, anchor, collect_seeds(params, results, paths.eval),
                     ranking(results, comparisons), entry_table(results, mixes, cm, anchor, comparisons), comparisons,
                     titles, unpinned)


def per_book_costs(results: list[ModelResult], mixes: list, anchor) -> dict[str, tuple[dict, dict]]:
    # `mixes`: MixResults and the CMResult, each by its entry id (a CMResult's is "cm")
    """Every entry's ({book id: test bpc}, {book id: characters}), zpaq's when zpaq.per_book measured them: what
    the paired comparison over books with zpaq reads (Comparisons.by_books)."""
    books = {}
    for r in results:
        books[r.name] = book_bpc(r.eval)
        if r.dynamic:
            books[f"{r.name}.dynamic"] = book_bpc(r.eval, "dynamic.")
    books.update({getattr(mix, "name", "cm"): book_bpc(mix.eval) for mix in mixes})
    if anchor.metrics is not None:
        books["zpaq"] = book_bpc(anchor.metrics)   # empty without zpaq.per_book: dropped below
    return {entry: costs for entry, costs in books.items() if len(costs[0]) > 1}


def relative_link(path: Path, report_path: Path) -> str:
    """`path` relative to the report's folder, so links work wherever the repository is checked out."""
    return Path(os.path.relpath(path, report_path.parent)).as_posix()


def bits_analysis(params: Params, results: list[ModelResult], scores_dir: Path, interim_dir: Path
                  ) -> BitsAnalysis | str:
    """"Where the bits go" for the best neural and the best n-gram model on validation (never on test), or the
    one-line reason it is skipped."""
    if params.vocab.token != "char":
        return (f"Skipped: it compares models character by character, which needs one token per character, "
                f"and this run's `vocab.token` is `{params.vocab.token}`.")
    best = {kind: min((r for r in results if r.kind == kind), key=lambda r: r.eval["val.bpc"], default=None)
            for kind in ("neural", "n-gram")}
    if None in best.values():
        return "Skipped: it compares the best neural model with the best n-gram, and params define only one kind."
    text, books = read_test_text(interim_dir)
    neural, ngram = best["neural"], best["n-gram"]
    nll = {r.name: load_scores(scores_dir / r.name, "test", len(text),
                               eval_stage(params, r.name))
           for r in (neural, ngram)}
    shade = "neural" if neural.eval["val.bpc"] <= ngram.eval["val.bpc"] else "ngram"
    return analyse(text, neural.name, nll[neural.name], ngram.name, nll[ngram.name], books, shade,
                   int(neural.eval["vocab_size"]))


def read_test_text(interim_dir: Path) -> tuple[str, list[tuple[str, int, int]]]:
    """The cleaned test text, and (title, start, end) character offsets of each book in it, from books.json."""
    text_path, books_path = interim_dir / "test.txt", interim_dir / "books.json"
    for path in (text_path, books_path):
        if not path.is_file():
            raise CharlmError(f"{path}: not found (run `dvc repro preprocess`)")
    try:
        books = [(str(b["title"]), int(b["start"]), int(b["end"])) for b in read_json(books_path)["test"]]
    except (KeyError, TypeError, ValueError):
        raise CharlmError(f"{books_path}: test: needs a list of books with a title and integer start/end") from None
    return text_path.read_text(encoding="utf-8"), books
