"""reports/report.md: the intro, the ranking sections (rankings.py, mixtures.py), training budgets, charts,
where the bits go (bits.py), the bidirectional caveat, the method, samples and settings."""
from __future__ import annotations

import json
import math
import re

import pandas as pd
import yaml

from charlm.params import EvaluateParams, Params
from charlm.report.compare import Collected
from charlm.report.render import mixtures, rankings
from charlm.report.render.bits import where_the_bits_go
from charlm.report.render.cells import entry_name, format_flops, markdown_table
from charlm.report.results import ModelResult


def render_report(c: Collected, params: Params, links: dict[str, str]) -> str:
    """The whole report page from what was loaded and compared (`c`). `links` maps each chart's file name to its
    link relative to the report, and "page" to the coloured passages' HTML page."""
    i = c.inputs
    parts = [_intro(c), _pins(i.titles, i.unpinned), rankings.best_entries(c.entries),
             rankings.not_ranked(c.entries), rankings.comparison(c.kinds["comparison"], c.seed_ranking, params),
             rankings.champion(c.kinds["champion"], params), rankings.dynamic(i.results, c.gaps.dynamic, params),
             mixtures.mixtures(i.mixes, c.entries, c.gaps.mix_vs_member),
             mixtures.context_mixer(i.cm, c.entries, c.gaps), rankings.ngrams(c.kinds["n-gram"]),
             mixtures.anchor_section(i.anchor, c.gaps.vs_zpaq), _budgets(i.results, c.static),
             _charts(links), where_the_bits_go(c.bits, links), _bidirectional(i.results), _method(params.evaluate),
             _samples(i.results), _settings(i.results, params)]
    return "\n\n".join(p for p in parts if p).rstrip() + "\n"


def _intro(c: Collected) -> str:
    results, entries, book_titles = c.inputs.results, c.entries, c.inputs.titles
    vocab_size = int(results[0].eval["vocab_size"])
    lines = ["# Which model predicts these novels best?", "",
             "Every model reads the held-out text of the novels one character at a time and pays "
             "`-log2 p(next character)` bits for each; the average is its **bits per character (bpc)**. "
             f"Guessing uniformly over the {vocab_size} symbols of the vocabulary costs "
             f"log2({vocab_size}) = {math.log2(vocab_size):.2f} bpc; the lower the bpc the better the model. "
             "Perplexity is the same number seen differently: 2^bpc for a character model, the number of "
             "equally likely next characters the model is as unsure as.", ""]
    ranked = entries[entries["ranked"]]
    if ranked.empty:
        return "\n".join(lines + ["**No entry is ranked**: every one has unknown tokens in the test split "
                                  "(see *Not ranked*)."])
    best = ranked.iloc[0]
    interval = "no interval" if pd.isna(best.ci_low) else f"95% CI {best.ci_low:.4f}–{best.ci_high:.4f}"
    role = f", {best.kind}" if best.kind in ("comparison", "champion") else ""
    lines.append(f"**Best: {entry_name(best)}** ({best.what}{role}) at **{best.test_bpc:.4f}** "
                 f"test bpc ({interval}), over {len(book_titles)} book(s).")
    single = ranked[ranked["kind"].isin(["comparison", "champion", "n-gram"])]
    if len(single) and single.index[0] != ranked.index[0]:
        top = single.iloc[0]
        lines.append(f"The best single model, scored statically, is `{top.model}` ({top.kind}) at "
                     f"{top.test_bpc:.4f}.")
    if c.gaps.neural_vs_ngram is not None:
        n, g, d = c.gaps.neural_vs_ngram                # d > 0: the neural model is better
        low, high = (d.low, d.high) if d.diff > 0 else (-d.high, -d.low)
        verdict = "" if d.significant else " That gap is not established on this test set."
        lines.append(f"The best neural model (`{n.model}`, {n.test_bpc:.4f}) is {abs(d.diff):.4f} bpc "
                     f"{'better' if d.diff > 0 else 'worse'} than the best n-gram baseline "
                     f"(`{g.model}`, {g.test_bpc:.4f}), paired 95% interval [{low:.4f}, {high:.4f}].{verdict}")
    with_books = ranked[ranked["book_bpc"].map(len) > 1]
    if len(with_books):
        lines.append(_easiest_and_hardest(with_books.iloc[0], book_titles))
    return "\n".join(lines)


