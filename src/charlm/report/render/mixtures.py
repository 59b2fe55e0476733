"""The report's sections on the entries that combine or compress: the mixtures, the context mixer and the
zpaq anchor, each against what it builds on or competes with."""
from __future__ import annotations

import pandas as pd

from charlm.evaluate.paired import PairedDiff
from charlm.evaluate.paired_books import BookComparison
from charlm.report.compare.gaps import Gaps
from charlm.report.render.cells import NO_CI, PAIRED, entry_name, gap_cell, markdown_table, score_of
from charlm.report.results import Anchor, CMResult, MixResult


def mixtures(mixes: list[MixResult], entries: pd.DataFrame, vs_member: dict[str, tuple[str, PairedDiff | None]]
             ) -> str:
    """`vs_member`: each ranked mixture's best member and its gap to it (Gaps.mix_vs_member)."""
    if not mixes:
        return ""
    by_id = entries.set_index("entry")
    ranked = [m for m in mixes if m.name in vs_member]
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
        "test bpc [95% CI]": [score_of(m.eval) for m in ranked],
        "vs. best member [95% CI]": [_vs_best_member(m, *vs_member[m.name], by_id) for m in ranked],
        "val bpc": [f"{m.eval['val.bpc']:.4f}" for m in ranked]})
    return "\n".join(lines + ["", markdown_table(table), "", f"*vs. best member*: {PAIRED}."])


def _weights(mix: MixResult, by_id: pd.DataFrame) -> str:
    def part(name: str) -> str:
        return f"cache (order {mix.cache_order})" if name == "cache" else entry_name(by_id.loc[name])
    return ", ".join(f"{part(name)} {weight:.3f}" for name, weight in mix.weights.items())


def _vs_best_member(mix: MixResult, best: str, diff: PairedDiff | None, by_id: pd.DataFrame) -> str:
    gap = gap_cell(diff, mix.eval["test.bpc"] - by_id.loc[best, "test_bpc"])
    return f"{gap} vs {entry_name(by_id.loc[best])}"


def context_mixer(cm: CMResult, entries: pd.DataFrame, gaps: Gaps) -> str:
    """The cm entry: what it mixes, its test bpc against the best other entry and against zpaq (Gaps.cm_vs_best,
    Gaps.cm_vs_zpaq), the ablation."""
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
    rows = []
    if gaps.cm_vs_best is not None:
        best, diff = gaps.cm_vs_best
        gap = gap_cell(diff, cm.eval["test.bpc"] - best.test_bpc)
        rows.append((f"the best other entry, {entry_name(best)}", f"{best.test_bpc:.4f}", gap, "by character"))
    if gaps.cm_vs_zpaq is not None:
        c = gaps.cm_vs_zpaq
        rows.append((f"zpaq, its best method", f"{by_id.loc['zpaq', 'test_bpc']:.4f}", gap_cell(c.paired, c.paired.diff),
                     f"over books: cm better on {c.wins} of {c.books}"))
    table = pd.DataFrame({"cm against": [r[0] for r in rows], "their test bpc": [r[1] for r in rows],
                          "cm − them [95% CI]": [r[2] for r in rows], "paired": [r[3] for r in rows]})
    lines += ["", f"Test bpc {score_of(cm.eval)}, val {cm.eval['val.bpc']:.4f}."]
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


def anchor_section(anchor: Anchor, vs_zpaq: list[tuple[tuple, BookComparison]]) -> str:
    """zpaq's scores, and each kind's best entry against it (`vs_zpaq`: Gaps.vs_zpaq)."""
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
        markdown_table(table), *_against_zpaq(vs_zpaq)])


def _against_zpaq(rows: list[tuple[tuple, BookComparison]]) -> list[str]:
    """The best entry of each kind against zpaq, paired over the test books (when zpaq.per_book measured them)."""
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
