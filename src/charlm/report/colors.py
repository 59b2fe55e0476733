"""The coloured passages' colour scales, shared by the PNG (draw.bits) and the HTML pages (render.html).

    t h e ␣ w h a l e      background: bits under the shading model (pale 0 … dark red ≥ log2 V, a uniform guess)
    ▔ ▔ ▔ ▔ ▔ ▔ ▔ ▔ ▔      band: n-gram bits − neural bits (green: the neural model is better, purple: worse)
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib
import numpy as np

if TYPE_CHECKING:   # `charlm score --html` colours a text with no report behind it
    from charlm.report.compare.bits import BitsAnalysis

BITS_CMAP = "YlOrRd"
GAIN_CMAP = "PRGn"
GAIN_LIMIT = 3.0          # bits either way; a larger gain or loss gets the end colour
UNSCORED = (0.8, 0.8, 0.8, 1.0)


def bits_colors(bits: np.ndarray, max_bits: float) -> np.ndarray:
    """(n, 4) RGBA of each character's bits on 0..max_bits (clipped); grey where unscored."""
    colors = matplotlib.colormaps[BITS_CMAP](np.clip(np.nan_to_num(bits) / max_bits, 0, 1))
    colors[~np.isfinite(bits)] = UNSCORED
    return colors


def gain_colors(neural: np.ndarray, ngram: np.ndarray) -> np.ndarray:
    """(n, 4) RGBA of n-gram bits − neural bits on ±GAIN_LIMIT (clipped): green where the neural model is better."""
    gain = ngram - neural
    colors = matplotlib.colormaps[GAIN_CMAP](np.clip(np.nan_to_num(gain) / GAIN_LIMIT / 2 + 0.5, 0, 1))
    colors[~np.isfinite(gain)] = UNSCORED
    return colors


def dark(colors: np.ndarray) -> np.ndarray:
    """(n,) bool: backgrounds dark enough that their character reads better in white."""
    return colors[:, :3] @ np.array([0.299, 0.587, 0.114]) < 0.5


def shading_name(analysis: BitsAnalysis) -> str:
    """The name of the model whose bits shade the characters."""
    return analysis.neural if analysis.shade == "neural" else analysis.ngram


def legend_text(analysis: BitsAnalysis) -> tuple[str, str]:
    """(what the background shows, what the band shows), in words, for the PNG and the page alike."""
    return (f"Background: bits `{shading_name(analysis)}` paid for the character, from 0 (pale) to "
            f"log2(vocabulary) = {analysis.max_bits:.2f} bits or more (dark red: worse than a uniform guess); "
            "grey: not scored.",
            f"Band under it: `{analysis.ngram}` bits − `{analysis.neural}` bits, green where the neural model "
            f"is better, purple where it is worse (full colour at ±{GAIN_LIMIT:g} bits).")
