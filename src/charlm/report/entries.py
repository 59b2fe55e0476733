"""Every entry the report ranks in one table: the static models, their dynamic-evaluation scores, the
mixtures and the compressor anchor; and metrics/summary.json, built from it.

An entry's id is how params name it: `<model>`, `<model>.dynamic` (as in `mix.<name>.members`), `<mix>`,
`cm` and `zpaq`.
"""
from __future__ import annotations

import re

import pandas as pd

from charlm.report.collect import Anchor, CMResult, MixResult, ModelResult
from charlm.report.compare import Comparisons, SeedStats
from charlm.report.table import add_ranks

# An entry's kind is one of: comparison, champion, dynamic, mixture, context mixer, n-gram, compressor.
ROLE_KINDS = {"compare": "comparison", "champion": "champion"}


def entry_kind(r: ModelResult) -> str:
    """'comparison' or 'champion' (a neural model's role), or 'n-gram'."""
    return ROLE_KINDS[r.role] if r.kind == "neural" else "n-gram"


def pays_every_character(metrics: dict, prefix: str = "") -> bool:
    """Whether the entry is ranked: no test token was <unk>, so its bits cover every character."""
    return metrics[f"{prefix}test.oov_rate"] == 0


def entry_table(results: list[ModelResult], mixes: list[MixResult], cm: CMResult, anchor: Anchor,
                comparisons: Comparisons) -> pd.DataFrame:
    """One row per entry: entry (id), model (the name in params), kind, what, test_bpc, ci_low, ci_high
    (NaN for the compressor), val_bpc, oov_rate, book_bpc ({book id: test bpc}); ranked by add_ranks."""
    rows = []
    for r in results:
        rows.append(_row(r.name, r.name, entry_kind(r), r.description, r.eval))
        if r.dynamic:
            rows.append(_row(f"{r.name}.dynamic", r.name, "dynamic", r.description, r.eval, "dynamic."))
    for mix in mixes:
        rows.append(_row(mix.name, mix.name, "mixture", mix_description(mix), mix.eval))
    members = f" + {len(cm.members)} member{'s' if len(cm.members) != 1 else ''}" if cm.members else ""
    rows.append(_row("cm", "cm", "context mixer", f"own context models{members}", cm.eval))
    if anchor.metrics is not None:
        a = anchor.metrics
        # A compressor codes every byte, so it has no unknown tokens; one total, so no interval.
        rows.append({"entry": "zpaq", "model": "zpaq", "kind": "compressor", "what": f"zpaq -m{a['method']}",
                     "test_bpc": a["test.bpc"], "ci_low": float("nan"), "ci_high": float("nan"),
                     "val_bpc": a["val.bpc"], "oov_rate": 0.0, "book_bpc": {}})
    return add_ranks(pd.DataFrame(rows), "entry", comparisons)


def _row(entry: str, model: str, kind: str, what: str, metrics: dict, prefix: str = "") -> dict:
    books = {m[1]: value for key, value in metrics.items()
             if (m := re.fullmatch(rf"{re.escape(prefix)}test\.book\.(.+)\.bpc", key))}
    return {"entry": entry, "model": model, "kind": kind, "what": what, "test_bpc": metrics[f"{prefix}test.bpc"],
            "ci_low": metrics[f"{prefix}test.bpc_ci_low"], "ci_high": metrics[f"{prefix}test.bpc_ci_high"],
            "val_bpc": metrics[f"{prefix}val.bpc"], "oov_rate": metrics[f"{prefix}test.oov_rate"], "book_bpc": books}


def mix_description(mix: MixResult) -> str:
    """'mixture of 3 models + cache (order 6)'."""
    cache = f" + cache (order {mix.cache_order})" if mix.cache_order else ""
    return f"mixture of {len(mix.members)} model{'s' if len(mix.members) != 1 else ''}{cache}"


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
