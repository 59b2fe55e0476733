"""The report stage: every model in params is in the table and report, with its training budget; charts exist;
nothing depends on wall time, so reruns are byte-identical."""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import shutil

import pytest

from charlm.errors import CharlmError
from charlm.io import read_json
from charlm.model_names import model_key
from charlm.report.compare.bits import bits_analysis
from charlm.report.draw.bits import BITS_FILES
from charlm.report.draw.charts import CHART_FILES
from charlm.report.load import ScorePaths, collect_results, load
from charlm.stage import run_stage
from fake_results import build, build_fake_report, eval_file, report_paths, table_rows
from helpers import REPO


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_fake_report(tmp_path_factory.mktemp("report"))


def test_charts_are_written_and_non_empty(built):
    _, dirs, _, _ = built
    assert sorted(p.name for p in dirs["plots"].iterdir()) == sorted(CHART_FILES + BITS_FILES)
    for name in CHART_FILES + BITS_FILES:
        data = (dirs["plots"] / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000


def test_report_has_every_model_chart_and_sample(built):
    params, _, report, _ = built
    for name in [*params.models, *params.ngram]:
        assert re.search(rf"^\| (\d+ \| )?`{name}` \|", report, re.MULTILINE), name   # a table row
        assert f"### Samples from `{name}`" in report and f"### `{name}`" in report
    for name in CHART_FILES:
        assert f"](../plots/{name})" in report
    assert "## The bidirectional model" in report and "hidden_size: 16" in report


def test_report_flags_a_book_whose_text_does_not_match_its_pin(built):
    _, _, report, _ = built
    flagged = [line for line in report.splitlines() if "Not pinned" in line]
    assert len(flagged) == 1 and "*Nine* (`9`)" in flagged[0] and "Seventh" not in flagged[0]


def test_model_tables_show_training_tokens_not_timings(built):
    """Each single model is a row of its kind's table (the equal-budget comparison, the champion, the n-grams)."""
    params, dirs, report, _ = built
    # The comparison's second table: each model's own run (the first ranks them over seeds).
    header, rows = table_rows(report, "The architecture comparison (equal budget)", which=1)
    assert header == ["rank", "model", "type", "test bpc [95% CI]", "vs. next better", "val bpc", "test perplexity",
                      "parameters¹", "training tokens²", "epochs"]
    champion_header, champion = table_rows(report, "The champion")
    assert champion_header == [c for c in header if c not in ("rank", "vs. next better")]   # one row: no rank
    _, ngrams = table_rows(report, "N-gram baselines")
    assert set(rows) == {name for name, model in params.models.items() if model.role == "compare"}
    assert set(champion) == {"champion"} and set(ngrams) == set(params.ngram)
    labels = {"rnn": "RNN 1×16", "gru": "GRU 1×16", "lstm": "LSTM 1×16", "deep_lstm": "LSTM 2×16",
              "bilstm": "BiLSTM 2×16", "tf": "Transformer 2×16"}
    for name, label in labels.items():
        assert rows[name][header.index("type")] == label
    assert champion["champion"][champion_header.index("type")] == "LSTM 1×16"
    gru = json.loads((dirs["train"] / "gru.json").read_text())
    assert rows["gru"][header.index("training tokens²")] == f"{gru['train.tokens'] / 1000:.1f}k"
    assert rows["gru"][header.index("epochs")] == f"{gru['train.epochs']:.2f}"


def test_report_shows_each_neural_models_budget_beside_what_it_used(built):
    params, dirs, report, _ = built
    header, rows = table_rows(report, "Training budgets")
    assert set(rows) == set(params.models)   # n-grams have no budget
    col = {name: header.index(name) for name in header}
    for name in params.models:
        budget, run = params.model_train(name), json.loads((dirs["train"] / f"{name}.json").read_text())
        row = rows[name]
        assert row[col["budget (`max_tokens`)"]] == f"{budget.max_tokens:,}", name
        assert row[col["tokens seen"]] == f"{run['train.tokens']:,}", name
        assert row[col["best val bpc at (tokens)"]] == f"{run['best.tokens']:,}", name
        six_nd = 6 * params_count(dirs, name) * run["train.tokens"]
        assert float(row[col["training compute³"]].removesuffix(" FLOPs")) == pytest.approx(six_nd, rel=0.05)
    # The per-model override shows, not the shared budget; each stop reason reads with its param.
    assert rows["gru"][col["budget (`max_tokens`)"]] == "4,321" != f"{params.train.max_tokens:,}"
    assert rows["rnn"][col["stopped by"]] == "token budget"
    assert rows["lstm"][col["stopped by"]] == f"`max_epochs` = {params.model_train('lstm').max_epochs}"
    assert rows["deep_lstm"][col["stopped by"]] == "early stopping, `patience` = 2"
    assert "`dvc metrics show metrics/runtime`" in report   # where the measured speed lives


def params_count(dirs, name: str) -> int:
    return read_json(dirs["eval"] / f"{name}.json")["num_parameters"]     # a neural model's


def test_summary_and_table_rank_every_model_by_its_evaluated_test_bpc(built):
    params, dirs, report, summary = built
    names = [*params.models, *params.ngram]
    # The scores as the evaluate stage wrote them, not as the summary repeats them.
    test_bpc = {name: read_json(eval_file(dirs, params, name))["test.bpc"] for name in names}
    assert len(set(test_bpc.values())) == len(names)            # no ties: the order is the scores' alone
    best_first = sorted(names, key=test_bpc.get)
    assert sorted(summary["models"]) == sorted(names)
    assert {n: m["rank"] for n, m in summary["models"].items()} == {n: i for i, n in enumerate(best_first, 1)}
    assert {n: m["test.bpc"] for n, m in summary["models"].items()} == test_bpc
    best = {key: value for key, value in summary["best"].items() if not key.startswith(("entry.", "zpaq."))}
    assert best == {"neural.test.bpc": min(test_bpc[n] for n in params.models),
                    "ngram.test.bpc": min(test_bpc[n] for n in params.ngram), "static.test.bpc": min(test_bpc.values())}
    compared = [name for name in best_first if params.models.get(name) and params.models[name].role == "compare"]
    for heading, names, which in (("The architecture comparison (equal budget)", compared, 1),
                                  ("N-gram baselines", [name for name in best_first if name in params.ngram], 0)):
        header, rows = table_rows(report, heading, which=which)
        assert list(rows) == names   # ranked among themselves
        for rank, name in enumerate(names, 1):
            assert rows[name][header.index("rank")] == str(rank)
            assert rows[name][header.index("test bpc [95% CI]")].startswith(f"**{test_bpc[name]:.4f}** ["), name
    for name, model in summary["models"].items():
        train = read_json(dirs["train"] / f"{model_key(params, name)}.json")
        assert model["train.tokens"] == train["train.tokens"]
        if name in params.models:
            assert model["train.flops"] == 6 * params_count(dirs, name) * train["train.tokens"]
        else:
            assert "train.flops" not in model
    json.dumps(summary)   # plain JSON types only


def test_no_output_mentions_a_timing(built):
    """Wall time varies run to run, so no DVC output of this stage may carry one (issue 6)."""
    _, _, report, summary = built
    timing = re.compile(r"wall_time|tokens_per_s|train_s\b|fit_seconds|_time_s|tok/s|\d (ms|s|min|h)\b")
    assert not timing.search(json.dumps(summary))
    # The report names the runtime log once, to say where speed lives; no table or caption has a timing.
    assert not timing.search(report)
    assert report.count("tokens/s") == 1 and "val_bpc_by_time" not in report


def test_rerun_is_byte_identical(built, tmp_path):
    params, dirs, report, _ = built
    again = tmp_path / "plots"
    page = tmp_path / "reports" / "bits_passage.html"
    report_again, _ = build(params, dirs, again, tmp_path / "reports" / "report.md", page)
    assert report_again == report
    for name in CHART_FILES + BITS_FILES:
        assert (again / name).read_bytes() == (dirs["plots"] / name).read_bytes(), name
    assert page.read_bytes() == dirs["passage"].read_bytes()


def test_missing_model_output_names_the_model(built, tmp_path, capsys):
    params, dirs, _, _ = built
    spec = importlib.util.spec_from_file_location("stage_report", REPO / "stages" / "report.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    eval_dir = tmp_path / "eval"
    shutil.copytree(dirs["eval"], eval_dir, ignore=lambda folder, names: {"gru.json"} & set(names)
                    if folder == str(dirs["eval"]) else set())
    with pytest.raises(SystemExit):
        run_stage(stage.main, ["--params", str(REPO / "tests" / "tiny_params.yaml"), "--eval", str(eval_dir),
                               "--train", str(dirs["train"]), "--live", str(dirs["live"]),
                               "--samples", str(dirs["samples"]), "--data", str(dirs["data"]),
                               "--scores", str(dirs["scores"]), "--mix", str(dirs["mix"]),
                               "--processed", str(dirs["processed"]),
                               "--interim", str(dirs["interim"]), "--anchor", str(dirs["anchor"]),
                               "--plots", str(tmp_path / "plots"), "--report", str(tmp_path / "report.md"),
                               "--passage", str(tmp_path / "passage.html"), "--summary", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert re.fullmatch(r"error: model 'gru' is listed in params but its evaluation .*gru.json is missing: "
                        r"run `dvc repro evaluate@gru`\n", err)
    assert not (tmp_path / "report.md").exists() and not (tmp_path / "s.json").exists()


def test_train_metrics_with_the_old_key_names_ask_for_a_rerun(built, tmp_path):
    """A metrics file written before docs/metrics.md's names is a one-line CharlmError, not a KeyError."""
    params, dirs, _, _ = built
    train_dir = tmp_path / "train"
    shutil.copytree(dirs["train"], train_dir)
    old = json.loads((train_dir / "gru.json").read_text())
    old["tokens_seen"] = old.pop("train.tokens")
    (train_dir / "gru.json").write_text(json.dumps(old))
    with pytest.raises(CharlmError, match=r"gru\.json: no key 'train\.tokens' \(written by an older charlm\?\): "
                                          r"run `dvc repro train@gru`$"):
        collect_results(params, dirs["eval"], train_dir, dirs["live"], dirs["samples"])


def test_report_shows_where_the_bits_go_for_the_best_of_each_kind(built):
    params, dirs, report, _ = built
    section = report.split("## Where the bits go\n", 1)[1].split("\n## ", 1)[0]
    val_bpc = {name: read_json(eval_file(dirs, params, name))["val.bpc"] for name in [*params.models, *params.ngram]}
    neural, ngram = min(params.models, key=val_bpc.get), min(params.ngram, key=val_bpc.get)
    assert f"best neural model (`{neural}`)" in section and f"best n-gram (`{ngram}`)" in section
    for name in BITS_FILES:
        assert f"](../plots/{name})" in section
    assert "[bits_passage.html](bits_passage.html)" in section
    header, *rows = [[c.strip() for c in line.strip("|").split(" | ")]
                     for line in section.splitlines() if line.startswith("|")]
    assert header == ["word", "after", "book", "times in test", f"`{neural}` bits", f"`{ngram}` bits", "gain (bits)"]
    gains = [float(row[-1]) for row in rows[1:]]
    assert len(gains) == 10 and gains == sorted(gains, reverse=True)


def test_the_models_compared_are_chosen_on_validation_not_test(built, tmp_path):
    params, dirs, _, _ = built
    inputs = load(params, report_paths(dirs))
    worst_on_test = max((r for r in inputs.results if r.kind == "neural"), key=lambda r: r.eval["test.bpc"])
    worst_on_test.eval["val.bpc"] = 0.0   # now best on validation, still worst on test
    bits = bits_analysis(params, inputs)
    assert bits.neural == worst_on_test.name


def test_a_word_vocabulary_skips_where_the_bits_go_with_a_note(built, tmp_path):
    params, dirs, _, _ = built
    words = params.model_copy(update={"vocab": params.vocab.model_copy(update={"token": "word"})})
    report, _ = build(words, dirs, tmp_path / "plots", tmp_path / "reports" / "report.md",
                      tmp_path / "reports" / "bits_passage.html")
    section = report.split("## Where the bits go\n", 1)[1].split("\n## ", 1)[0].strip()
    assert len(section.splitlines()) == 1 and "`vocab.token` is `word`" in section
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(CHART_FILES)
    assert "<code>vocab.token</code> is <code>word</code>" in (tmp_path / "reports" / "bits_passage.html").read_text()


def test_missing_scores_name_the_file_and_the_stage(built, tmp_path):
    params, dirs, _, _ = built
    results = collect_results(params, dirs["eval"], dirs["train"], dirs["live"], dirs["samples"])
    shutil.copytree(dirs["scores"], tmp_path / "scores")
    best = min((r for r in results if r.kind == "n-gram"), key=lambda r: r.eval["val.bpc"])
    (tmp_path / "scores" / "ngram" / best.name / "test.npy").unlink()
    with pytest.raises(CharlmError, match=rf"ngram/{best.name}/test\.npy: not found \(run `dvc repro ngram`\)$"):
        load(params, dataclasses.replace(report_paths(dirs), scores=ScorePaths(tmp_path / "scores", dirs["mix"])))
