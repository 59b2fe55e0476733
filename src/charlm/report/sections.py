"""The report's ranking sections: the best entries of every kind, those not ranked, then one section per
kind (the equal-budget comparison, the champion, dynamic evaluation, mixtures, n-grams, the zpaq anchor)."""
from __future__ import annotations

import pandas as pd

from charlm.params import Params, scaled_budget
from charlm.report.collect import Anchor, MixResult, ModelResult
from charlm.report.entries import entry_kind, pays_every_character
from charlm.report.table import display_table, gap_text, markdown_table, ranking, score

NO_CI = "A compressor gives one total size for the whole split, not a cost per character, so there is nothing to " \
        "resample: zpaq has no 95% interval, and a gap to it is judged by the other entry's interval alone."


def entry_name(entry) -> str:
    """'`lstm`', '`champion` (dynamic)', 'zpaq': an entry (a row of entry_table) as the report names it."""
    if entry.kind == "compressor":
        return "zpaq"
    return f"`{entry.model}`" + (" (dynamic)" if entry.kind == "dynamic" else "")


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
             "*mixtures* and the zpaq *compressor*. The sections below show each kind on its own."]
    if ranked.empty:
        return "\n".join(lines + ["", "**No entry is ranked**: every one has unknown tokens (see *Not ranked*)."])
    lines += ["", markdown_table(table), "",
              "*vs. next better* is the gap to the entry one row up; **(n.s.)** marks a gap inside the 95% "
              "intervals (either entry's estimate lies in the other's interval), so that ordering is not "
              "established by this test set."]
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


def model_table(results: list[ModelResult], kind: str) -> tuple[list[ModelResult], pd.DataFrame | None]:
    """The models of one kind, and the ranked ones' ranking among themselves (None when none is ranked)."""
    group = [r for r in results if entry_kind(r) == kind]
    ranked = [r for r in group if pays_every_character(r.eval)]
    return group, ranking(ranked) if ranked else None


def comparison(results: list[ModelResult], params: Params) -> str:
    group, df = model_table(results, "comparison")
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
    lines += ["", _ranked_table(df), "",
              "Ranked among themselves, by the forward (causal) test bpc only; **(n.s.)** as above. Perplexity is "
              "per token.", "",
              "¹ Trainable weights for neural models; the number of stored n-grams for n-gram models.  ",
              "² Tokens trained on, all epochs together (budgets and why training stopped: *Training budgets* "
              "below); for an n-gram, the training split counted once."]
    return "\n".join(lines)


def champion(results: list[ModelResult], params: Params) -> str:
    group, df = model_table(results, "champion")
    if not group:
        return ""
    r, shared = group[0], scaled_budget(params.train).max_tokens
    lines = ["## The champion", "",
             f"`{r.name}` ({r.description}) is the model the recipe gives the rest of the time "
             f"(`models.{r.name}.role: champion`): a budget of **{r.budget.max_tokens:,} tokens**, "
             f"{r.budget.max_tokens / shared:.3g}× the comparison's, so it is its own entry, not one of the "
             "architectures compared above."]
    # One row: a rank and a gap within its group would say nothing.
    return "\n".join(lines + ["", _ranked_table(df, drop=("rank", "vs. next better"))])


def ngrams(results: list[ModelResult]) -> str:
    group, df = model_table(results, "n-gram")
    if not group:
        return ""
    return "\n".join(["## N-gram baselines", "",
                      "Count-based models (docs/ngrams.md), fitted by counting the training split once, ranked "
                      "among themselves: the bar a trained model has to clear.", "", _ranked_table(df)])


def _ranked_table(df: pd.DataFrame | None, drop: tuple[str, ...] = ()) -> str:
    if df is None:
        return "None of them is ranked (see *Not ranked*)."
    return markdown_table(display_table(df).drop(columns=list(drop)))


