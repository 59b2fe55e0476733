"""Decoding, Gutenberg boilerplate stripping and cleaning: every marker variant, the glued-lines fix, accent folding."""
from __future__ import annotations

import random
import re
import unicodedata

import pytest

from charlm.data.clean import clean, decode_book, strip_gutenberg
from charlm.errors import CharlmError

AZ = "abcdefghijklmnopqrstuvwxyz"
BODY = "Chapter I\nIt was a dark night.\n"


# ------------------------------------------------------------------------------------ decode_book
def test_decode_book_strips_a_bom_and_keeps_the_text():
    assert decode_book("\ufeffcafé".encode("utf-8"), "book 1") == "café"


@pytest.mark.parametrize("data, message", [
    (b"", "book 1: file is empty (0 bytes)"),
    (b"PNG\x00\x01\x02", "book 1: looks like a binary file"),
    ("caf\u00e9".encode("latin-1"), "book 1: not valid UTF-8 (byte 0xe9 at offset 3)"),
])
def test_decode_book_rejects_unusable_bytes_with_one_line(data, message):
    with pytest.raises(CharlmError) as err:
        decode_book(data, "book 1")
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


# -------------------------------------------------------------------------------- strip_gutenberg
def wrap(start: str, end: str, body: str = BODY) -> str:
    return f"The Project Gutenberg eBook of X\nLicence header.\n{start}\n{body}{end}\nLicence footer.\n"


@pytest.mark.parametrize("start, end", [
    ("*** START OF THE PROJECT GUTENBERG EBOOK ALICE ***", "*** END OF THE PROJECT GUTENBERG EBOOK ALICE ***"),
    ("*** START OF THIS PROJECT GUTENBERG EBOOK ALICE ***", "*** END OF THIS PROJECT GUTENBERG EBOOK ALICE ***"),
    ("***START OF THE PROJECT GUTENBERG EBOOK ALICE***", "***END OF THE PROJECT GUTENBERG EBOOK ALICE***"),
    ("*** Start of the Project Gutenberg eBook 74 ***", "*** End of the Project Gutenberg eBook 74 ***"),
], ids=["modern", "older-THIS", "no-spaces", "mixed-case"])
def test_strip_gutenberg_keeps_only_the_body(start, end):
    assert strip_gutenberg(wrap(start, end)) == BODY


def test_strip_gutenberg_handles_a_bom_and_crlf():
    text = "\ufeff" + wrap("*** START OF THE PROJECT GUTENBERG EBOOK X ***",
                           "*** END OF THE PROJECT GUTENBERG EBOOK X ***").replace("\n", "\r\n")
    assert strip_gutenberg(text) == BODY


def test_strip_gutenberg_keeps_a_file_without_markers_whole():
    text = "No markers here.\n*****\nStill the book.\n"
    assert strip_gutenberg(text) == text
    assert strip_gutenberg(text.replace("\n", "\r\n")) == text


def test_strip_gutenberg_with_only_one_marker():
    assert strip_gutenberg(f"header\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\n{BODY}") == BODY
    assert strip_gutenberg(f"{BODY}*** END OF THE PROJECT GUTENBERG EBOOK X ***\nfooter\n") == BODY


def test_strip_gutenberg_drops_the_older_end_of_line_before_the_end_marker():
    text = wrap("*** START OF THIS PROJECT GUTENBERG EBOOK X ***", "*** END OF THIS PROJECT GUTENBERG EBOOK X ***",
                BODY + "\n\nEnd of the Project Gutenberg EBook of X, by Y\n\n")
    assert strip_gutenberg(text) == BODY + "\n\n"


def test_strip_gutenberg_oldest_small_print_header_and_etext_trailer():
    text = ("Licence.\n*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n" + BODY
            + "End of the Project Gutenberg Etext of X\n")
    assert strip_gutenberg(text) == BODY


