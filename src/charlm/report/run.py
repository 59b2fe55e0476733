"""The plot stage's work: collect every model in params, rank them, draw the charts, render the report."""
from __future__ import annotations

import os
from pathlib import Path

from charlm.params import Params
from charlm.report.charts import draw_all
from charlm.report.collect import collect_results
from charlm.report.markdown import render_report
from charlm.report.table import ranking, summary


def build_report(params: Params, eval_dir: Path, train_dir: Path, live_dir: Path, samples_dir: Path,
                 plots_dir: Path, report_path: Path) -> tuple[str, dict]:
    """Draw the charts into `plots_dir`; return (report markdown, metrics/summary.json content)."""
    results = collect_results(params, eval_dir, train_dir, live_dir, samples_dir)
    df = ranking(results)
    titles = {book.id: book.title for book in params.data.books}
    charts = draw_all(results, df, titles, plots_dir)
    # Relative links, so the report renders wherever the repository is checked out (and on GitHub).
    links = {path.name: Path(os.path.relpath(path, report_path.parent)).as_posix() for path in charts}
    return render_report(results, df, links, titles, params), summary(df)
