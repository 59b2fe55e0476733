"""The report's ranking sections: the best entries of every kind, those not ranked, then one section per
kind (the equal-budget comparison, the champion, dynamic evaluation, mixtures, n-grams, the zpaq anchor)."""
from __future__ import annotations

import pandas as pd

from charlm.params import Params, scaled_budget
from charlm.report.collect import Anchor, CMResult, MixResult, ModelResult
from charlm.report.compare import Comparisons, SeedStats, gap_cell, seed_ranking
from charlm.report.entries import entry_kind, pays_every_character
from charlm.report.table import display_table, gap_text, markdown_table, ranking, score

NO_CI = "A compressor gives one total size for the whole split, not a cost per character, so there is nothing to " \
        "resample: zpaq has no 95% interval, and no paired test by character against it. With `zpaq.per_book` it " \
        "also gives each test book's cost, and a gap to it is then a paired bootstrap over the books (*over books*; " \
        "with ten books, a coarse test)."

PAIRED = ("the gap's 95% interval is a paired block bootstrap of the two entries' per-character differences "
          "on the same test text (the same blocks resampled for both); **(n.s.)** marks an interval that "
          "contains 0, so that ordering is not established by this test set")


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


def model_table(results: list[ModelResult], kind: str, comparisons: Comparisons
                ) -> tuple[list[ModelResult], pd.DataFrame | None]:
    """The models of one kind, and the ranked ones' ranking among themselves (None when none is ranked)."""
    group = [r for r in results if entry_kind(r) == kind]
    ranked = [r for r in group if pays_every_character(r.eval)]
    return group, ranking(ranked, comparisons) if ranked else None


def comparison(results: list[ModelResult], seeds: list[SeedStats], params: Params, comparisons: Comparisons) -> str:
    group, df = model_table(results, "comparison", comparisons)
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
    lines += _seed_table(seeds, comparisons)
    lines += ["", "Each architecture's own run (`train@<model>`, at `train.seed`), the one whose curves, samples and "
              "per-book scores the rest of the report shows:", "", _ranked_table(df), "",
              "Ranked among themselves, by the forward (causal) test bpc only; **(n.s.)** as above. Perplexity is "
              "per token.", "",
              "¹ Trainable weights for neural models; the number of stored n-grams for n-gram models.  ",
              "² Tokens trained on, all epochs together (budgets and why training stopped: *Training budgets* "
              "below); for an n-gram, the training split counted once."]
    return "\n".join(lines)


def _seed_table(seeds: list[SeedStats], comparisons: Comparisons) -> list[str]:
    """The architectures ranked by their mean test bpc over seeds, each gap with its paired interval and whether
    it holds across seeds."""
    if not seeds or max(len(s.seeds) for s in seeds) < 2:
        return []
    rows = seed_ranking(seeds, comparisons)
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


def champion(results: list[ModelResult], params: Params, comparisons: Comparisons) -> str:
    group, df = model_table(results, "champion", comparisons)
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


def ngrams(results: list[ModelResult], comparisons: Comparisons) -> str:
    group, df = model_table(results, "n-gram", comparisons)
    if not group:
        return ""
    return "\n".join(["## N-gram baselines", "",
                      "Count-based models (docs/ngrams.md), fitted by counting the training split once, ranked "
                      "among themselves: the bar a trained model has to clear.", "", _ranked_table(df)])


def _ranked_table(df: pd.DataFrame | None, drop: tuple[str, ...] = ()) -> str:
    if df is None:
        return "None of them is ranked (see *Not ranked*)."
    return markdown_table(display_table(df).drop(columns=list(drop)))


def dynamic(results: list[ModelResult], params: Params, comparisons: Comparisons) -> str:
    rows = [r for r in results if r.dynamic and pays_every_character(r.eval, "dynamic.")]
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
        "static test bpc [95% CI]": [_score_of(r.eval) for r in rows],
        "static, one stream": [_score_of(r.eval, "stream.") for r in rows],
        "dynamic test bpc [95% CI]": [_score_of(r.eval, "dynamic.") for r in rows],
        "gain over one stream [95% CI]": [_gain(comparisons, r) for r in rows],
        "static val bpc (one stream)": [f"{r.eval['val.bpc']:.4f} ({r.eval['stream.val.bpc']:.4f})" for r in rows],
        "dynamic val bpc": [f"{r.eval['dynamic.val.bpc']:.4f}" for r in rows]})
    return "\n".join(lines + ["", markdown_table(table)])


