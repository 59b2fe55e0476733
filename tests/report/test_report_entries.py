"""The report's entries of every kind: the equal-budget comparison and the champion, dynamic evaluation, the
mixtures, the n-grams and the zpaq anchor (measured, skipped or missing), ranked together in Best entries;
entries with unknown tokens kept out of every ranking; summary.json's best keys; the efficiency chart's curves."""
from __future__ import annotations

import json
import re
import shutil

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from charlm.data.vocab import load_vocab
from charlm.errors import CharlmError
from charlm.evaluate.paired import paired_bootstrap
from charlm.evaluate.splits import EvalSplit, load_eval_split
from charlm.params import load_params
from charlm.io import read_json, write_json
from charlm.model_names import model_key
from charlm.report.compare import compare
from charlm.report.compare.comparisons import Comparisons
from charlm.report.compare.seeds import SeedStats, seed_ranking
from charlm.report.draw.charts import efficiency
from charlm.report.load import collect_mixes, collect_results, load, read_anchor, seed_entry
from charlm.report.render import mixtures, rankings
from fake_results import build, build_fake_report, eval_file, report_paths, table_rows
from helpers import TINY_PARAMS

KINDS = {"rnn": "comparison", "gru": "comparison", "lstm": "comparison", "deep_lstm": "comparison",
         "bilstm": "comparison", "transformer": "comparison", "tf": "comparison", "champion": "champion",
         "champion (dynamic)": "dynamic", "ensemble": "mixture", "cm": "context mixer", "add3": "n-gram", "kn4": "n-gram",
         "zpaq": "compressor"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_fake_report(tmp_path_factory.mktemp("entries"))


def evals(dirs, params) -> dict[str, dict]:
    """Every metrics file the report reads, by the entry name the report shows."""
    out = {name: read_json(eval_file(dirs, params, name)) for name in [*params.models, *params.ngram, *params.mix, "cm"]}
    out["champion (dynamic)"] = {k.removeprefix("dynamic."): v for k, v in out["champion"].items()
                                 if k.startswith("dynamic.")}
    out["zpaq"] = read_json(dirs["anchor"])
    return out


def interval(metrics: dict) -> str:
    return f"**{metrics['test.bpc']:.4f}** [{metrics['test.bpc_ci_low']:.4f}, {metrics['test.bpc_ci_high']:.4f}]"


def test_best_entries_rank_every_kind_together_by_test_bpc(built):
    params, dirs, report, summary = built
    metrics = evals(dirs, params)
    assert set(metrics) == set(KINDS)
    best_first = sorted(metrics, key=lambda name: metrics[name]["test.bpc"])
    header, rows = table_rows(report, "Best entries (test split)", key="entry")
    assert header == ["rank", "entry", "kind", "what", "test bpc [95% CI]", "vs. next better", "val bpc"]
    assert list(rows) == best_first
    for rank, name in enumerate(best_first, 1):
        row = dict(zip(header, rows[name]))
        assert row["rank"] == str(rank) and row["kind"] == KINDS[name], name
        expected = f"**{metrics[name]['test.bpc']:.4f}** (no CI⁴)" if name == "zpaq" else interval(metrics[name])
        assert row["test bpc [95% CI]"] == expected, name
    assert "⁴ A compressor gives one total size for the whole split" in report
    ids = {"champion (dynamic)": "champion.dynamic"}
    assert {ids.get(n, n): rank for rank, n in enumerate(best_first, 1)} == \
           {entry: e["rank"] for entry, e in summary["entries"].items()}
    assert {entry: e["kind"] for entry, e in summary["entries"].items()} == {ids.get(n, n): k for n, k in KINDS.items()}
    assert "test.bpc_ci_low" not in summary["entries"]["zpaq"]


def test_summary_best_keys(built):
    params, dirs, _, summary = built
    metrics = evals(dirs, params)
    static = {name: metrics[name]["test.bpc"] for name in [*params.models, *params.ngram]}
    best_entry = min(metrics, key=lambda name: metrics[name]["test.bpc"])
    assert summary["best"] == {
        "neural.test.bpc": min(static[n] for n in params.models),
        "ngram.test.bpc": min(static[n] for n in params.ngram),
        "static.test.bpc": min(static.values()),
        "entry.test.bpc": metrics[best_entry]["test.bpc"],
        "entry.name": {"champion (dynamic)": "champion.dynamic"}.get(best_entry, best_entry),
        "zpaq.test.bpc": metrics["zpaq"]["test.bpc"]}
    assert best_entry not in static   # the fakes' dynamic champion beats every static model: the keys differ


def section(report: str, heading: str) -> str:
    return report.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0].strip()


