"""reports/report.md: the ranking table, training budgets, charts, where the bits go, the bidirectional caveat,
samples and settings."""
from __future__ import annotations

import json
import math
import re

import pandas as pd
import yaml

from charlm.params import EvaluateParams, Params
from charlm.report.bits import PASSAGE_CHARS, BitsAnalysis
from charlm.report.collect import ModelResult
from charlm.report.passage import legend_text
from charlm.report.table import display_table, format_flops, markdown_table


def render_report(results: list[ModelResult], df: pd.DataFrame, charts: dict[str, str],
                  book_titles: dict[int, str], params: Params, unpinned: list, bits: BitsAnalysis | str,
                  bits_links: dict[str, str]) -> str:
    """The whole report page; `charts` maps chart file names to links relative to the report, `unpinned`
    lists the ids of books whose text does not match their sha256 pin (or have none); `bits` is the
    "Where the bits go" analysis (or why it is skipped) and `bits_links` its charts' links and its HTML
    page's ("page")."""
    parts = [_intro(results, df, book_titles), _pins(book_titles, unpinned), _table(df), _budgets(results, df),
             _charts(charts), _where_the_bits_go(bits, bits_links), _bidirectional(results),
             _method(params.evaluate), _samples(results), _settings(results, params)]
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


def _pins(book_titles: dict, unpinned: list) -> str:
    if not unpinned:
        return f"All {len(book_titles)} books match their `sha256` pins in `data.books`: this is the pinned corpus."
    books = ", ".join(f"*{book_titles[b]}* (`{b}`)" for b in unpinned)
    return (f"**Not pinned: {books}.** Their cleaned text does not match a `sha256` in `data.books` (or they "
            "have none), so their scores are not comparable with runs on the pinned corpus (docs/data.md).")


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


def _where_the_bits_go(bits: BitsAnalysis | str, links: dict[str, str]) -> str:
    heading = "## Where the bits go"
    if isinstance(bits, str):
        return f"{heading}\n\n{bits}"
    neural, ngram = f"`{bits.neural}`", f"`{bits.ngram}`"
    background, band = legend_text(bits)
    return "\n".join([
        heading, "",
        f"Which characters does the best neural model ({neural}) predict better than the best n-gram ({ngram})? "
        "Both are chosen on validation bpc and compared character by character on the test split, from the "
        "per-character nll the evaluate stages keep in `data/scores/`.", "",
        _bits_findings(bits), "",
        f"![bpc_by_word_position.png]({links['bpc_by_word_position.png']})", "",
        "*Test bpc by position in the word: 1 is the first character after a space, and ‘space’ is the "
        "prediction that a word ends. Under each group: its share of the test characters.*", "",
        f"![bpc_by_character.png]({links['bpc_by_character.png']})", "",
        "*Test bpc by the character predicted, with its share of the test characters.*", "",
        f"![bits_passage.png]({links['bits_passage.png']})", "",
        f"*About {PASSAGE_CHARS} characters from the middle of the test part of the first and of the middle "
        f"book (a fixed choice, not picked for the result). {background} {band} The same passages, with each "
        f"character's bits on hover: [{links['page'].rsplit('/', 1)[-1]}]({links['page']}).*", "",
        "### The largest gains", "",
        f"The ten test words on which {neural} saves the most bits over {ngram}: the bits of the word's "
        "characters (not the space after it), each word at its best occurrence.", "",
        markdown_table(_gains_table(bits))])


def _bits_findings(bits: BitsAnalysis) -> str:
    """Two sentences read off the numbers: where the neural model's advantage is largest and smallest."""
    neural, ngram = f"`{bits.neural}`", f"`{bits.ngram}`"
    by_position = bits.by_position.assign(gap=bits.by_position["ngram"] - bits.by_position["neural"])
    common = bits.by_character[bits.by_character["chars"] >= 0.01 * bits.by_character["chars"].sum()]
    by_character = common.assign(gap=common["ngram"] - common["neural"])
    most, least = by_position.loc[by_position["gap"].idxmax()], by_position.loc[by_position["gap"].idxmin()]
    best, worst = by_character.loc[by_character["gap"].idxmax()], by_character.loc[by_character["gap"].idxmin()]

    def gap(row) -> str:
        return f"{row.neural:.2f} bpc against {row.ngram:.2f}, {row.gap:+.2f}"
    return (f"{neural} spends fewer bits than {ngram} on {100 * bits.neural_better:.1f}% of the test characters. "
            f"Its advantage ({ngram} bpc − {neural} bpc; negative: it is worse) is largest at "
            f"{_position_words(most.group)} ({gap(most)}) and smallest at {_position_words(least.group)} "
            f"({gap(least)}); among the characters that make up at least 1% of the text, it is largest on "
            f"{_char_words(best.group)} ({gap(best)}) and smallest on {_char_words(worst.group)} ({gap(worst)}).")


def _position_words(label: str) -> str:
    if label == "space":
        return "the end of a word (the space)"
    n = int(label.rstrip("+"))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"the {n}{suffix} character of a word" + (" and later" if label.endswith("+") else "")


def _char_words(char: str) -> str:
    return "the space" if char == " " else f"`{char}`"


def _gains_table(bits: BitsAnalysis) -> pd.DataFrame:
    g = bits.gains
    return pd.DataFrame({
        "word": [f"**{_escape(w)}**" for w in g["word"]],
        "after": [f"…{_escape(b)}" if b else "(the start)" for b in g["before"]],
        "book": [f"*{_escape(b)}*" for b in g["book"]],
        "times in test": g["count"].astype(str),
        f"`{bits.neural}` bits": [f"{v:.2f}" for v in g["neural"]],
        f"`{bits.ngram}` bits": [f"{v:.2f}" for v in g["ngram"]],
        "gain (bits)": [f"{v:.2f}" for v in g["gain"]]})


def _escape(text: str) -> str:
    """Text shown as itself in markdown: the alphabet is a param, so it may hold markdown's punctuation."""
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", text)   # markdown_table escapes |


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
    return "\n".join(lines)


def _yaml(settings: dict) -> str:
    plain = json.loads(json.dumps(settings))   # tuples -> lists, for YAML
    return "\n".join(["```yaml", yaml.safe_dump(plain, sort_keys=False).rstrip(), "```"])