def dynamic(results: list[ModelResult], params: Params) -> str:
    rows = [r for r in results if r.dynamic and pays_every_character(r.eval, "dynamic.")]
    if not any(r.dynamic for r in results):
        return ""
    d = params.evaluate.dynamic
    lines = ["## Dynamic evaluation", "",
             "Dynamic evaluation (Krause et al., 2018) lets a model keep learning from the text it is scored "
             f"on: it reads each split in one stream, and every segment of {d.segment} tokens is first scored "
             f"and only then learned from (one `{d.optimizer}` step, `lr` {d.lr:g}, `decay` {d.decay:g}; "
             "`evaluate.dynamic`), so no character is predicted by weights that have seen it. The static "
             "score is the same model with its weights frozen."]
    if not rows:
        return "\n".join(lines + ["", "None of them is ranked (see *Not ranked*)."])
    table = pd.DataFrame({
        "model": [f"`{r.name}`" for r in rows], "type": [r.description for r in rows],
        "static test bpc [95% CI]": [_score_of(r.eval) for r in rows],
        "dynamic test bpc [95% CI]": [_score_of(r.eval, "dynamic.") for r in rows],
        "gain (bpc)": [f"{r.eval['test.bpc'] - r.eval['dynamic.test.bpc']:+.4f}" for r in rows],
        "static val bpc": [f"{r.eval['val.bpc']:.4f}" for r in rows],
        "dynamic val bpc": [f"{r.eval['dynamic.val.bpc']:.4f}" for r in rows]})
    return "\n".join(lines + ["", markdown_table(table)])


def _score_of(metrics: dict, prefix: str = "") -> str:
    return score(*(metrics[f"{prefix}test.{key}"] for key in ("bpc", "bpc_ci_low", "bpc_ci_high")))


def mixtures(mixes: list[MixResult], entries: pd.DataFrame) -> str:
    if not mixes:
        return ""
    by_id = entries.set_index("entry")
    ranked = [m for m in mixes if by_id.loc[m.name, "ranked"]]
    lines = ["## Mixtures", "",
             "A mixture interpolates its members' probabilities of each next character, with weights fitted "
             "by EM on the validation split (never on test), then scores the test split with them "
             "(`mix.<name>`). A member `<model>` (dynamic) is that model's dynamic-evaluation score; the cache "
             "is an n-gram model of the split's own text scored so far (`cache_order`)."]
    if not ranked:
        return "\n".join(lines + ["", "None of them is ranked (see *Not ranked*)."])
    table = pd.DataFrame({
        "mix": [f"`{m.name}`" for m in ranked],
        "members (weight)": [_weights(m, by_id) for m in ranked],
        "test bpc [95% CI]": [_score_of(m.eval) for m in ranked],
        "vs. best member": [_vs_best_member(m, by_id) for m in ranked],
        "val bpc": [f"{m.eval['val.bpc']:.4f}" for m in ranked]})
    return "\n".join(lines + ["", markdown_table(table)])


def _weights(mix: MixResult, by_id: pd.DataFrame) -> str:
    def part(name: str) -> str:
        return f"cache (order {mix.cache_order})" if name == "cache" else entry_name(by_id.loc[name])
    return ", ".join(f"{part(name)} {weight:.3f}" for name, weight in mix.weights.items())


def _vs_best_member(mix: MixResult, by_id: pd.DataFrame) -> str:
    best = by_id.loc[list(mix.members), "test_bpc"].idxmin()
    return f"{mix.eval['test.bpc'] - by_id.loc[best, 'test_bpc']:+.4f} vs {entry_name(by_id.loc[best])}"


def anchor_section(anchor: Anchor) -> str:
    heading = "## The compressor anchor"
    if anchor.metrics is None:
        return f"{heading}\n\nSkipped: {anchor.note}"
    a = anchor.metrics
    table = pd.DataFrame({"entry": ["zpaq"], "what": [f"zpaq {a['version']}, method `-m{a['method']}`"],
                          "test bpc": [f"**{a['test.bpc']:.4f}**"], "val bpc": [f"{a['val.bpc']:.4f}"],
                          "95% CI": ["none (one total)"]})
    return "\n".join([
        heading, "",
        "zpaq is a strong general-purpose context-mixing compressor. It compresses the training text, then "
        "the training text followed by a held-out split; the extra size in bits, over the split's characters, "
        "is what it pays for the split once it has read the training text: a number that compares with a "
        f"model's bpc, from a program that knows nothing of language models. {NO_CI}", "",
        markdown_table(table)])
