"""metrics/summary.json: each static model's and each entry's rank and scores, the best of each kind, and the
spread of each compare.models entry over its seeds."""
from __future__ import annotations

import pandas as pd

from charlm.report.compare.seeds import SeedStats


def summary(static: pd.DataFrame, entries: pd.DataFrame, seeds: list[SeedStats]) -> dict:
    """metrics/summary.json: `models` (each static model's rank among the ranked static models and headline
    numbers), `entries` (every entry's kind, rank in the report's Best entries and score), `best`, and
    `compare` (each compare.models entry's test bpc over its seeds: mean, sd, min, max, seeds).

    Keys as in the eval and train metrics (docs/metrics.md). A DVC output, so no timings: the run's wall
    time and speed are in metrics/runtime/ (not tracked). An entry that is not ranked has no `rank`.
    """
    models = {}
    for row in static.itertuples():
        models[row.model] = {"test.bpc": row.test_bpc, "test.bpc_ci_low": row.ci_low, "test.bpc_ci_high": row.ci_high,
                             "val.bpc": row.val_bpc, "test.ppl": row.test_ppl, "test.oov_rate": row.oov_rate,
                             "num_parameters": int(row.num_parameters), "train.tokens": int(row.train_tokens),
                             **_rank(row)}
        if row.kind == "neural":
            models[row.model]["train.flops"] = int(row.train_flops)
    listed = {}
    for row in entries.itertuples():
        interval = {} if pd.isna(row.ci_low) else {"test.bpc_ci_low": row.ci_low, "test.bpc_ci_high": row.ci_high}
        listed[row.entry] = {"kind": row.kind, "test.bpc": row.test_bpc, "val.bpc": row.val_bpc,
                             "test.oov_rate": row.oov_rate, **interval, **_rank(row)}
    compare = {s.model: {"test.bpc.mean": round(s.mean, 4), "test.bpc.min": s.low, "test.bpc.max": s.high,
                         "seeds": len(s.seeds), **({} if pd.isna(s.sd) else {"test.bpc.sd": round(s.sd, 4)})}
               for s in seeds}
    return {"models": models, "entries": listed, "best": best_scores(static, entries), "compare": compare}


def _rank(row) -> dict:
    return {} if pd.isna(row.rank) else {"rank": int(row.rank)}


def best_scores(static: pd.DataFrame, entries: pd.DataFrame) -> dict:
    """The lowest ranked test bpc of each kind of static model, of any static model, of any entry (and its
    id), and zpaq's when it was measured; a kind with no ranked row has no key."""
    best = {}
    ranked = static[static["ranked"]]
    for kind, key in (("neural", "neural"), ("n-gram", "ngram")):
        if (ranked["kind"] == kind).any():
            best[f"{key}.test.bpc"] = float(ranked.loc[ranked["kind"] == kind, "test_bpc"].min())
    if len(ranked):
        best["static.test.bpc"] = float(ranked["test_bpc"].min())
    top = entries[entries["ranked"]]
    if len(top):
        best["entry.test.bpc"], best["entry.name"] = float(top["test_bpc"].iloc[0]), str(top["entry"].iloc[0])
    compressor = entries[entries["kind"] == "compressor"]
    if len(compressor):
        best["zpaq.test.bpc"] = float(compressor["test_bpc"].iloc[0])
    return best