def test_the_comparison_states_its_shared_budget_and_the_champion_its_own(built):
    params, _, report, _ = built
    text = section(report, "The architecture comparison (equal budget)")
    assert "same token budget, **6,000 tokens** (`train.max_tokens`)" in text
    assert "Not equal: `gru` (4,321), `tf` (5,000)" in text   # their own max_tokens (fake_params)
    text = section(report, "The champion")
    assert text.startswith(f"`champion` (LSTM 1×16) is the model the recipe gives the rest of the time")
    assert f"a budget of **{params.model_train('champion').max_tokens:,} tokens**" in text


def test_the_shared_budget_is_scaled_by_budget_scale(built):
    params, dirs, _, _ = built
    half = params.model_copy(update={"train": params.train.model_copy(update={"budget_scale": 0.5})})
    c = compare(half, load(half, report_paths(dirs)))
    text = rankings.comparison(c.kinds["comparison"], c.seed_ranking, half)
    assert "**3,000 tokens** (`train.max_tokens` = 6,000 × `train.budget_scale` 0.5)" in text
    assert "Not equal: `gru` (2,160), `tf` (2,500)" in text


def test_dynamic_evaluation_shows_static_and_dynamic_side_by_side(built):
    params, dirs, report, _ = built
    champion = read_json(dirs["eval"] / "champion.json")
    header, rows = table_rows(report, "Dynamic evaluation")
    assert list(rows) == list(params.evaluate.dynamic.models) == ["champion"]
    row = dict(zip(header, rows["champion"]))
    dynamic = {k.removeprefix("dynamic."): v for k, v in champion.items() if k.startswith("dynamic.")}
    stream = {k.removeprefix("stream."): v for k, v in champion.items() if k.startswith("stream.")}
    assert row["static test bpc [95% CI]"] == interval(champion)
    assert row["static, one stream"] == interval(stream)
    assert row["dynamic test bpc [95% CI]"] == interval(dynamic)
    # The gain is against the same weights read as one stream, with the paired interval of those two scores.
    gain = paired(dirs, params, ("champion", "stream.test"), ("champion", "dynamic.test"))
    assert row["gain over one stream [95% CI]"].startswith(f"{gain.diff:+.4f} [{gain.low:+.4f}, {gain.high:+.4f}]")
    assert row["dynamic val bpc"] == f"{dynamic['val.bpc']:.4f}"
    d = params.evaluate.dynamic
    assert (f"every segment of {d.segment} tokens is first scored and only then learned from (one `{d.optimizer}` "
            f"step, `lr` {d.lr:g}") in section(report, "Dynamic evaluation")


def paired(dirs, params, a: tuple[str, str], b: tuple[str, str]):
    """The paired bootstrap of two score files ((folder under data/scores or data/mix, split file)), recomputed
    here from the files, as the report must."""
    split = load_eval_split("test", dirs["processed"], dirs["interim"], load_vocab(dirs["processed"] / "vocab.json"))
    def nll(folder, file):
        if folder in [*params.mix, "cm"]:
            return np.load(dirs["mix"] / folder / f"{file}.npy")
        return np.load(dirs["scores"] / model_key(params, folder) / f"{file}.npy")
    e = params.evaluate
    return paired_bootstrap(nll(*a), nll(*b), split.widths[1:], split.starts[1:], e.bootstrap_block,
                            e.bootstrap_samples, e.seed)