def _gain(comparisons: Comparisons, r: ModelResult) -> str:
    """What dynamic evaluation saves over the same weights frozen, both one stream: stream − dynamic."""
    return gap_cell(comparisons.paired(f"{r.name}.stream", f"{r.name}.dynamic"),
                    r.eval["stream.test.bpc"] - r.eval["dynamic.test.bpc"])


def _score_of(metrics: dict, prefix: str = "") -> str:
    return score(*(metrics[f"{prefix}test.{key}"] for key in ("bpc", "bpc_ci_low", "bpc_ci_high")))


def mixtures(mixes: list[MixResult], entries: pd.DataFrame, comparisons: Comparisons) -> str:
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
        "vs. best member [95% CI]": [_vs_best_member(m, by_id, comparisons) for m in ranked],
        "val bpc": [f"{m.eval['val.bpc']:.4f}" for m in ranked]})
    return "\n".join(lines + ["", markdown_table(table), "", f"*vs. best member*: {PAIRED}."])


def _weights(mix: MixResult, by_id: pd.DataFrame) -> str:
    def part(name: str) -> str:
        return f"cache (order {mix.cache_order})" if name == "cache" else entry_name(by_id.loc[name])
    return ", ".join(f"{part(name)} {weight:.3f}" for name, weight in mix.weights.items())


def _vs_best_member(mix: MixResult, by_id: pd.DataFrame, comparisons: Comparisons) -> str:
    best = by_id.loc[list(mix.members), "test_bpc"].idxmin()
    gap = gap_cell(comparisons.paired(mix.name, best), mix.eval["test.bpc"] - by_id.loc[best, "test_bpc"])
    return f"{gap} vs {entry_name(by_id.loc[best])}"


def context_mixer(cm: CMResult, entries: pd.DataFrame, comparisons: Comparisons) -> str:
    """The cm entry: what it mixes, its test bpc against the best other entry and against zpaq, the ablation."""
    by_id = entries.set_index("entry")
    members = ", ".join(entry_name(by_id.loc[m]) for m in cm.members) or "no trained model"
    lines = ["## The context mixer", "",
             "`cm` predicts each character bit by bit down a Huffman tree, as context-mixing compressors do, from "
             "its own context models of everything read so far (orders of 1 to 16 characters, the current word "
             "with the words before it, each context's last successor), a match model, and the distributions of "
             f"{members}. It mixes them in the logistic domain with weights chosen by small contexts and learned "
             "online, then refines the result with two SSE maps. Test is scored after reading train and the test "
             "text before each character, never val (what zpaq's cost measures); what the mixer learned on val "
             "is carried over ([details](../docs/evaluation.md#the-context-mixer))."]
    if not by_id.loc["cm", "ranked"]:
        return "\n".join(lines + ["", "It is not ranked (see *Not ranked*)."])
    others = entries[entries["ranked"] & ~entries["entry"].isin(["cm", "zpaq"])]
    best = others.iloc[0] if len(others) else None
    rows = []
    if best is not None:
        gap = gap_cell(comparisons.paired("cm", best.entry), cm.eval["test.bpc"] - best.test_bpc)
        rows.append((f"the best other entry, {entry_name(best)}", f"{best.test_bpc:.4f}", gap, "by character"))
    if comparisons.by_books("cm", "zpaq"):
        c = comparisons.against_zpaq("cm")
        rows.append((f"zpaq, its best method", f"{by_id.loc['zpaq', 'test_bpc']:.4f}", gap_cell(c.paired, c.paired.diff),
                     f"over books: cm better on {c.wins} of {c.books}"))
    table = pd.DataFrame({"cm against": [r[0] for r in rows], "their test bpc": [r[1] for r in rows],
                          "cm − them [95% CI]": [r[2] for r in rows], "paired": [r[3] for r in rows]})
    lines += ["", f"Test bpc {_score_of(cm.eval)}, val {cm.eval['val.bpc']:.4f}."]
    if rows:
        lines += ["", markdown_table(table), "", f"*cm − them*: {PAIRED}."]
    if cm.ablation:
        names = {"orders": "its context models of the last characters", "words": "its word contexts",
                 "match": "the match model", "sse": "the SSE maps"}
        ablation = pd.DataFrame({
            "dropped": [names.get(part) or entry_name(by_id.loc[part]) for part in cm.ablation],
            "val bpc without it": [f"{bpc:.4f}" for bpc, _ in cm.ablation.values()],
            "what it adds": [f"{gain:+.4f}" for _, gain in cm.ablation.values()]})
        lines += ["", "**Ablation on val**: val scored again from the state after train with one component dropped "
                  "(its inputs set to 0, or SSE bypassed), the mixer adapting online without it. What a component "
                  "adds is measured beside all the others, so the parts do not sum to the whole.", "",
                  markdown_table(ablation)]
    return "\n".join(lines)


