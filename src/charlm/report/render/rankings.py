"""The report's ranking sections: the best entries of every kind, those not ranked, then the equal-budget
comparison (with its seeds), the champion, dynamic evaluation and the n-grams."""
from __future__ import annotations

import pandas as pd

from charlm.evaluate.paired import PairedDiff
from charlm.params import Params, scaled_budget
from charlm.report.compare.seeds import SeedGap, SeedStats
from charlm.report.render.cells import (NO_CI, PAIRED, entry_name, format_count, gap_cell, markdown_table, score,
                                        score_of)
from charlm.report.results import ModelResult


def best_entries(entries: pd.DataFrame) -> str:
    ranked = entries[entries["ranked"]]
    table = pd.DataFrame({
        "rank": ranked["rank"].astype(str),
        "entry": [entry_name(e) for e in ranked.itertuples()],
        "kind": ranked["kind"],
        "what": ranked["what"],
        "test bpc [95% CI]": [score(e.test_bpc, e.ci_low, e.ci_high) for e in ranked.itertuples()],
        "vs. next better": ranked.apply(gap_text, axis=1),
        "val bpc": ranked["val_bpc"].map("{:.4f}".format)})
    lines = ["## Best entries (test split)", "",
             "Every ranked entry by its test bpc: the single models (the equal-budget *comparison*, the "
             "*champion* and the *n-gram* baselines), the models scored by *dynamic* evaluation, the "
             "*mixtures*, the *context mixer* and the zpaq *compressor*. The sections below show each kind on its "
             "own."]
    if ranked.empty:
        return "\n".join(lines + ["", "**No entry is ranked**: every one has unknown tokens (see *Not ranked*)."])
    lines += ["", markdown_table(table), "",
              f"*vs. next better* is the gap to the entry one row up in bpc: {PAIRED}."]
    if (ranked["kind"] == "compressor").any():
        lines += ["", f"⁴ {NO_CI}"]
    return "\n".join(lines)


def not_ranked(entries: pd.DataFrame) -> str:
    rows = entries[~entries["ranked"]]
    if rows.empty:
        return ""
    table = pd.DataFrame({
        "entry": [entry_name(e) for e in rows.itertuples()], "kind": rows["kind"], "what": rows["what"],
        "test bpc [95% CI]": [score(e.test_bpc, e.ci_low, e.ci_high) for e in rows.itertuples()],
        "test OOV rate": rows["oov_rate"].map(lambda rate: f"{100 * rate:.3g}%")})
    return "\n".join([
        "## Not ranked", "",
        "Some test tokens of these entries are outside their vocabulary and are scored as `<unk>`: an unknown "
        "word or character costs only -log2 p(`<unk>`), not the bits of the characters it stands for. Their "
        "bpc does not pay for every character, so it is not comparable with the others and is not ranked.", "",
        markdown_table(table)])


# A kind of single model's models, and the ranked ones' ranking among themselves (Collected.kinds).
KindRanking = tuple[list[ModelResult], pd.DataFrame | None]


def comparison(kind: KindRanking, seed_ranking: list[tuple[SeedStats, SeedGap | None]], params: Params) -> str:
    group, df = kind
    if not group:
        return ""
    shared = scaled_budget(params.train).max_tokens
    scale = "" if params.train.budget_scale == 1 else \
        f" = {params.train.max_tokens:,} × `train.budget_scale` {params.train.budget_scale:g}"
    lines = ["## The architecture comparison (equal budget)", "",
             f"The notebook's experiment: every `role: compare` model trains on the same text with the same token "
             f"budget, **{shared:,} tokens** (`train.max_tokens`{scale}), so this ranking compares architectures, "
             "not budgets."]
    own = [r for r in group if r.budget.max_tokens != shared]
    if own:
        listed = ", ".join(f"`{r.name}` ({r.budget.max_tokens:,})" for r in own)
        lines[-1] += (f" Not equal: {listed} set their own `models.<name>.train.max_tokens`, so their rows "
                      "compare budgets too.")
    lines += _seed_table(seed_ranking)
    lines += ["", "Each architecture's own run (`train@<model>`, at `train.seed`), the one whose curves, samples and "
              "per-book scores the rest of the report shows:", "", _ranked_table(df), "",
              "Ranked among themselves, by the forward (causal) test bpc only; **(n.s.)** as above. Perplexity is "
              "per token.", "",
              "¹ Trainable weights for neural models; the number of stored n-grams for n-gram models.  ",
              "² Tokens trained on, all epochs together (budgets and why training stopped: *Training budgets* "
              "below); for an n-gram, the training split counted once."]
    return "\n".join(lines)