def test_every_gap_to_the_next_better_entry_is_the_paired_test_of_their_scores(built):
    params, dirs, report, _ = built
    header, rows = table_rows(report, "Best entries (test split)", key="entry")
    names = list(rows)
    files = {"champion (dynamic)": ("champion", "dynamic.test")}
    checked = 0
    for above, name in zip(names, names[1:]):
        cell = dict(zip(header, rows[name]))["vs. next better"]
        if "zpaq" in (above, name):
            # One size per split, so no pairing by character; the fake anchor has per-book costs (zpaq.per_book).
            assert "over books⁴" in cell
            continue
        d = paired(dirs, params, files.get(name, (name, "test")), files.get(above, (above, "test")))
        assert cell == f"{d.diff:+.4f} [{d.low:+.4f}, {d.high:+.4f}]" + ("" if d.significant else " (n.s.)"), name
        checked += 1
    assert checked >= 8
    assert "paired block bootstrap of the two entries' per-character differences" in report


def test_the_comparison_ranks_architectures_by_their_mean_over_seeds(built):
    params, dirs, report, summary = built
    header, rows = table_rows(report, "The architecture comparison (equal budget)")
    assert list(params.compare.models) == ["rnn", "gru"] and list(params.compare.seeds) == [1]
    bpc = {m: [read_json(eval_file(dirs, params, m))["test.bpc"],
               *(read_json(dirs["eval"] / "seeds" / f"{m}.json")[f"{m}-s{s}"]["test.bpc"] for s in params.compare.seeds)]
           for m in params.compare.models}
    order = sorted(bpc, key=lambda m: np.mean(bpc[m]))
    assert list(rows) == order
    for m in order:
        row = dict(zip(header, rows[m]))
        assert row["seeds"] == ", ".join(map(str, params.seed_runs(m)))
        assert row["test bpc: mean ± sd"] == f"**{np.mean(bpc[m]):.4f}** ± {np.std(bpc[m], ddof=1):.4f}"
        assert summary["compare"][m]["test.bpc.mean"] == round(float(np.mean(bpc[m])), 4)
    worse = dict(zip(header, rows[order[1]]))
    apart = max(bpc[order[0]]) < min(bpc[order[1]])
    assert worse["seeds apart"] == ("yes" if apart else "no")
    assert worse["established"] in ("**yes**", "no")
    if not apart:
        assert worse["established"] == "no"   # the bootstrap alone never establishes a gap


def test_a_gap_is_established_only_beyond_the_seeds_and_the_bootstrap():
    """Synthetic scores: a gap the bootstrap finds but the seeds straddle is not established; one both agree on is."""
    rng = np.random.default_rng(0)
    n = 20000
    hard = rng.gamma(2.0, 1.0, n)          # passages hard for every model: paired differences are steady
    split = EvalSplit("test", np.zeros(n + 1, dtype=np.int64), np.ones(n + 1, dtype=np.int64),
                      np.arange(n + 1, dtype=np.int64), ())
    evaluate = load_params(TINY_PARAMS).evaluate

    def rank(offsets: dict[str, list[float]]):
        nll = {seed_entry(m, s): hard + o for m, seeds in offsets.items() for s, o in enumerate(seeds)}
        stats = [SeedStats(m, m, (0, 1, 2), tuple(float((hard + o).mean() / np.log(2)) for o in seeds), (0, 0, 0))
                 for m, seeds in offsets.items()]
        return seed_ranking(stats, Comparisons(split, nll, evaluate))

    # b is 0.05 nats worse on every character at each seed; a's seeds spread past b's.
    (first, _), (second, gap) = rank({"a": [0.0, 0.01, 0.12], "b": [0.05, 0.05, 0.05]})
    assert (first.model, second.model) == ("a", "b")
    assert gap.diff.significant and not gap.apart and not gap.established
    # The same gap with a's seeds close together: beyond both noises.
    (first, _), (second, gap) = rank({"a": [0.0, 0.01, 0.02], "b": [0.05, 0.05, 0.05]})
    assert (first.model, second.model) == ("a", "b") and gap.apart and gap.established


