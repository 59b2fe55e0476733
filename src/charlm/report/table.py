"""Rank the models by test bpc, mark differences inside the confidence interval, and format the table."""
from __future__ import annotations

import numpy as np
import pandas as pd

from charlm.report.collect import ModelResult


def ranking(results: list[ModelResult]) -> pd.DataFrame:
    """One row per model, best (lowest) forward test bpc first, with rank and the gap to the next better model.

    `significant` is False when the gap is inside the 95% intervals: either model's point estimate lies in
    the other's interval. That is the conservative reading; every model is scored on the same text and
    resampled with the same blocks, so the models' errors are correlated and a paired test would be sharper.
    """
    df = pd.DataFrame([{
        "model": r.name, "kind": r.kind, "type": r.description, "test_bpc": r.eval["test.bpc"],
        "ci_low": r.eval["test.bpc_ci_low"], "ci_high": r.eval["test.bpc_ci_high"], "val_bpc": r.eval["val.bpc"],
        "test_ppl": r.eval["test.ppl"], "num_parameters": int(r.eval["num_parameters"]), "train_time_s": r.train_time_s,
        "tokens_per_s": r.tokens_per_s} for r in results])
    df = df.sort_values(["test_bpc", "model"], kind="stable").reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    better = df.shift(1)
    df["gap"] = df["test_bpc"] - better["test_bpc"]
    overlap = (df["test_bpc"] <= better["ci_high"]) | (better["test_bpc"] >= df["ci_low"])
    df["significant"] = pd.Series(~overlap, dtype="boolean").mask(df["rank"] == 1)
    return df


def summary(df: pd.DataFrame) -> dict:
    """metrics/summary.json: per-model rank and headline numbers, and the best of each kind."""
    models = {row.model: {"rank": int(row.rank), "test.bpc": row.test_bpc, "test.bpc_ci_low": row.ci_low,
                          "test.bpc_ci_high": row.ci_high, "val.bpc": row.val_bpc, "test.ppl": row.test_ppl,
                          "num_parameters": int(row.num_parameters), "train_time_s": round(row.train_time_s, 3),
                          "tokens_per_s": round(row.tokens_per_s)}
              for row in df.itertuples()}
    best = {f"{kind.replace('-', '')}.test.bpc": float(group["test_bpc"].min()) for kind, group in df.groupby("kind")}
    return {"models": models, "best": best}


def display_table(df: pd.DataFrame) -> pd.DataFrame:
    """The ranking as strings, with the report's column headers."""
    def gap(row) -> str:
        if row["rank"] == 1:
            return "best"
        return f"+{row['gap']:.4f}" + ("" if row["significant"] else " (n.s.)")
    return pd.DataFrame({
        "rank": df["rank"].astype(str),
        "model": "`" + df["model"] + "`",
        "type": df["type"],
        "test bpc [95% CI]": [f"**{b:.4f}** [{lo:.4f}, {hi:.4f}]"
                              for b, lo, hi in zip(df.test_bpc, df.ci_low, df.ci_high)],
        "vs. next better": df.apply(gap, axis=1),
        "val bpc": df["val_bpc"].map("{:.4f}".format),
        "test perplexity": df["test_ppl"].map("{:.3f}".format),
        "parameters¹": df["num_parameters"].map("{:,}".format),
        "training time": df["train_time_s"].map(format_seconds),
        "tokens/s²": df["tokens_per_s"].map(lambda v: f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.1f}k"),
    })


def format_seconds(seconds: float) -> str:
    """'5 ms', '4.2 s', '42 s', '3.5 min' or '1.2 h'."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table of a DataFrame of strings; columns of numbers are right-aligned."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|")
    align = ["---:" if df[c].str.match(r"^[\d.,+\-]").all() else "---" for c in df.columns]
    lines = ["| " + " | ".join(map(cell, df.columns)) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)