def anchor_section(anchor: Anchor, entries: pd.DataFrame, comparisons: Comparisons) -> str:
    heading = "## The compressor anchor"
    if anchor.metrics is None:
        return f"{heading}\n\nSkipped: {anchor.note}"
    a = anchor.metrics
    rows = [("zpaq", f"zpaq {a['version']}, method `-m{a['method']}`", f"**{a['test.bpc']:.4f}**", a["val.bpc"])]
    if "m5.test.bpc" in a:   # zpaq's default beside the method chosen on val (a run from before #19 has none)
        rows.append(("zpaq -m5", f"zpaq's default method, for reference (`-m{a['m5.method_argument']}`)",
                     f"{a['m5.test.bpc']:.4f}", a["m5.val.bpc"]))
    table = pd.DataFrame({"entry": [r[0] for r in rows], "what": [r[1] for r in rows],
                          "test bpc": [r[2] for r in rows], "val bpc": [f"{r[3]:.4f}" for r in rows],
                          "95% CI": ["none (one total)"] * len(rows)})
    return "\n".join([
        heading, "",
        "zpaq is a strong general-purpose context-mixing compressor. It compresses the training text, then "
        "the training text followed by a held-out split; the extra size in bits, over the split's characters, "
        "is what it pays for the split once it has read the training text: a number that compares with a "
        "model's bpc, from a program that knows nothing of language models. Its method is the best of "
        "`zpaq.methods` on val, as our models are tuned on val, and its sizes are of the coded text alone, "
        f"without the archive's index; -m5, zpaq's default, is shown for reference. {NO_CI}", "",
        markdown_table(table), *_against_zpaq(entries, comparisons)])


def _against_zpaq(entries: pd.DataFrame, comparisons: Comparisons) -> list[str]:
    """The best entry of each kind against zpaq, paired over the test books (when zpaq.per_book measured them)."""
    ranked = entries[entries["ranked"] & (entries["kind"] != "compressor")]
    best = ranked.groupby("kind", sort=False).head(1)
    rows = [(e, comparisons.against_zpaq(e.entry)) for e in best.itertuples() if comparisons.by_books(e.entry, "zpaq")]
    if not rows:
        return ["", "No paired comparison with zpaq: it needs each test book's cost (`zpaq.per_book: true`)."]
    table = pd.DataFrame({
        "entry": [entry_name(e) for e, _ in rows], "kind": [e.kind for e, _ in rows],
        "test bpc": [f"{e.test_bpc:.4f}" for e, _ in rows],
        "− zpaq, over books [95% CI]": [gap_cell(c.paired, c.paired.diff) for _, c in rows],
        "p": [f"{c.paired.p_value:.3f}" for _, c in rows],
        "books it wins": [f"{c.wins} of {c.books}" for _, c in rows]})
    beaten = [entry_name(e) for e, c in rows if c.paired.significant and c.paired.diff < 0]
    verdict = (f"Established wins over zpaq: {', '.join(beaten)}." if beaten else
               "**No entry of ours is established as better than zpaq's best method** on these books.")
    return ["", "Each kind's best entry against zpaq, paired over the test books: the bpc difference weighted by each "
            "book's characters, with whole books resampled for both sides (negative: ours is better).", "",
            markdown_table(table), "", verdict]