def _seed_table(rows: list[tuple[SeedStats, SeedGap | None]]) -> list[str]:
    """The architectures ranked by their mean test bpc over seeds, each gap with its paired interval and whether
    it holds across seeds."""
    if not rows:
        return []
    table = pd.DataFrame({
        "rank": [str(i + 1) for i in range(len(rows))],
        "model": [f"`{s.model}`" for s, _ in rows],
        "type": [s.description for s, _ in rows],
        "seeds": [", ".join(map(str, s.seeds)) for s, _ in rows],
        "test bpc: mean ± sd": [f"**{s.mean:.4f}** ± {s.sd:.4f}" for s, _ in rows],
        "per seed": [", ".join(f"{b:.4f}" for b in s.bpc) for s, _ in rows],
        "vs. next better (seed means) [95% CI]": ["best" if g is None else gap_cell(g.diff, g.diff.diff)
                                                  for _, g in rows],
        "seeds apart": ["" if g is None else ("yes" if g.apart else "no") for _, g in rows],
        "established": ["" if g is None else ("**yes**" if g.established else "no") for _, g in rows],
        "val bpc: mean": [f"{sum(s.val_bpc) / len(s.val_bpc):.4f}" for s, _ in rows]})
    open_gaps = [f"`{above.model}` ahead of `{s.model}`" for (above, _), (s, g) in zip(rows, rows[1:])
                 if not g.established]
    lines = ["", f"Every architecture trains at {len(rows[0][0].seeds)} seeds (its `train.seed`, then `compare.seeds`), "
             "all else equal, and is ranked by its **mean** test bpc over them; *sd* is the standard deviation "
             "across seeds, the training noise. A gap is **established** only when it beats both noises: its "
             "paired interval (the per-character nll averaged over each model's seeds, then the paired block "
             "bootstrap) excludes 0, *and* the seeds are apart (every seed of the better architecture scores "
             "below every seed of the worse).", "", markdown_table(table)]
    if open_gaps:
        lines += ["", "Not established: " + "; ".join(open_gaps) + " (the order of these neighbours could change "
                  "with other seeds or another test text)."]
    else:
        lines += ["", "Every gap between neighbours is established."]
    return lines


def champion(kind: KindRanking, params: Params) -> str:
    group, df = kind
    if not group:
        return ""
    r, shared = group[0], scaled_budget(params.train).max_tokens
    lines = ["## The champion", "",
             f"`{r.name}` ({r.description}) is the model the recipe gives the rest of the time "
             f"(`models.{r.name}.role: champion`): a budget of **{r.budget.max_tokens:,} tokens**, "
             f"{r.budget.max_tokens / shared:.3g}× the comparison's, so it is its own entry, not one of the "
             f"architectures compared above. It trains once, at `train.seed` {r.budget.seed}: the spread across "
             "seeds measured in the comparison is the best guide to how much of its score is the seed."]
    # One row: a rank and a gap within its group would say nothing.
    return "\n".join(lines + ["", _ranked_table(df, drop=("rank", "vs. next better"))])


def ngrams(kind: KindRanking) -> str:
    group, df = kind
    if not group:
        return ""
    return "\n".join(["## N-gram baselines", "",
                      "Count-based models (docs/ngrams.md), fitted by counting the training split once, ranked "
                      "among themselves: the bar a trained model has to clear.", "", _ranked_table(df)])


def _ranked_table(df: pd.DataFrame | None, drop: tuple[str, ...] = ()) -> str:
    if df is None:
        return "None of them is ranked (see *Not ranked*)."
    return markdown_table(display_table(df).drop(columns=list(drop)))


def dynamic(results: list[ModelResult], gains: dict[str, PairedDiff | None], params: Params) -> str:
    """`gains`: each ranked dynamic model's gain over one static stream (Gaps.dynamic)."""
    rows = [r for r in results if r.name in gains]
    if not any(r.dynamic for r in results):
        return ""
    d = params.evaluate.dynamic
    lines = ["## Dynamic evaluation", "",
             "Dynamic evaluation (Krause et al., 2018) lets a model keep learning from the text it is scored "
             f"on: it reads each split in one stream, and every segment of {d.segment} tokens is first scored "
             f"and only then learned from (one `{d.optimizer}` step, `lr` {d.lr:g}, `decay` {d.decay:g}; "
             "`evaluate.dynamic`), so no character is predicted by weights that have seen it. The gain is "
             "measured against the same frozen weights reading the same single stream (*static, one stream*), "
             "so it is adaptation alone; the ranked static score reads each split as "
             f"{params.evaluate.batch_size} streams, which costs a little context at each cut. The gain's "
             f"interval is paired: {PAIRED}."]
    if not rows:
        return "\n".join(lines + ["", "None of them is ranked (see *Not ranked*)."])
    table = pd.DataFrame({
        "model": [f"`{r.name}`" for r in rows], "type": [r.description for r in rows],
        "static test bpc [95% CI]": [score_of(r.eval) for r in rows],
        "static, one stream": [score_of(r.eval, "stream.") for r in rows],
        "dynamic test bpc [95% CI]": [score_of(r.eval, "dynamic.") for r in rows],
        "gain over one stream [95% CI]": [_gain(r, gains[r.name]) for r in rows],
        "static val bpc (one stream)": [f"{r.eval['val.bpc']:.4f} ({r.eval['stream.val.bpc']:.4f})" for r in rows],
        "dynamic val bpc": [f"{r.eval['dynamic.val.bpc']:.4f}" for r in rows]})
    return "\n".join(lines + ["", markdown_table(table)])


def _gain(r: ModelResult, diff: PairedDiff | None) -> str:
    """What dynamic evaluation saves over the same weights frozen, both one stream: stream − dynamic."""
    return gap_cell(diff, r.eval["stream.test.bpc"] - r.eval["dynamic.test.bpc"])


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


def gap_text(row) -> str:
    """'best', or a ranked row's gap to the one above it with its paired interval (add_ranks, gap_cell)."""
    if row["rank"] == 1:
        return "best"
    return gap_cell(row["paired"], row["gap"], row["by_books"])
