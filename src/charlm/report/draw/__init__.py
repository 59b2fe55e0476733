"""Every PNG chart of the report: the comparison charts (charts.py) and where the bits go (bits.py)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot, which the modules below import
from charlm.report.compare import Collected  # noqa: E402
from charlm.report.draw.bits import draw_bits  # noqa: E402
from charlm.report.draw.charts import draw_charts  # noqa: E402


def draw(c: Collected, out_dir: Path) -> list[Path]:
    """Draw every chart into `out_dir`: charts.CHART_FILES, then bits.BITS_FILES unless where the bits go was
    skipped; returns their paths, in that order."""
    charts = draw_charts(c, out_dir)
    return charts if isinstance(c.bits, str) else charts + draw_bits(c.bits, out_dir)