def test_a_mixture_row_lists_its_members_with_their_weights(built):
    params, dirs, report, _ = built
    mix = read_json(dirs["eval"] / "ensemble.json")
    header, rows = table_rows(report, "Mixtures", key="mix")
    row = dict(zip(header, rows["ensemble"]))
    assert row["members (weight)"] == (f"`champion` (dynamic) {mix['weight.champion.dynamic']:.3f}, "
                                       f"`kn4` {mix['weight.kn4']:.3f}, cache (order 3) {mix['weight.cache']:.3f}")
    assert row["test bpc [95% CI]"] == interval(mix)
    assert row["val bpc"] == f"{mix['val.bpc']:.4f}"
    members = {m: read_json(eval_file(dirs, params, m.split('.')[0]))[("dynamic." if "." in m else "") + "test.bpc"]
               for m in params.mix["ensemble"].members}
    best = min(members, key=members.get)
    d = paired(dirs, params, ("ensemble", "test"), (best.split(".")[0], "dynamic.test" if "." in best else "test"))
    assert row["vs. best member [95% CI]"].startswith(f"{d.diff:+.4f} [{d.low:+.4f}, {d.high:+.4f}]")


def test_the_anchor_row_has_no_interval_and_says_why(built):
    _, dirs, report, _ = built
    zpaq = read_json(dirs["anchor"])
    header, rows = table_rows(report, "The compressor anchor", key="entry")
    assert dict(zip(header, rows["zpaq"])) == {"entry": "zpaq", "what": "zpaq 7.15, method `-m1`",
                                               "test bpc": f"**{zpaq['test.bpc']:.4f}**",
                                               "val bpc": f"{zpaq['val.bpc']:.4f}", "95% CI": "none (one total)"}
    assert "not a cost per character, so there is nothing to resample" in section(report, "The compressor anchor")


def test_a_skipped_anchor_is_a_note_not_an_entry(built, tmp_path):
    params, dirs, _, _ = built
    write_json(tmp_path / "zpaq.json", {"skipped": "zpaq not found on PATH: apt-get install zpaq"})
    report, summary = build(params, dirs, tmp_path / "plots", tmp_path / "reports" / "report.md",
                            tmp_path / "reports" / "bits_passage.html", anchor=tmp_path / "zpaq.json")
    assert section(report, "The compressor anchor") == \
           "Skipped: zpaq not found on PATH: apt-get install zpaq"
    assert "zpaq" not in table_rows(report, "Best entries (test split)", key="entry")[1]
    assert "zpaq" not in summary["entries"] and "zpaq.test.bpc" not in summary["best"]
    assert "(no CI⁴)" not in report and "⁴ A compressor" not in report


def test_a_missing_anchor_file_is_skipped_with_a_note(tmp_path):
    anchor = read_anchor(tmp_path / "metrics" / "anchor" / "zpaq.json")
    assert anchor.metrics is None
    note = mixtures.anchor_section(anchor, []).split("\n")[-1]
    assert re.fullmatch(r"Skipped: not measured: `.*/metrics/anchor/zpaq\.json` is missing \(a run from before "
                        r"the zpaq stage\); `dvc repro zpaq` measures it\.", note)


def test_entries_with_unknown_tokens_are_not_ranked(built, tmp_path):
    """An <unk> costs p(<unk>) only, not its characters' bits: such an entry is listed, with its OOV rate, apart."""
    params, dirs, _, _ = built
    eval_dir = tmp_path / "eval"
    shutil.copytree(dirs["eval"], eval_dir)
    test_bpc = {name: read_json(eval_dir / f"{name}.json")["test.bpc"] for name in params.models}
    best_neural = min(test_bpc, key=test_bpc.get)
    for name in (best_neural, "ensemble"):
        metrics = read_json(eval_dir / f"{name}.json")
        write_json(eval_dir / f"{name}.json", {**metrics, "test.oov_rate": 0.012345})
    report, summary = build(params, dirs, tmp_path / "plots", tmp_path / "reports" / "report.md",
                            tmp_path / "reports" / "bits_passage.html", eval_dir=eval_dir)
    header, rows = table_rows(report, "Not ranked", key="entry")
    assert set(rows) == {best_neural, "ensemble"}
    assert all(row[header.index("test OOV rate")] == "1.23%" for row in rows.values())
    assert "does not pay for every character" in section(report, "Not ranked")
    for heading in ("Best entries (test split)", "The architecture comparison (equal budget)", "The champion"):
        if f"## {heading}\n" in report and "|" in section(report, heading):
            assert not {best_neural, "ensemble"} & set(table_rows(report, heading, key=table_key(heading))[1])
    assert "None of them is ranked" in section(report, "Mixtures")
    assert "rank" not in summary["models"][best_neural] and "rank" not in summary["entries"]["ensemble"]
    static = [name for name in [*params.models, *params.ngram] if name != best_neural]
    assert sorted(summary["models"][name]["rank"] for name in static) == list(range(1, len(static) + 1))
    assert summary["best"]["neural.test.bpc"] == min(v for n, v in test_bpc.items() if n != best_neural)
    assert summary["models"][best_neural]["test.oov_rate"] == 0.012345


