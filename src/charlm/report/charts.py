"""The report's PNG charts: learning curves, test bpc with CIs, per-book heatmap, compute vs quality.

Every chart is drawn with matplotlib's default style on the Agg backend and saved without a timestamp
or version stamp at a fixed dpi, so the same inputs give byte-identical files.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from charlm.io import atomic_path  # noqa: E402
from charlm.report.collect import ModelResult  # noqa: E402

DPI = 110
KIND_COLORS = {"neural": "tab:blue", "n-gram": "tab:orange"}
CURVE_Y = "validation bits per character (forward)"
TEST_AXIS = "test bits per character (lower is better)"
# No chart has a time axis: wall time varies run to run, and every chart is a DVC output that must not.
CHART_FILES = ("val_bpc_by_epoch.png", "test_bpc.png", "test_bpc_by_book.png", "efficiency.png")


def save_png(fig: plt.Figure, path: Path) -> None:
    """Write `fig` to `path` atomically with no metadata that changes between runs, then close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)


def draw_all(results: list[ModelResult], df: pd.DataFrame, book_titles: dict[int, str], out_dir: Path) -> list[Path]:
    """Draw every chart into `out_dir`; returns the paths, in CHART_FILES order."""
    paths = [out_dir / name for name in CHART_FILES]
    with plt.style.context("default"):   # ignore any matplotlibrc on the machine
        save_png(learning_curves(results), paths[0])
        save_png(test_bpc_bars(df), paths[1])
        save_png(book_heatmap(results, df, book_titles), paths[2])
        save_png(efficiency(results, df), paths[3])
    return paths


def finish(fig: plt.Figure, ax: plt.Axes, title: str, xlabel: str, ylabel: str, legend_title: str | None
           ) -> plt.Figure:
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


def learning_curves(results: list[ModelResult]) -> plt.Figure:
    """Validation bpc of every neural model against epochs, the best n-gram as a reference line."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for r in results:
        if r.curve is not None:
            ax.plot(r.curve["epoch"], r.curve["val_bpc"], marker="o", markersize=3, label=r.name)
    best_ngram_line(ax, results)
    return finish(fig, ax, "Validation bpc against epochs", "epochs (passes over the training split)", CURVE_Y,
                  "model")


def best_ngram_line(ax: plt.Axes, results: list[ModelResult], metric: str = "val.bpc") -> None:
    """A dashed horizontal line at the best n-gram's `metric`: the bar a trained model has to clear."""
    ngrams = [r for r in results if r.kind == "n-gram"]
    if ngrams:
        best = min(ngrams, key=lambda r: r.eval[metric])
        ax.axhline(best.eval[metric], color="gray", linestyle="--", label=f"best n-gram ({best.name})")


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


def efficiency(results: list[ModelResult], df: pd.DataFrame) -> plt.Figure:
    """Test bpc (with CI) of each neural model against its estimated training compute, best n-gram dashed.

    Compute is 6·N·D from params and token counts, not a measured time, so the chart is the same on any
    machine. N-grams have no such cost (they count, they do not train by gradient), so they are not points.
    """
    fig, ax = plt.subplots(figsize=(8, 5))
    neural = df[df["kind"] == "neural"].sort_values(["train_flops", "model"], kind="stable")
    ax.errorbar(neural["train_flops"], neural["test_bpc"], yerr=ci_errors(neural), fmt="o", capsize=3,
                color=KIND_COLORS["neural"], label="neural model")
    # Labels alternate above and below their point in order of x, so close neighbours do not overprint.
    for i, row in enumerate(neural.itertuples()):
        ax.annotate(row.model, (row.train_flops, row.test_bpc), textcoords="offset points",
                    xytext=(6, 5 if i % 2 else -12), fontsize=9)
    best_ngram_line(ax, results, "test.bpc")
    if len(neural):
        ax.set_xscale("log")
        ax.margins(x=0.15)
    return finish(fig, ax, "Quality against training compute",
                  "estimated training compute, 6·N·D FLOPs (N weights, D training tokens; log scale)",
                  TEST_AXIS, None)