def _easiest_and_hardest(entry, book_titles: dict) -> str:
    per_book = {b: entry.book_bpc[str(b)] for b in book_titles if str(b) in entry.book_bpc}
    easy, hard = min(per_book, key=per_book.get), max(per_book, key=per_book.get)
    return (f"For {entry_name(entry)} the easiest book is *{book_titles[easy]}* ({per_book[easy]:.3f} "
            f"bpc) and the hardest *{book_titles[hard]}* ({per_book[hard]:.3f}).")


def _pins(book_titles: dict, unpinned: list) -> str:
    if not unpinned:
        return f"All {len(book_titles)} books match their `sha256` pins in `data.books`: this is the pinned corpus."
    books = ", ".join(f"*{book_titles[b]}* (`{b}`)" for b in unpinned)
    return (f"**Not pinned: {books}.** Their cleaned text does not match a `sha256` in `data.books` (or they "
            "have none), so their scores are not comparable with runs on the pinned corpus (docs/data.md).")


def _stopped_by(r: ModelResult) -> str:
    """The train loop's stop_reason in words, with the param value that triggered it."""
    reason = r.train["stop_reason"]
    return {"max_tokens": "token budget", "max_epochs": f"`max_epochs` = {r.budget.max_epochs}",
            "patience": f"early stopping, `patience` = {r.budget.patience}"}.get(reason, str(reason))


def _budgets(results: list[ModelResult], static: pd.DataFrame) -> str:
    """Each neural model's token budget (a param) beside what it actually trained on and why it stopped."""
    by_name = {r.name: r for r in results}
    rows = [by_name[m] for m in static["model"] if by_name[m].kind == "neural"]
    if not rows:
        return ""
    table = pd.DataFrame({
        "model": [f"`{r.name}`" for r in rows],
        "type": [r.description for r in rows],
        "budget (`max_tokens`)": [f"{r.budget.max_tokens:,}" for r in rows],
        "tokens seen": [f"{r.train_tokens:,}" for r in rows],
        "of budget": [f"{100 * r.train_tokens / r.budget.max_tokens:.1f}%" for r in rows],
        "epochs": [f"{r.epochs:.2f}" for r in rows],
        "stopped by": [_stopped_by(r) for r in rows],
        "best val bpc at (tokens)": [f"{int(r.train['best.tokens']):,}" for r in rows],
        "training compute³": [f"{format_flops(r.train_flops)} FLOPs" for r in rows]})
    return "\n".join([
        "## Training budgets", "",
        "A neural model trains until one more batch would take it past its **token budget** `max_tokens` "
        "(the shared `train.max_tokens`, or the model's own `models.<name>.train.max_tokens`), unless "
        "`max_epochs` or early stopping (`patience`) ends it first; the model evaluated above is the "
        "checkpoint with the best validation bpc. Budgets are counted in tokens, not seconds, so the same "
        "params train the same model on any machine.", "",
        markdown_table(table), "",
        "³ The standard 6·N·D estimate: N trainable weights, D tokens seen, about 2·N·D for the forward "
        "and 4·N·D for the backward pass (validation passes and attention's context-length term left out).", "",
        "Measured speed is not part of this report, because it changes from run to run and machine to "
        "machine: `dvc metrics show metrics/runtime` gives the wall time and tokens/s of the run that "
        "produced these models, on the machine that ran it."])


def _charts(links: dict[str, str]) -> str:
    """The comparison charts (draw.charts.CHART_FILES, in that order) with their captions."""
    captions = {
        "val_bpc_by_epoch.png": "Validation bpc during training, per epoch. The dashed line is the best n-gram, "
                                "which needs no training curve.",
        "test_bpc.png": "Test bpc of every ranked entry, coloured by kind, with 95% block-bootstrap intervals "
                        "(zpaq has none).",
        "test_bpc_by_book.png": "Test bpc per book of every ranked entry with per-book scores: some authors are "
                                "easier to predict than others, for every model.",
        "efficiency.png": "Each neural model's validation bpc during training against the training compute spent "
                          "so far, the standard 6·N·D estimate (N trainable weights, D training tokens seen): "
                          "down and to the left is better. It follows from params and token counts, not a "
                          "stopwatch. N-gram baselines and zpaq need no training by gradient: the dashed line is "
                          "the best n-gram's validation bpc, the dotted one zpaq's (when it was measured).",
    }
    lines = ["## Charts"]
    for name, caption in captions.items():
        lines += ["", f"![{name}]({links[name]})", "", f"*{caption}*"]
    return "\n".join(lines)


