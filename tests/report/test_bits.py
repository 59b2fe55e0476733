"""Where the bits go: aggregation on hand-made text with known bits, the top gains, passages, and the HTML page."""
from __future__ import annotations

import html
import math
import re

import numpy as np
import pytest

import charlm.report.compare.bits
from charlm.report.colors import bits_colors
from charlm.report.compare.bits import (MAX_POSITION, analyse, bits_per_char, by_character, by_word_position,
                                        passage_span, word_gains, word_positions)
from charlm.report.render.html import passage_html, skipped_html


def nats(bits: list[float]) -> np.ndarray:
    """The (N-1,) float32 nll, as data/scores holds it, of characters 1..N-1 costing `bits`."""
    return (np.array(bits) * math.log(2)).astype(np.float32)


#          a    b    ␣    c    d    e    ␣    f
TEXT = "ab cde f"
NEURAL = [2.0, 0.5, 4.0, 1.0, 1.0, 0.25, 3.0]    # bits of characters 1..7 (the first is never scored)
NGRAM = [2.0] * 7


def test_word_positions_count_characters_since_the_last_space():
    assert word_positions(TEXT).tolist() == [1, 2, 0, 1, 2, 3, 0, 1]
    assert word_positions("  x").tolist() == [0, 0, 1]


def test_bits_per_char_lines_the_nll_up_with_the_text():
    bits = bits_per_char(nats(NEURAL))
    assert np.isnan(bits[0]) and bits[1:] == pytest.approx(NEURAL)


def test_bpc_by_word_position_averages_exactly_the_characters_at_each_position():
    df = by_word_position(TEXT, bits_per_char(nats(NEURAL)), bits_per_char(nats(NGRAM))).set_index("group")
    assert list(df.index) == ["space", "1", "2", "3"]
    assert df.loc["1", "neural"] == pytest.approx((4.0 + 3.0) / 2)   # c and f; the unscored a is left out
    assert df.loc["2", "neural"] == pytest.approx((2.0 + 1.0) / 2)   # b and d
    assert df.loc["3", "neural"] == pytest.approx(1.0)
    assert df.loc["space", "neural"] == pytest.approx((0.5 + 0.25) / 2)
    assert df["chars"].tolist() == [2, 2, 2, 1] and df["ngram"].tolist() == pytest.approx([2.0] * 4)


def test_long_words_share_the_last_position_group():
    text = "x " + "a" * (MAX_POSITION + 3)
    bits = bits_per_char(nats(list(range(len(text) - 1))))
    df = by_word_position(text, bits, bits).set_index("group")
    assert df.index[-1] == f"{MAX_POSITION}+" and df.loc[f"{MAX_POSITION}+", "chars"] == 4


def test_bpc_by_character_groups_by_the_character_predicted():
    df = by_character(TEXT, bits_per_char(nats(NEURAL)), bits_per_char(nats(NGRAM))).set_index("group")
    assert list(df.index) == [" ", "b", "c", "d", "e", "f"]   # "a" is only the unscored first character
    assert df.loc[" ", "neural"] == pytest.approx(0.375) and df.loc["c", "neural"] == pytest.approx(4.0)


def test_word_gains_rank_distinct_words_by_bits_saved_at_their_best_occurrence():
    text = "x the cat the dog"
    #            t  h  e  ␣  c  a  t  ␣  t  h  e  ␣  d  o  g
    ngram = [1] + [3, 3, 3, 1, 4, 4, 4, 1, 3, 3, 3, 1, 2, 2, 2]
    neural = [1] + [3, 2, 3, 1, 2, 2, 1, 1, 1, 2, 2, 1, 2, 2, 3]
    books = [0, text.index("dog")]
    df = word_gains(text, bits_per_char(nats(neural)), bits_per_char(nats(ngram)), books, ["One", "Two"], k=3)
    assert df["word"].tolist() == ["cat", "the", "dog"]
    assert df["gain"].tolist() == pytest.approx([7.0, 4.0, -1.0])   # "the" at its second occurrence (4 > 1)
    assert df["neural"].tolist() == pytest.approx([5.0, 5.0, 7.0])
    assert df["ngram"].tolist() == pytest.approx([12.0, 9.0, 6.0])
    assert df["count"].tolist() == [1, 2, 1]
    assert df["book"].tolist() == ["One", "One", "Two"]
    assert df["before"].tolist() == ["x the", "x the cat", "x the cat the"]


def test_the_first_word_is_never_a_gain_because_its_first_character_has_no_bits():
    neural, ngram = bits_per_char(nats([0.0] * 6)), bits_per_char(nats([9.0] * 6))
    assert "big" not in word_gains("big ox", neural, ngram, [0], ["One"])["word"].tolist()


def test_passage_starts_and_ends_at_word_boundaries_in_the_middle_of_its_book():
    text = " ".join(f"w{i:03d}" for i in range(200))   # 5 characters a word with its space
    first, last = passage_span(text, 100, 900, length=103)
    assert text[first - 1] == " " and text[last] == " " and last - first <= 103
    assert abs((first + last) / 2 - 500) < 10
    assert passage_span("short text", 0, 10, length=400) == (0, 10)


