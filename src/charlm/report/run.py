"""The plot stage's work: collect every model, mixture and the anchor, rank them, draw the charts, render the report."""
from __future__ import annotations

import os
from pathlib import Path

from charlm.errors import CharlmError
from charlm.evaluate.scores import load_scores
from charlm.io import atomic_write, read_json
from charlm.params import Params
from charlm.report.bits import BitsAnalysis, analyse
from charlm.report.bits_charts import draw_bits
from charlm.report.charts import draw_all
from charlm.report.collect import ModelResult, collect_mixes, collect_results, read_anchor
from charlm.report.entries import entry_table, summary
from charlm.report.markdown import render_report
from charlm.report.passage import passage_html, skipped_html
from charlm.report.table import ranking


def build_report(params: Params, eval_dir: Path, train_dir: Path, live_dir: Path, samples_dir: Path,
                 plots_dir: Path, report_path: Path, data_metrics: dict, scores_dir: Path, interim_dir: Path,
                 passage_path: Path, anchor_path: Path) -> tuple[str, dict]:
    """Draw the charts into `plots_dir` and the coloured passages into `passage_path` (HTML); return (report
    markdown, metrics/summary.json content).

    `eval_dir` holds every model's and mixture's metrics; `data_metrics` is metrics/data.json, for the books
    whose text does not match its sha256 pin; `scores_dir` holds each model's per-token nll, `interim_dir`
    the test text and books.json; `anchor_path` is metrics/anchor/zpaq.json (missing: not measured)."""
    results = collect_results(params, eval_dir, train_dir, live_dir, samples_dir)
    mixes, anchor = collect_mixes(params, eval_dir), read_anchor(anchor_path)
    static, entries = ranking(results), entry_table(results, mixes, anchor)
    titles = {book.id: book.title for book in params.data.books}
    charts = draw_all(results, entries, anchor, titles, plots_dir)
    bits = bits_analysis(params, results, scores_dir, interim_dir)
    bits_files = [] if isinstance(bits, str) else draw_bits(bits, plots_dir)
    atomic_write(passage_path, skipped_html(bits) if isinstance(bits, str) else passage_html(bits))
    links = {path.name: relative_link(path, report_path) for path in charts}
    bits_links = {path.name: relative_link(path, report_path) for path in bits_files}
    bits_links["page"] = relative_link(passage_path, report_path)
    unpinned = [book_id for book_id in titles if not data_metrics["per_book"][str(book_id)]["pinned"]]
    report = render_report(results, mixes, anchor, static, entries, links, titles, params, unpinned, bits,
                           bits_links)
    return report, summary(static, entries)


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
                               f"evaluate@{r.name}" if r is neural else f"evaluate_ngram@{r.name}")
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
