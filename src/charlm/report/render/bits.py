"""The report's "Where the bits go" section: findings, charts, passages and the largest gains, in markdown."""
from __future__ import annotations

import re

import pandas as pd

from charlm.report.colors import legend_text
from charlm.report.compare.bits import PASSAGE_CHARS, BitsAnalysis
from charlm.report.render.cells import markdown_table


def where_the_bits_go(bits: BitsAnalysis | str, links: dict[str, str]) -> str:
    """The section, or the one-line reason it is skipped; `links` as render_report's."""
    heading = "## Where the bits go"
    if isinstance(bits, str):
        return f"{heading}\n\n{bits}"
    neural, ngram = f"`{bits.neural}`", f"`{bits.ngram}`"
    background, band = legend_text(bits)
    return "\n".join([
        heading, "",
        f"Which characters does the best neural model ({neural}) predict better than the best n-gram ({ngram})? "
        "Both are chosen on validation bpc and compared character by character on the test split, from the "
        "per-character nll the evaluate stages keep in `data/scores/`.", "",
        _bits_findings(bits), "",
        f"![bpc_by_word_position.png]({links['bpc_by_word_position.png']})", "",
        "*Test bpc by position in the word: 1 is the first character after a space, and ‘space’ is the "
        "prediction that a word ends. Under each group: its share of the test characters.*", "",
        f"![bpc_by_character.png]({links['bpc_by_character.png']})", "",
        "*Test bpc by the character predicted, with its share of the test characters.*", "",
        f"![bits_passage.png]({links['bits_passage.png']})", "",
        f"*About {PASSAGE_CHARS} characters from the middle of the test part of the first and of the middle "
        f"book (a fixed choice, not picked for the result). {background} {band} The same passages, with each "
        f"character's bits on hover: [{links['page'].rsplit('/', 1)[-1]}]({links['page']}).*", "",
        "### The largest gains", "",
        f"The ten test words on which {neural} saves the most bits over {ngram}: the bits of the word's "
        "characters (not the space after it), each word at its best occurrence.", "",
        markdown_table(_gains_table(bits))])


def _bits_findings(bits: BitsAnalysis) -> str:
    """Two sentences read off the numbers: where the neural model's advantage is largest and smallest."""
    neural, ngram = f"`{bits.neural}`", f"`{bits.ngram}`"
    by_position = bits.by_position.assign(gap=bits.by_position["ngram"] - bits.by_position["neural"])
    common = bits.by_character[bits.by_character["chars"] >= 0.01 * bits.by_character["chars"].sum()]
    by_character = common.assign(gap=common["ngram"] - common["neural"])
    most, least = by_position.loc[by_position["gap"].idxmax()], by_position.loc[by_position["gap"].idxmin()]
    best, worst = by_character.loc[by_character["gap"].idxmax()], by_character.loc[by_character["gap"].idxmin()]

    def gap(row) -> str:
        return f"{row.neural:.2f} bpc against {row.ngram:.2f}, {row.gap:+.2f}"
    return (f"{neural} spends fewer bits than {ngram} on {100 * bits.neural_better:.1f}% of the test characters. "
            f"Its advantage ({ngram} bpc − {neural} bpc; negative: it is worse) is largest at "
            f"{_position_words(most.group)} ({gap(most)}) and smallest at {_position_words(least.group)} "
            f"({gap(least)}); among the characters that make up at least 1% of the text, it is largest on "
            f"{_char_words(best.group)} ({gap(best)}) and smallest on {_char_words(worst.group)} ({gap(worst)}).")


def _position_words(label: str) -> str:
    if label == "space":
        return "the end of a word (the space)"
    n = int(label.rstrip("+"))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"the {n}{suffix} character of a word" + (" and later" if label.endswith("+") else "")


def _char_words(char: str) -> str:
    return "the space" if char == " " else f"`{char}`"


def _gains_table(bits: BitsAnalysis) -> pd.DataFrame:
    g = bits.gains
    return pd.DataFrame({
        "word": [f"**{_escape(w)}**" for w in g["word"]],
        "after": [f"…{_escape(b)}" if b else "(the start)" for b in g["before"]],
        "book": [f"*{_escape(b)}*" for b in g["book"]],
        "times in test": g["count"].astype(str),
        f"`{bits.neural}` bits": [f"{v:.2f}" for v in g["neural"]],
        f"`{bits.ngram}` bits": [f"{v:.2f}" for v in g["ngram"]],
        "gain (bits)": [f"{v:.2f}" for v in g["gain"]]})


def _escape(text: str) -> str:
    """Text shown as itself in markdown: the alphabet is a param, so it may hold markdown's punctuation."""
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", text)   # markdown_table escapes |
