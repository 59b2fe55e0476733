"""Rank models, or every entry the report lists, by test bpc, with the paired test of each gap.

An entry's id is how params name it: `<model>`, `<model>.dynamic` (as in `mix.<name>.members`), `<mix>`,
`cm` and `zpaq`.
"""
from __future__ import annotations

import re

import pandas as pd

from charlm.report.compare.comparisons import Comparisons
from charlm.report.results import Anchor, CMResult, MixResult, ModelResult

# An entry's kind is one of: comparison, champion, dynamic, mixture, context mixer, n-gram, compressor.
ROLE_KINDS = {"compare": "comparison", "champion": "champion"}


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
    that gap's paired bootstrap (Comparisons.paired), None for the first row, unranked rows, and a row without
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


def entry_kind(r: ModelResult) -> str:
    """'comparison' or 'champion' (a neural model's role), or 'n-gram'."""
    return ROLE_KINDS[r.role] if r.kind == "neural" else "n-gram"


def pays_every_character(metrics: dict, prefix: str = "") -> bool:
    """Whether the entry is ranked: no test token was <unk>, so its bits cover every character."""
    return metrics[f"{prefix}test.oov_rate"] == 0


def kind_rankings(results: list[ModelResult], comparisons: Comparisons
                  ) -> dict[str, tuple[list[ModelResult], pd.DataFrame | None]]:
    """For each kind of single model (comparison, champion, n-gram): its models, and the ranked ones' ranking
    among themselves (None when none is ranked)."""
    out = {}
    for kind in ("comparison", "champion", "n-gram"):
        group = [r for r in results if entry_kind(r) == kind]
        ranked = [r for r in group if pays_every_character(r.eval)]
        out[kind] = group, ranking(ranked, comparisons) if ranked else None
    return out


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