def test_strip_gutenberg_wrapped_title_and_mid_line_mentions():
    text = ("header\n*** START OF THE PROJECT GUTENBERG EBOOK A VERY\nLONG TITLE ***\n"
            "He wrote: *** END OF THE PROJECT GUTENBERG EBOOK, mid-line, is not a marker.\n"
            "*** END OF THE PROJECT GUTENBERG EBOOK A VERY LONG TITLE ***\n")
    assert strip_gutenberg(text) == ("He wrote: *** END OF THE PROJECT GUTENBERG EBOOK, mid-line, "
                                     "is not a marker.\n")


# ------------------------------------------------------------------------------------------ clean
def test_clean_follows_the_notebook_rule_on_one_line():
    line = "It was the best of times, it was the WORST of times; 1859!"
    notebook = re.sub("[^A-Za-z]", " ", line).strip().lower()
    assert clean(line, AZ) == " ".join(notebook.split())


def test_clean_joins_lines_with_one_space_never_glued():
    # The notebook stripped each line and concatenated them: "bank" + "and" -> "bankand".
    assert clean("sitting by the bank\nand of having\r\n\n  nothing to do\n", AZ) == \
        "sitting by the bank and of having nothing to do"


def test_clean_collapses_runs_and_trims_the_ends():
    assert clean("  --Hello,   world!--  \t", AZ) == "hello world"
    assert clean("", AZ) == ""
    assert clean("1234 !?; \n", AZ) == ""


@pytest.mark.parametrize("text, folded", [
    ("Café naïve ÉLAN", "cafe naive elan"),
    ("cafe\u0301 \u0301alone", "cafe alone"),      # decomposed accents and a lone combining mark
    ("ﬁne ﬂag", "fine flag"),                     # ligatures expand to two letters
    ("Cæsar’s manœuvre, Straße, Ørsted, Łódź", "caesar s manoeuvre strasse orsted lodz"),
    ("“Quoth” — the raven… ½", "quoth the raven"),
    ("emoji 🐳 whale", "emoji whale"),             # astral characters take the UTF-32 path
])
def test_clean_folds_accents_by_default(text, folded):
    assert clean(text, AZ) == folded


def test_clean_without_folding_drops_accented_letters():
    assert clean("Café naïve", AZ, fold_accents=False) == "caf na ve"


def test_clean_never_folds_letters_that_are_in_the_alphabet():
    assert clean("Café à la CRÈME", AZ + "éèà") == "café à la crème"


def test_clean_without_lowercase_keeps_capitals_the_alphabet_allows():
    upper = AZ + AZ.upper()
    assert clean("Hello World", upper, lowercase=False) == "Hello World"
    assert clean("Hello World", AZ, lowercase=False) == "ello orld"


def test_clean_with_a_wide_alphabet():
    greek = "αβγδεζηθικλμνξοπρστυφχψω"
    assert clean("Ἀλφα, ΒΗΤΑ! abc", greek) == "αλφα βητα"


POOL = list("abcXYZ  \n\r\t.,;'-\"!?0123456789") + ["é", "Ü", "ç", "\u0301", "“", "”", "—", "ﬁ", "中", "🐳", "ﬃ"]


def reference_clean(text: str) -> str:
    """An independent whole-text version of the default rule: NFKD, drop marks, lowercase, regex."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    unmarked = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return re.sub("[^a-z]+", " ", unmarked).strip()


@pytest.mark.parametrize("seed", range(20))
def test_clean_matches_a_whole_text_reference_on_random_strings(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice(POOL) for _ in range(rng.randint(0, 400)))
    assert clean(text, AZ) == reference_clean(text)


@pytest.mark.parametrize("seed", range(10))
def test_cleaning_in_pieces_gives_the_same_text(seed, monkeypatch):
    rng = random.Random(seed)
    text = "".join(rng.choice(POOL) for _ in range(600))
    whole = clean(text, AZ)
    monkeypatch.setattr("charlm.data.clean.PIECE", rng.randint(1, 40))  # many cuts, some inside runs
    assert clean(text, AZ) == whole
