"""The report stage's work, in order: load every input, compare the entries, draw the charts, render the pages."""
from __future__ import annotations

import os
from pathlib import Path

from charlm.io import atomic_write
from charlm.params import Params
from charlm.report.compare import compare
from charlm.report.draw import draw
from charlm.report.load import ReportPaths, load
from charlm.report.render.html import passage_page
from charlm.report.render.page import render_report
from charlm.report.render.summary import summary


def build_report(params: Params, paths: ReportPaths) -> tuple[str, dict]:
    """Draw the charts into `paths.plots` and the coloured passages into `paths.passage` (HTML); return (report
    markdown, metrics/summary.json content)."""
    c = compare(params, load(params, paths))
    links = {path.name: relative_link(path, paths.report) for path in draw(c, paths.plots)}
    atomic_write(paths.passage, passage_page(c.bits))
    links["page"] = relative_link(paths.passage, paths.report)
    return render_report(c, params, links), summary(c.static, c.entries, c.seeds)


def relative_link(path: Path, report_path: Path) -> str:
    """`path` relative to the report's folder, so links work wherever the repository is checked out."""
    return Path(os.path.relpath(path, report_path.parent)).as_posix()
