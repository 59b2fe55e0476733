"""reports/report.md: the ranking table, training budgets, charts, the bidirectional caveat, samples and settings."""
from __future__ import annotations

import dataclasses
import json
import math
import re

import pandas as pd
import yaml

from charlm.params import EvaluateParams, Params
from charlm.report.collect import ModelResult
from charlm.report.table import display_table, format_flops, markdown_table


def render_report(results: list[ModelResult], df: pd.DataFrame, charts: dict[str, str],
                  book_titles: dict[int, str], params: Params) -> str:
    """The whole report page; `charts` maps chart file names to links relative to the report."""
    parts = [_intro(results, df, book_titles), _table(df), _budgets(results, df), _charts(charts),
             _bidirectional(results), _method(params.evaluate), _samples(results), _settings(results, params)]
    return "\n\n".join(p for p in parts if p).rstrip() + "\n"


def _intro(results: list[ModelResult], df: pd.DataFrame, book_titles: dict[int, str]) -> str:
    best = df.iloc[0]
    vocab_size = int(results[0].eval["vocab_size"])
    lines = ["# Which model predicts these novels best?", "",
             "Every model reads the held-out text of the novels one character at a time and pays "
             "`-log2 p(next character)` bits for each; the average is its **bits per character (bpc)**. "
             f"Guessing uniformly over the {vocab_size} symbols of the vocabulary costs "
             f"log2({vocab_size}) = {math.log2(vocab_size):.2f} bpc; the lower the bpc the better the model. "
             "Perplexity is the same number seen differently: 2^bpc for a character model, the number of "
             "equally likely next characters the model is as unsure as.", "",
             f"**Best: `{best.model}`** ({best.kind}) at **{best.test_bpc:.4f}** test bpc "
             f"(95% CI {best.ci_low:.4f}–{best.ci_high:.4f}), over {len(book_titles)} book(s)."]
    kinds = df.groupby("kind", sort=False)["test_bpc"].idxmin()
    if {"neural", "n-gram"} <= set(kinds.index):
        neural, ngram = df.loc[kinds["neural"]], df.loc[kinds["n-gram"]]
        gap = ngram.test_bpc - neural.test_bpc
        lines.append(f"The best neural model (`{neural.model}`, {neural.test_bpc:.4f}) is {abs(gap):.4f} bpc "
                     f"{'better' if gap > 0 else 'worse'} than the best n-gram baseline "
                     f"(`{ngram.model}`, {ngram.test_bpc:.4f}).")
    best_eval = next(r.eval for r in results if r.name == best.model)
    per_book = {b: best_eval.get(f"test.book.{b}.bpc") for b in book_titles}
    per_book = {b: v for b, v in per_book.items() if v is not None}
    if len(per_book) > 1:
        easy, hard = min(per_book, key=per_book.get), max(per_book, key=per_book.get)
        lines.append(f"For `{best.model}` the easiest book is *{book_titles[easy]}* ({per_book[easy]:.3f} bpc) "
                     f"and the hardest *{book_titles[hard]}* ({per_book[hard]:.3f}).")
    return "\n".join(lines)


def _table(df: pd.DataFrame) -> str:
    return "\n".join([
        "## Ranking (test split)", "", markdown_table(display_table(df)), "",
        "Ranked by the forward (causal) test bpc only. *vs. next better* is the gap to the model one row up; "
        "**(n.s.)** marks a gap inside the 95% intervals (either model's estimate lies in the other's "
        "interval), so that ordering is not established by this test set. Perplexity is per token.", "",
        "¹ Trainable weights for neural models; the number of stored n-grams for n-gram models.  ",
        "² Tokens trained on, all epochs together (budgets and why training stopped: *Training budgets* "
        "below); for an n-gram, the training split counted once."])


def _stopped_by(r: ModelResult) -> str:
    """The train loop's stop_reason in words, with the param value that triggered it."""
    reason = r.train["stop_reason"]
    return {"max_tokens": "token budget", "max_epochs": f"`max_epochs` = {r.budget.max_epochs}",
            "patience": f"early stopping, `patience` = {r.budget.patience}"}.get(reason, str(reason))


def _budgets(results: list[ModelResult], df: pd.DataFrame) -> str:
    """Each neural model's token budget (a param) beside what it actually trained on and why it stopped."""
    by_name = {r.name: r for r in results}
    rows = [by_name[m] for m in df["model"] if by_name[m].kind == "neural"]
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
        "best val bpc at (tokens)": [f"{int(r.train['best_tokens']):,}" for r in rows],
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


def _charts(charts: dict[str, str]) -> str:
    captions = {
        "val_bpc_by_epoch.png": "Validation bpc during training, per epoch. The dashed line is the best n-gram, "
                                "which needs no training curve.",
        "test_bpc.png": "Test bpc of every model, with 95% block-bootstrap intervals.",
        "test_bpc_by_book.png": "Test bpc per book: some authors are easier to predict than others, for every model.",
        "efficiency.png": "Test bpc against estimated training compute, the standard 6·N·D estimate (N trainable "
                          "weights, D training tokens seen): down and to the left is better. It follows from "
                          "params and token counts, not a stopwatch. N-gram baselines are not on it (they "
                          "count n-grams rather than train by gradient); the dashed line is the best one's "
                          "test bpc.",
    }
    lines = ["## Charts"]
    for name, link in charts.items():
        lines += ["", f"![{name}]({link})", "", f"*{captions[name]}*"]
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
             "overrides single keys of it for that model.", "", _yaml({"train": dataclasses.asdict(params.train)})]
    for r in results:
        lines += ["", f"### `{r.name}`", "", _yaml(r.settings)]
    return "\n".join(lines)


def _yaml(settings: dict) -> str:
    plain = json.loads(json.dumps(settings))   # tuples -> lists, for YAML
    return "\n".join(["```yaml", yaml.safe_dump(plain, sort_keys=False).rstrip(), "```"])
