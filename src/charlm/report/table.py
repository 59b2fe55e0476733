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
        "test_ppl": r.eval["test.ppl"], "num_parameters": int(r.eval["num_parameters"]),
        "train_tokens": r.train_tokens, "epochs": r.epochs, "train_flops": r.train_flops} for r in results])
    df = df.sort_values(["test_bpc", "model"], kind="stable").reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    better = df.shift(1)
    df["gap"] = df["test_bpc"] - better["test_bpc"]
    overlap = (df["test_bpc"] <= better["ci_high"]) | (better["test_bpc"] >= df["ci_low"])
    df["significant"] = pd.Series(~overlap, dtype="boolean").mask(df["rank"] == 1)
    return df


def summary(df: pd.DataFrame) -> dict:
    """metrics/summary.json: per-model rank and headline numbers, and the best of each kind.

    Keys as in the eval and train metrics (docs/metrics.md). A DVC output, so no timings: the run's wall
    time and speed are in metrics/runtime/ (not tracked).
    """
    models = {}
    for row in df.itertuples():
        models[row.model] = {"rank": int(row.rank), "test.bpc": row.test_bpc, "test.bpc_ci_low": row.ci_low,
                             "test.bpc_ci_high": row.ci_high, "val.bpc": row.val_bpc, "test.ppl": row.test_ppl,
                             "num_parameters": int(row.num_parameters), "train.tokens": int(row.train_tokens)}
        if row.kind == "neural":
            models[row.model]["train.flops"] = int(row.train_flops)
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
        "training tokens²": df["train_tokens"].map(format_count),
        "epochs": df["epochs"].map("{:.2f}".format),
    })


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
