"""reports/bits_passage.html, the coloured passages (colors.py), and the page `charlm score --html` writes:
pages with inline CSS only, no script, no external URL, no image, so they open anywhere, offline, as they are."""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

from charlm.report.colors import GAIN_LIMIT, bits_colors, dark, gain_colors, legend_text

if TYPE_CHECKING:   # text_html (`charlm score --html`) needs none of the report's comparisons
    from charlm.report.compare.bits import BitsAnalysis, Passage


def passage_page(bits: BitsAnalysis | str) -> str:
    """reports/bits_passage.html: the coloured passages, or the reason where the bits go is skipped."""
    return skipped_html(bits) if isinstance(bits, str) else passage_html(bits)


def passage_html(analysis: BitsAnalysis) -> str:
    """The whole page: each passage as coloured characters, with each model's bits in its tooltip."""
    background, band = legend_text(analysis)
    steps = np.append(np.arange(0, analysis.max_bits), analysis.max_bits)   # whole bits, then the top
    bits_labels = [f"{s:g}" for s in steps[:-1]] + [f"≥ {steps[-1]:.2f}"]
    gains = np.linspace(-GAIN_LIMIT, GAIN_LIMIT, 7)
    gain_labels = [f"≤ {gains[0]:g}"] + [f"{g:+g}" if g else "0" for g in gains[1:-1]] + [f"≥ +{gains[-1]:g}"]
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             "<title>Where the bits go</title>", f"<style>\n{STYLE}\n</style>", "</head>", "<body>",
             "<h1>Where the bits go</h1>",
             f"<p>Test text scored by <code>{html.escape(analysis.neural)}</code> (the best neural model) and "
             f"<code>{html.escape(analysis.ngram)}</code> (the best n-gram), both chosen on validation bpc. "
             "Hover over a character for its bits under each model.</p>",
             f"<p>{_code(background)}</p>",
             '<p class="scale">' + _scale(bits_colors(steps, analysis.max_bits), bits_labels) + " bits</p>",
             f"<p>{_code(band)}</p>",
             '<p class="scale">' + _scale(gain_colors(np.zeros(7), gains), gain_labels) + " bits</p>"]
    for p in analysis.passages:
        parts += [f"<h2>{html.escape(p.book)}</h2>",
                  f"<p>Characters {p.start:,}–{p.start + len(p.text):,} of the test text (the middle of this "
                  "book's test part).</p>",
                  f'<p class="passage">{_char_spans(p, analysis)}</p>']
    return "\n".join(parts + ["</body>", "</html>"]) + "\n"


def text_html(text: str, bits: np.ndarray, model: str, bpc: float, max_bits: float, source: str) -> str:
    """The page `charlm score --html` writes: any text shaded by one model's bits per character, as the
    report's passages are (same colours, scale and tooltips), without the second model's band."""
    steps = np.append(np.arange(0, max_bits), max_bits)
    labels = [f"{s:g}" for s in steps[:-1]] + [f"≥ {steps[-1]:.2f}"]
    colors = bits_colors(bits, max_bits)
    spans = "".join(
        f'<span style="background:{_hex(bg)}{";color:#fff" if white else ""}" '
        f'title="{"not scored" if not np.isfinite(b) else f"{b:.2f} bits"}">{html.escape(ch)}</span>'
        for ch, b, bg, white in zip(text, bits, colors, dark(colors)))
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             "<title>Where the bits go</title>", f"<style>\n{STYLE}\n{PLAIN}\n</style>", "</head>",
             "<body>", "<h1>Where the bits go</h1>",
             f"<p>{html.escape(source)}, cleaned, scored by <code>{html.escape(model)}</code>: "
             f"{bpc:.4f} bits per character. Hover over a character for "
             "its bits.</p>",
             f"<p>Background: bits <code>{html.escape(model)}</code> paid for the character, from 0 (pale) to "
             f"log2(vocabulary) = {max_bits:.2f} bits or more (dark red: worse than a uniform guess); grey: not "
             "scored.</p>",
             '<p class="scale">' + _scale(bits_colors(steps, max_bits), labels) + " bits</p>",
             f'<p class="passage plain">{spans}</p>', "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def skipped_html(reason: str) -> str:
    """The page when the section is skipped: the same one-line reason as the report."""
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', '<head><meta charset="utf-8">',
                      "<title>Where the bits go</title></head>", "<body>", "<h1>Where the bits go</h1>",
                      f"<p>{_code(reason)}</p>", "</body>", "</html>"]) + "\n"


def _code(text: str) -> str:
    """Escape `text` for HTML, turning markdown `code` spans into <code>."""
    pieces = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def _hex(rgba) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in rgba[:3]))


def _char_spans(passage: Passage, analysis: BitsAnalysis) -> str:
    backgrounds = bits_colors(getattr(passage, analysis.shade), analysis.max_bits)
    bands = gain_colors(passage.neural, passage.ngram)
    spans = []
    for ch, a, b, bg, band, white in zip(passage.text, passage.neural, passage.ngram, backgrounds, bands,
                                         dark(backgrounds)):
        title = "not scored" if not np.isfinite(a) else \
            f"{analysis.neural} {a:.2f} bits, {analysis.ngram} {b:.2f} bits"
        color = ";color:#fff" if white else ""
        spans.append(f'<span style="background:{_hex(bg)};border-color:{_hex(band)}{color}" '
                     f'title="{html.escape(title)}">{html.escape(ch)}</span>')
    return "".join(spans)


def _scale(colors: np.ndarray, labels: list[str]) -> str:
    return "".join(f'<span style="background:{_hex(c)}{";color:#fff" if white else ""}">{html.escape(t)}</span>'
                   for c, t, white in zip(colors, labels, dark(colors)))


STYLE = """body { font-family: sans-serif; max-width: 62em; margin: 2em auto; padding: 0 1em; color: #222; }
.passage { font-family: monospace; font-size: 17px; line-height: 2.3; white-space: pre-wrap; }
.passage span { border-bottom: 6px solid; padding: 2px 0; }
.scale span { display: inline-block; min-width: 3.2em; text-align: center; font-size: 13px; padding: 2px 0; }"""
PLAIN = ".passage.plain span { border-bottom: none; }   /* one model: no band under the characters */"