@pytest.fixture(scope="module")
def analysis():
    rng = np.random.default_rng(0)
    text = " ".join(rng.choice(["the", "whale", "said", "ahab", "<b>&"], size=400))
    books = [("Book <one>", 0, 1000), ("Two", 1001, len(text))]
    n = len(text) - 1
    return analyse(text, "lstm", rng.gamma(2, 1, n).astype(np.float32), "kn5", rng.gamma(2, 1, n).astype(np.float32),
                   books, "neural", 28)


def test_analysis_shows_a_passage_of_the_first_and_the_middle_book(analysis):
    assert [p.book for p in analysis.passages] == ["Book <one>", "Two"]
    for p in analysis.passages:
        assert 300 < len(p.text) <= 400 and len(p.neural) == len(p.ngram) == len(p.text)
    assert 0 < analysis.neural_better < 1 and analysis.max_bits == pytest.approx(math.log2(28))


SPAN = re.compile(r'<span style="background:(#[0-9a-f]{6});border-color:#[0-9a-f]{6}[^"]*" title="([^"]*)">([^<]*)</span>')


@pytest.fixture(scope="module")
def scored_text():
    """(text, neural nll, ngram nll, books): the first book so short that its passage starts at the unscored
    character 0, the second long enough to be cut from its middle."""
    rng = np.random.default_rng(1)
    text = " ".join(rng.choice(["the", "whale", "said", "ahab", "queequeg"], size=300))
    books = [("One", 0, 150), ("Two", 151, len(text))]
    n = len(text) - 1
    return text, rng.gamma(2, 1, n).astype(np.float32), rng.gamma(2, 1, n).astype(np.float32), books


def passage_misreadings(text, neural_nll, ngram_nll, books) -> tuple[list[str], int]:
    """([`<offset> <char>` for each passage character whose bits, in its Passage or on the page (tooltip and
    background), are not its own nll in bits], characters shown). Character i of the test text costs nll[i - 1];
    character 0 costs nothing (it is never scored)."""
    analysis = analyse(text, "lstm", neural_nll, "kn5", ngram_nll, books, "neural", 28)
    shown = SPAN.findall(passage_html(analysis))   # (background, tooltip, character), in page order
    wrong, k = [], 0
    for p in analysis.passages:
        for i in range(p.start, p.start + len(p.text)):
            want = [float(nll[i - 1]) / math.log(2) if i else math.nan for nll in (neural_nll, ngram_nll)]
            got = [p.neural[i - p.start], p.ngram[i - p.start]]
            tooltip = f"lstm {want[0]:.2f} bits, kn5 {want[1]:.2f} bits" if i else "not scored"
            rgb = bits_colors(np.array([want[0]]), analysis.max_bits)[0, :3]   # shaded by the neural model's bits
            background = "#" + "".join(f"{int(round(255 * c)):02x}" for c in rgb)
            if (p.text[i - p.start] != text[i] or not np.allclose(got, want, rtol=1e-12, atol=0, equal_nan=True)
                    or shown[k] != (background, html.escape(tooltip), text[i])):
                wrong.append(f"{i} {text[i]!r}")
            k += 1
    assert k == len(shown)
    return wrong, k


def test_each_passage_character_shows_its_own_bits(scored_text):
    wrong, shown = passage_misreadings(*scored_text)
    assert wrong == [] and shown > 300
    text, _, _, books = scored_text
    assert passage_span(text, books[0][1], books[0][2])[0] == 0   # the unscored character 0 is among them


OFF_BY_ONE = {
    "the next character's": lambda nll: np.append(np.asarray(nll, dtype=np.float64) / math.log(2), np.nan),
    "the previous character's": lambda nll: np.concatenate([[np.nan, np.nan], np.asarray(nll[:-1], np.float64)
                                                            / math.log(2)]),
}


@pytest.mark.parametrize("shift", OFF_BY_ONE)
def test_the_check_catches_bits_off_by_one(scored_text, shift, monkeypatch):
    # The nll lined up one character off the text: every scored character shown must be found wrong (the first
    # book's unscored character 0 may look right: the shift to the previous character leaves it NaN too).
    monkeypatch.setattr(charlm.report.compare.bits, "bits_per_char", OFF_BY_ONE[shift])
    wrong, shown = passage_misreadings(*scored_text)
    assert len(wrong) >= shown - 1


def test_html_page_is_self_contained(analysis):
    for page in (passage_html(analysis), skipped_html("Skipped: `vocab.token` is `word`.")):
        lowered = page.lower()
        for banned in ("http://", "https://", "src=", "<script", "url(", "@import"):
            assert banned not in lowered, banned
        assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")


def test_html_page_escapes_the_text_and_shows_every_character(analysis):
    page = passage_html(analysis)
    assert "<b>" not in page and "Book &lt;one&gt;" in page
    shown = re.findall(r'<span style="background:#[0-9a-f]{6};border-color:#[0-9a-f]{6}[^"]*" title="[^"]*">'
                       r"([^<]*)</span>", page)
    assert [html.unescape(s) for s in shown] == list("".join(p.text for p in analysis.passages))
    assert passage_html(analysis) == page   # nothing varies between calls
