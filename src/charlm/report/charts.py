"""The report's PNG charts: learning curves, test bpc with CIs, per-book heatmap, cost vs quality.

Every chart is drawn with matplotlib's default style on the Agg backend and saved without a timestamp
or version stamp at a fixed dpi, so the same inputs give byte-identical files.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from charlm.io import atomic_path  # noqa: E402
from charlm.report.collect import ModelResult  # noqa: E402

DPI = 110
KIND_COLORS = {"neural": "tab:blue", "n-gram": "tab:orange"}
CURVE_Y = "validation bits per character (forward)"
TEST_AXIS = "test bits per character (lower is better)"
CHART_FILES = ("val_bpc_by_epoch.png", "val_bpc_by_time.png", "test_bpc.png", "test_bpc_by_book.png",
               "efficiency.png")


def save_png(fig: plt.Figure, path: Path) -> None:
    """Write `fig` to `path` atomically with no metadata that changes between runs, then close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)


def draw_all(results: list[ModelResult], df: pd.DataFrame, book_titles: dict[int, str], out_dir: Path) -> list[Path]:
    """Draw every chart into `out_dir`; returns the paths, in CHART_FILES order."""
    paths = [out_dir / name for name in CHART_FILES]
    with plt.style.context("default"):   # ignore any matplotlibrc on the machine
        for x, path in zip(("epoch", "train_s"), paths):
            save_png(learning_curves(results, x), path)
        save_png(test_bpc_bars(df), paths[2])
        save_png(book_heatmap(results, df, book_titles), paths[3])
        save_png(efficiency(df), paths[4])
    return paths


def finish(fig: plt.Figure, ax: plt.Axes, title: str, xlabel: str, ylabel: str, legend_title: str) -> plt.Figure:
    """Title, axis labels, a light grid and the legend: what every line or scatter chart here carries."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(title=legend_title)
    return fig


def ci_errors(df: pd.DataFrame) -> np.ndarray:
    """(2, n) distances from each test bpc down to its CI low and up to its high, for error bars."""
    return np.clip(np.vstack([df["test_bpc"] - df["ci_low"], df["ci_high"] - df["test_bpc"]]), 0, None)


def seconds_axis(ax: plt.Axes) -> None:
    """A log-scale x axis labelled in seconds: 1-2-5 ticks over up to two decades, powers of ten beyond."""
    ax.set_xscale("log")
    low, high = ax.get_xlim()
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5) if high / low <= 150 else (1,)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g} s"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def learning_curves(results: list[ModelResult], x: str) -> plt.Figure:
    """Validation bpc of every neural model against epochs or training seconds, n-gram best as a reference."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for r in results:
        if r.curve is not None:
            ax.plot(r.curve[x], r.curve["val_bpc"], marker="o", markersize=3, label=r.name)
    ngrams = [r for r in results if r.kind == "n-gram"]
    if ngrams:
        best = min(ngrams, key=lambda r: r.eval["val.bpc"])
        ax.axhline(best.eval["val.bpc"], color="gray", linestyle="--", label=f"best n-gram ({best.name})")
    if x == "train_s":
        seconds_axis(ax)
        return finish(fig, ax, "Validation bpc against training time",
                      "training time (log scale; validation passes excluded)", CURVE_Y, "model")
    return finish(fig, ax, "Validation bpc against epochs", "epochs (passes over the training split)", CURVE_Y,
                  "model")


def test_bpc_bars(df: pd.DataFrame) -> plt.Figure:
    """Horizontal bars of test bpc, best at the top, with 95% bootstrap intervals as error bars."""
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(df) + 1.6))
    y = np.arange(len(df))[::-1]
    ax.barh(y, df["test_bpc"], xerr=ci_errors(df), capsize=3, color=df["kind"].map(KIND_COLORS))
    for yi, value, high in zip(y, df["test_bpc"], df["ci_high"]):
        ax.text(high + 0.03, yi, f"{value:.3f}", va="center", fontsize=9)
    ax.set_yticks(y, df["model"])
    ax.set_xlim(0, df["ci_high"].max() * 1.15)
    ax.set_xlabel(TEST_AXIS)
    ax.set_ylabel("model")
    ax.set_title("Test bpc with 95% block-bootstrap intervals")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for k, c in KIND_COLORS.items() if k in set(df["kind"])]
    ax.legend(handles, [k for k in KIND_COLORS if k in set(df["kind"])], title="kind", loc="upper left",
              bbox_to_anchor=(1.01, 1))
    ax.grid(axis="x", alpha=0.3)
    return fig


def book_heatmap(results: list[ModelResult], df: pd.DataFrame, book_titles: dict[int, str]) -> plt.Figure:
    """Models (rows, best first) × books (columns) of test bpc, each cell labelled."""
    by_name = {r.name: r for r in results}
    books = list(book_titles)
    grid = np.array([[by_name[m].eval.get(f"test.book.{b}.bpc", np.nan) for b in books] for m in df["model"]])
    fig, ax = plt.subplots(figsize=(max(6, 1.0 * len(books) + 2.5), 0.5 * len(df) + 2.5))
    image = ax.imshow(grid, cmap="viridis_r", aspect="auto")
    middle = np.nanmean(grid)
    for (i, j), value in np.ndenumerate(grid):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if value > middle else "black")
    ax.set_xticks(range(len(books)), [textwrap.shorten(book_titles[b], 22, placeholder="…") for b in books],
                  rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(df)), df["model"])
    ax.set_xlabel("book (test part)")
    ax.set_ylabel("model (best first)")
    ax.set_title("Test bpc per book")
    fig.colorbar(image, ax=ax, label=TEST_AXIS)
    return fig


def efficiency(df: pd.DataFrame) -> plt.Figure:
    """Test bpc (with CI) against training time, one labelled point per model, coloured by kind."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for kind, group in sorted(df.groupby("kind"), key=lambda kg: list(KIND_COLORS).index(kg[0])):
        ax.errorbar(group["train_time_s"], group["test_bpc"], yerr=ci_errors(group), fmt="o", capsize=3,
                    color=KIND_COLORS[kind], label=kind)
    # Labels alternate above and below their point in order of x, so close neighbours do not overprint.
    for i, row in enumerate(df.sort_values("train_time_s").itertuples()):
        ax.annotate(row.model, (row.train_time_s, row.test_bpc), textcoords="offset points",
                    xytext=(6, 5 if i % 2 else -12), fontsize=9)
    ax.margins(x=0.15)
    seconds_axis(ax)
    return finish(fig, ax, "Quality against training cost", "training wall time (log scale)", TEST_AXIS, "kind")
