"""Rank models (or any entries) by test bpc, test each gap with the paired bootstrap, format tables."""
from __future__ import annotations

import pandas as pd

from charlm.report.collect import ModelResult
from charlm.report.compare import Comparisons, gap_cell


def ranking(results: list[ModelResult], comparisons: Comparisons) -> pd.DataFrame:
    """One row per model, ranked by forward test bpc (add_ranks), with what the model tables show."""
    df = pd.DataFrame([{
        "model": r.name, "kind": r.kind, "type": r.description, "test_bpc": r.eval["test.bpc"],
        "ci_low": r.eval["test.bpc_ci_low"], "ci_high": r.eval["test.bpc_ci_high"], "val_bpc": r.eval["val.bpc"],
        "oov_rate": r.eval["test.oov_rate"], "test_ppl": r.eval["test.ppl"],
        "num_parameters": int(r.eval["num_parameters"]), "train_tokens": r.train_tokens, "epochs": r.epochs,
        "train_flops": r.train_flops} for r in results])
    return add_ranks(df, "model", comparisons)


def add_ranks(df: pd.DataFrame, name: str, comparisons: Comparisons) -> pd.DataFrame:
    """`df` best (lowest test_bpc) first, with `ranked`, `rank`, the `gap` to the row one better, and `paired`:
    that gap's paired bootstrap (compare.py), None for the first row, unranked rows, and a row without
    per-token scores (a compressor). `name` is the column of entry ids.

    Only rows with oov_rate 0 are ranked: an unknown token costs p(<unk>), not the bits of the characters it
    stands for, so such a row has not paid for every character. They come last, with rank <NA>.
    """
    df = df.assign(ranked=df["oov_rate"] == 0)
    df = df.sort_values(["ranked", "test_bpc", name], ascending=[False, True, True], kind="stable")
    df = df.reset_index(drop=True)
    num_ranked = int(df["ranked"].sum())
    df.insert(0, "rank", pd.array([*range(1, num_ranked + 1), *[pd.NA] * (len(df) - num_ranked)], dtype="Int64"))
    better = df["test_bpc"].shift(1)
    first_or_unranked = (df["rank"] == 1).fillna(True).to_numpy(dtype=bool)
    df["gap"] = (df["test_bpc"] - better).mask(first_or_unranked)
    ids = df[name].tolist()
    df["paired"] = [None if skip else comparisons.paired(ids[i], ids[i - 1]) for i, skip in enumerate(first_or_unranked)]
    df["by_books"] = [not skip and comparisons.by_books(ids[i], ids[i - 1]) for i, skip in enumerate(first_or_unranked)]
    return df


def display_table(df: pd.DataFrame) -> pd.DataFrame:
    """The ranking as strings, with the report's column headers."""
    return pd.DataFrame({
        "rank": df["rank"].astype(str),
        "model": "`" + df["model"] + "`",
        "type": df["type"],
        "test bpc [95% CI]": [score(b, lo, hi) for b, lo, hi in zip(df.test_bpc, df.ci_low, df.ci_high)],
        "vs. next better": df.apply(gap_text, axis=1),
        "val bpc": df["val_bpc"].map("{:.4f}".format),
        "test perplexity": df["test_ppl"].map("{:.3f}".format),
        "parameters¹": df["num_parameters"].map("{:,}".format),
        "training tokens²": df["train_tokens"].map(format_count),
        "epochs": df["epochs"].map("{:.2f}".format),
    })


def score(test_bpc: float, ci_low: float, ci_high: float) -> str:
    """'**1.6993** [1.6771, 1.7249]', or '**1.6660** (no CI⁴)' for an entry with no interval (a compressor)."""
    if pd.isna(ci_low):
        return f"**{test_bpc:.4f}** (no CI⁴)"
    return f"**{test_bpc:.4f}** [{ci_low:.4f}, {ci_high:.4f}]"


def gap_text(row) -> str:
    """'best', or a ranked row's gap to the one above it with its paired interval (add_ranks, gap_cell)."""
    if row["rank"] == 1:
        return "best"
    return gap_cell(row["paired"], row["gap"], row["by_books"])


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


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table of a DataFrame of strings; columns of numbers are right-aligned."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|")
    align = ["---:" if df[c].str.match(r"^[\d.,+\-]").all() else "---" for c in df.columns]
    lines = ["| " + " | ".join(map(cell, df.columns)) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)