def table_key(heading: str) -> str:
    return "entry" if heading.startswith("Best entries") else "model"


def test_old_or_missing_inputs_ask_for_the_stage_that_writes_them(built, tmp_path):
    params, dirs, _, _ = built
    eval_dir = tmp_path / "eval"
    shutil.copytree(dirs["eval"], eval_dir)
    for name, key, stage in (("gru", "test.oov_rate", "evaluate@gru"),
                             ("champion", "dynamic.test.bpc", "evaluate@champion"),
                             ("ensemble", "weight.kn4", "mix@ensemble")):
        metrics = read_json(eval_file(dirs, params, name))
        write_json(eval_dir / f"{name}.json", {k: v for k, v in metrics.items() if k != key})
        with pytest.raises(CharlmError, match=rf"{name}\.json: no key '{re.escape(key)}' \(written by an older "
                                              rf"charlm\?\): run `dvc repro {stage}`$"):
            collect_results(params, eval_dir, dirs["train"], dirs["live"], dirs["samples"])
            collect_mixes(params, eval_dir)
        write_json(eval_dir / f"{name}.json", metrics)
    (eval_dir / "ensemble.json").unlink()
    with pytest.raises(CharlmError, match=r"^mix 'ensemble' is listed in params but its evaluation .*ensemble\.json "
                                          r"is missing: run `dvc repro mix@ensemble`$"):
        collect_mixes(params, eval_dir)


def test_the_efficiency_chart_draws_each_neural_models_whole_curve_against_compute(built):
    params, dirs, _, _ = built
    results = collect_results(params, dirs["eval"], dirs["train"], dirs["live"], dirs["samples"])
    anchor = read_anchor(dirs["anchor"])
    fig = efficiency(results, anchor)
    try:
        ax = fig.axes[0]
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert ax.get_xscale() == "log"
        for name in params.models:
            curve = pd.read_csv(dirs["live"] / name / "plots" / "metrics" / "val" / "bpc_forward.tsv", sep="\t")
            line = lines[name]   # the champion is named `champion`: its label needs no "(champion)"
            num_parameters = read_json(eval_file(dirs, params, name))["num_parameters"]
            np.testing.assert_allclose(line.get_xdata(), curve["step"] * 6 * num_parameters)
            np.testing.assert_allclose(line.get_ydata(), curve["bpc_forward"])
        ngram_val = min(read_json(eval_file(dirs, params, name))["val.bpc"] for name in params.ngram)
        assert list(lines["best n-gram (kn4)"].get_ydata()) == [ngram_val] * 2
        assert list(lines["zpaq -m1"].get_ydata()) == [anchor.metrics["val.bpc"]] * 2
        assert set(lines) == {*params.models, "best n-gram (kn4)", "zpaq -m1"}
        widest = max(lines[name].get_linewidth() for name in params.models)
        assert [name for name in params.models if lines[name].get_linewidth() == widest] == ["champion"]   # drawn bold
    finally:
        plt.close(fig)


def test_summary_is_plain_json(built):
    _, _, _, summary = built
    assert json.loads(json.dumps(summary)) == summary
