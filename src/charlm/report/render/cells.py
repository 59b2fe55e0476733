"""What every markdown section shares: the table itself, its score and gap cells, entry names, number formats,
and the notes several sections repeat."""
from __future__ import annotations

import pandas as pd

from charlm.evaluate.paired import PairedDiff

NO_CI = "A compressor gives one total size for the whole split, not a cost per character, so there is nothing to " \
        "resample: zpaq has no 95% interval, and no paired test by character against it. With `zpaq.per_book` it " \
        "also gives each test book's cost, and a gap to it is then a paired bootstrap over the books (*over books*; " \
        "with ten books, a coarse test)."

PAIRED = ("the gap's 95% interval is a paired block bootstrap of the two entries' per-character differences "
          "on the same test text (the same blocks resampled for both); **(n.s.)** marks an interval that "
          "contains 0, so that ordering is not established by this test set")


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table of a DataFrame of strings; columns of numbers are right-aligned."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|")
    align = ["---:" if df[c].str.match(r"^[\d.,+\-]").all() else "---" for c in df.columns]
    lines = ["| " + " | ".join(map(cell, df.columns)) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def entry_name(entry) -> str:
    """'`lstm`', '`champion` (dynamic)', 'zpaq': an entry (a row of entry_table) as the report names it."""
    if entry.kind == "compressor":
        return "zpaq"
    return f"`{entry.model}`" + (" (dynamic)" if entry.kind == "dynamic" else "")


def score(test_bpc: float, ci_low: float, ci_high: float) -> str:
    """'**1.6993** [1.6771, 1.7249]', or '**1.6660** (no CI⁴)' for an entry with no interval (a compressor)."""
    if pd.isna(ci_low):
        return f"**{test_bpc:.4f}** (no CI⁴)"
    return f"**{test_bpc:.4f}** [{ci_low:.4f}, {ci_high:.4f}]"


def score_of(metrics: dict, prefix: str = "") -> str:
    """score() of an eval metrics file's `<prefix>test.bpc` and its interval."""
    return score(*(metrics[f"{prefix}test.{key}"] for key in ("bpc", "bpc_ci_low", "bpc_ci_high")))


def gap_cell(diff: PairedDiff | None, gap: float, by_books: bool = False) -> str:
    """'+0.0669 [+0.0602, +0.0741]', '+0.0109 [−0.0010, +0.0230] (n.s.)', '… over books⁴' (against zpaq), or
    '+0.0160 (no paired test⁴)'."""
    if diff is None:
        return f"{gap:+.4f} (no paired test⁴)"
    cell = f"{diff.diff:+.4f} [{diff.low:+.4f}, {diff.high:+.4f}]" + (" over books⁴" if by_books else "")
    return cell if diff.significant else f"{cell} (n.s.)"


def format_count(n: float) -> str:
    """'950', '6.0k', '20.0M', '1.2G': token counts short enough for a table cell."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.1f}{suffix}"
    return f"{n:.0f}"


def format_flops(flops: float) -> str:
    """'4.1e13' (one decimal, no '+'): compute estimates are only good to a digit or two."""
    mantissa, exponent = f"{flops:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"