def _bidirectional(results: list[ModelResult]) -> str:
    rows = [r for r in results if "backward.test.bpc" in r.eval]
    if not rows:
        return ""
    table = pd.DataFrame({
        "model": [f"`{r.name}`" for r in rows],
        **{f"{label} test bpc": [f"{r.eval[f'{key}test.bpc']:.4f}" for r in rows]
           for label, key in (("forward", ""), ("backward", "backward."), ("mean", "mean."))},
        "forward test ppl": [f"{r.eval['test.ppl']:.3f}" for r in rows],
        "backward test ppl": [f"{r.eval['backward.test.ppl']:.3f}" for r in rows]})
    return "\n".join([
        "## The bidirectional model", "",
        "A bidirectional LSTM that reads the whole sentence can 'predict' a character it has already seen, "
        "which is how the notebook's bidirectional model reached a perplexity near 1.1 while generating "
        "nonsense. Here it is an honest pair of language models (as in ELMo): a forward LM that sees only "
        "the past and a backward LM that sees only the future, each scored on its own. Only the forward "
        "number is ranked above; the backward and mean numbers are for comparison.", "",
        markdown_table(table)])


def _method(evaluate: EvaluateParams) -> str:
    return "\n".join([
        "## How the numbers were computed", "",
        "- Each split is scored in full, streamed in order: neural models carry their hidden state across "
        f"the whole text ({evaluate.batch_size} parallel streams), n-gram models use their full context. "
        "No random windows, no reset state.",
        "- bpc = total bits / characters of the cleaned text, spaces included (the first token has no "
        "context and is not scored). A word-level model's bits are divided by characters too, so it is "
        "comparable with the character models.",
        f"- The 95% interval resamples contiguous blocks of {evaluate.bootstrap_block} characters "
        f"{evaluate.bootstrap_samples} times (seed {evaluate.seed}), because neighbouring characters' losses "
        "are correlated. Every model draws the same blocks.",
        "- Per-book bpc splits the same scored characters by book; weighted by each book's characters they "
        "average back to the overall bpc."])


def _samples(results: list[ModelResult]) -> str:
    lines = ["## Samples", "",
             "Greedy decoding always takes the single most likely next character, so it soon falls into a "
             "loop (\"and the and the\"), as the notebook's outputs did; that is a property of the decoding, "
             "not only of the model. Sampling at a temperature below 1 keeps most of the model's preferences "
             "while breaking the loops, and shows what the model has learnt about spelling and words."]
    for r in results:
        # The samples page starts at heading level 1; nest it under this section.
        lines += ["", re.sub(r"^(#+) ", r"\1## ", r.samples.strip(), flags=re.MULTILINE)]
    return "\n".join(lines)


def _settings(results: list[ModelResult], params: Params) -> str:
    lines = ["## Model settings (from params.yaml)", "",
             "Every neural model trains with the shared `train` section; the `train:` entry under a model "
             "overrides single keys of it for that model.", "", _yaml({"train": params.train.model_dump()})]
    for r in results:
        lines += ["", f"### `{r.name}`", "", _yaml(r.settings)]
    lines += ["", "### Dynamic evaluation, mixtures and the compressor anchor", "",
              _yaml({"evaluate": {"dynamic": params.evaluate.dynamic.model_dump()},
                     "mix": {name: mix.model_dump() for name, mix in params.mix.items()},
                     "zpaq": params.zpaq.model_dump()})]
    return "\n".join(lines)


def _yaml(settings: dict) -> str:
    plain = json.loads(json.dumps(settings))   # tuples -> lists, for YAML
    return "\n".join(["```yaml", yaml.safe_dump(plain, sort_keys=False).rstrip(), "```"])
