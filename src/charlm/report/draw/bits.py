"""The "Where the bits go" PNGs: the coloured passages, and bpc by position in the word and by character.

Drawn like every other chart (draw/png.py: default style, Agg, no metadata), so reruns are byte-identical.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PatchCollection
from matplotlib.colors import Normalize
from matplotlib.patches import Rectangle

from charlm.report.colors import BITS_CMAP, GAIN_CMAP, GAIN_LIMIT, bits_colors, dark, gain_colors, legend_text
from charlm.report.compare.bits import BitsAnalysis, Passage
from charlm.report.draw.png import KIND_COLORS, save_png

BITS_FILES = ("bits_passage.png", "bpc_by_word_position.png", "bpc_by_character.png")
# A passage is laid out in character cells: x in cells across, y in cell heights, growing downwards.
LINE_CHARS = 80         # characters per line
BAND = 0.3              # the gain band under a line of characters
LINE = 1 + BAND + 0.45  # one line, with the gap below it
TITLE = 1.6             # the passage's title line above its text
SCALES = 3.2            # the two colour scales under the last passage
CELL_INCHES = (0.12, 0.19)   # width and height of a character cell on the page


def draw_bits(analysis: BitsAnalysis, out_dir: Path) -> list[Path]:
    """Draw the three charts into `out_dir`; returns their paths, in BITS_FILES order."""
    paths = [out_dir / name for name in BITS_FILES]
    with plt.style.context("default"):   # ignore any matplotlibrc on the machine
        save_png(passage_figure(analysis), paths[0])
        save_png(grouped_bars(analysis, analysis.by_position, "position in the word (1 = first character after a "
                              "space; space = the end of a word) and share of the test characters",
                              "Test bpc by position in the word"), paths[1])
        save_png(grouped_bars(analysis, analysis.by_character, "character predicted (␣ = space) and share of the "
                              "test characters", "Test bpc by character"), paths[2])
    return paths


def wrap(text: str, width: int = LINE_CHARS) -> list[tuple[int, int]]:
    """(start, end) of each line of `text`, at most `width` characters, broken after a space when there is one."""
    lines, start = [], 0
    while start < len(text):
        end = min(len(text), start + width)
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space + 1 if space >= start else end
        lines.append((start, end))
        start = end
    return lines


def passage_figure(analysis: BitsAnalysis) -> plt.Figure:
    """Every passage as rows of coloured character cells with the gain band under each row, and the two scales."""
    heights = [TITLE + LINE * len(wrap(p.text)) for p in analysis.passages]
    total = sum(heights) + SCALES
    fig = plt.figure(figsize=(LINE_CHARS * CELL_INCHES[0], total * CELL_INCHES[1]))
    top = 1.0
    for passage, height in zip(analysis.passages, heights):
        share = height / total
        ax = fig.add_axes((0, top - share, 1, share))
        draw_passage(ax, passage, analysis)
        top -= share
    background, band = legend_text(analysis)
    scales = ((BITS_CMAP, Normalize(0, analysis.max_bits), background),
              (GAIN_CMAP, Normalize(-GAIN_LIMIT, GAIN_LIMIT), band))
    for i, (cmap, norm, label) in enumerate(scales):
        cax = fig.add_axes((0.02 + 0.5 * i, 0.04, 0.44, 0.025))
        bar = fig.colorbar(ScalarMappable(norm, cmap), cax=cax, orientation="horizontal")
        bar.ax.tick_params(labelsize=7)
        bar.set_label(textwrap.fill(label.replace("`", ""), 62), fontsize=7)
    return fig


def draw_passage(ax: plt.Axes, passage: Passage, analysis: BitsAnalysis) -> None:
    """One passage on `ax` in character units (y grows downwards): its title, then the character rows."""
    lines = wrap(passage.text)
    backgrounds = bits_colors(getattr(passage, analysis.shade), analysis.max_bits)
    bands = gain_colors(passage.neural, passage.ngram)
    white = dark(backgrounds)
    cells, colors = [], []
    for row, (start, end) in enumerate(lines):
        y = TITLE + row * LINE
        for col, i in enumerate(range(start, end)):
            cells += [Rectangle((col, y), 1, 1), Rectangle((col, y + 1), 1, BAND)]
            colors += [backgrounds[i], bands[i]]
            ax.text(col + 0.5, y + 0.52, passage.text[i], ha="center", va="center", family="DejaVu Sans Mono",
                    fontsize=9, color="white" if white[i] else "black")
    ax.add_collection(PatchCollection(cells, facecolors=colors, edgecolors="none"))
    ax.text(0, TITLE / 2, f"{passage.book}: characters {passage.start:,}–{passage.start + len(passage.text):,} of the "
            "test text", fontsize=9, fontweight="bold", va="center")
    ax.set_xlim(0, LINE_CHARS)
    ax.set_ylim(TITLE + LINE * len(lines), 0)
    ax.axis("off")


def grouped_bars(analysis: BitsAnalysis, df: pd.DataFrame, xlabel: str, title: str) -> plt.Figure:
    """Above, each model's bpc per group; below, the n-gram's minus the neural model's (green: neural better).
    Each tick also gives the group's share of the test characters."""
    x = np.arange(len(df))
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(max(7.0, 0.34 * len(df) + 3), 6),
                                      gridspec_kw={"height_ratios": [2, 1]})
    for offset, column, name, kind in ((-0.2, "neural", analysis.neural, "neural"),
                                       (0.2, "ngram", analysis.ngram, "n-gram")):
        top.bar(x + offset, df[column], width=0.4, color=KIND_COLORS[kind], label=f"{name} ({kind})")
    top.set_ylabel("test bpc (lower is better)")
    top.set_title(title)
    top.legend(title="best of its kind\non validation", loc="upper left", bbox_to_anchor=(1.01, 1))
    gap = df["ngram"] - df["neural"]
    colors = matplotlib.colormaps[GAIN_CMAP](np.where(gap >= 0, 0.85, 0.15))
    bottom.bar(x, gap, width=0.6, color=colors)
    bottom.axhline(0, color="black", linewidth=0.8)
    bottom.set_ylabel(f"{analysis.ngram} − {analysis.neural}\n(bpc; > 0: neural better)")
    share = 100 * df["chars"] / df["chars"].sum()
    labels = ["␣" if g == " " else g for g in df["group"]]
    bottom.set_xticks(x, [f"{g}\n{s:.0f}%" for g, s in zip(labels, share)], fontsize=8)
    bottom.set_xlabel(xlabel)
    for ax in (top, bottom):
        ax.grid(axis="y", alpha=0.3)
    return fig
