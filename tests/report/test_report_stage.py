"""The plot stage: every model in params is in the table and report, with its training budget; charts exist;
nothing depends on wall time, so reruns are byte-identical."""
from __future__ import annotations

import importlib.util
import json
import re

import pytest

from charlm.report.charts import CHART_FILES
from charlm.report.run import build_report
from charlm.stage import run_stage
from fake_results import fake_params, write_fake_results
from helpers import REPO


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    params = fake_params()
    dirs = write_fake_results(root, params)
    report, summary = build_report(params, dirs["eval"], dirs["train"], dirs["live"], dirs["samples"],
                                   dirs["plots"], root / "reports" / "report.md")
    return params, dirs, report, summary


def test_charts_are_written_and_non_empty(built):
    _, dirs, _, _ = built
    assert sorted(p.name for p in dirs["plots"].iterdir()) == sorted(CHART_FILES)
    for name in CHART_FILES:
        data = (dirs["plots"] / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000


def test_report_has_every_model_chart_and_sample(built):
    params, _, report, _ = built
    for name in [*params.models, *params.ngram]:
        assert re.search(rf"^\| \d+ \| `{name}` \|", report, re.MULTILINE), name   # a table row
        assert f"### Samples from `{name}`" in report and f"### `{name}`" in report
    for name in CHART_FILES:
        assert f"](../plots/{name})" in report
    assert "## The bidirectional model" in report and "hidden_size: 16" in report


def table_rows(report: str, heading: str) -> tuple[list[str], dict[str, list[str]]]:
    """The header and the rows (by model name) of the first markdown table under `## heading`."""
    section = report.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.strip("|").split(" | ")] for line in lines]
    header = cells[0]
    return header, {row[header.index("model")].strip("`"): row for row in cells[2:]}


def test_ranking_table_shows_training_tokens_not_timings(built):
    params, dirs, report, _ = built
    header, rows = table_rows(report, "Ranking (test split)")
    assert header == ["rank", "model", "type", "test bpc [95% CI]", "vs. next better", "val bpc", "test perplexity",
                      "parameters¹", "training tokens²", "epochs"]
    assert set(rows) == {*params.models, *params.ngram}
    labels = {"rnn": "RNN 1×16", "gru": "GRU 1×16", "lstm": "LSTM 1×16", "deep_lstm": "LSTM 2×16",
              "bilstm": "BiLSTM 2×16", "tf": "Transformer 2×16"}
    for name, label in labels.items():
        assert rows[name][header.index("type")] == label
    gru = json.loads((dirs["train"] / "gru.json").read_text())
    assert rows["gru"][header.index("training tokens²")] == f"{gru['tokens_seen'] / 1000:.1f}k"
    assert rows["gru"][header.index("epochs")] == f"{gru['epochs']:.2f}"


def test_report_shows_each_neural_models_budget_beside_what_it_used(built):
    params, dirs, report, _ = built
    header, rows = table_rows(report, "Training budgets")
    assert set(rows) == set(params.models)   # n-grams have no budget
    col = {name: header.index(name) for name in header}
    for name in params.models:
        budget, run = params.model_train(name), json.loads((dirs["train"] / f"{name}.json").read_text())
        row = rows[name]
        assert row[col["budget (`max_tokens`)"]] == f"{budget.max_tokens:,}", name
        assert row[col["tokens seen"]] == f"{run['tokens_seen']:,}", name
        assert row[col["best val bpc at (tokens)"]] == f"{run['best_tokens']:,}", name
        six_nd = 6 * params_count(dirs, name) * run["tokens_seen"]
        assert float(row[col["training compute³"]].removesuffix(" FLOPs")) == pytest.approx(six_nd, rel=0.05)
    # The per-model override shows, not the shared budget; each stop reason reads with its param.
    assert rows["gru"][col["budget (`max_tokens`)"]] == "4,321" != f"{params.train.max_tokens:,}"
    assert rows["rnn"][col["stopped by"]] == "token budget"
    assert rows["lstm"][col["stopped by"]] == f"`max_epochs` = {params.model_train('lstm').max_epochs}"
    assert rows["deep_lstm"][col["stopped by"]] == "early stopping, `patience` = 2"
    assert "`dvc metrics show metrics/runtime`" in report   # where the measured speed lives


def params_count(dirs, name: str) -> int:
    return json.loads((dirs["eval"] / f"{name}.json").read_text())["num_parameters"]


def test_summary_ranks_every_model(built):
    params, dirs, _, summary = built
    names = [*params.models, *params.ngram]
    assert sorted(summary["models"]) == sorted(names)
    ranks = {n: m["rank"] for n, m in summary["models"].items()}
    assert sorted(ranks.values()) == list(range(1, len(names) + 1))
    by_rank = sorted(summary["models"].values(), key=lambda m: m["rank"])
    assert [m["test.bpc"] for m in by_rank] == sorted(m["test.bpc"] for m in by_rank)
    assert summary["best"] == {"neural.test.bpc": min(summary["models"][n]["test.bpc"] for n in params.models),
                               "ngram.test.bpc": min(summary["models"][n]["test.bpc"] for n in params.ngram)}
    for name, model in summary["models"].items():
        train = json.loads((dirs["train"] / (f"{name}.json" if name in params.models else f"ngram-{name}.json"))
                           .read_text())
        if name in params.models:
            assert model["train_tokens"] == train["tokens_seen"]
            assert model["train_flops"] == 6 * params_count(dirs, name) * train["tokens_seen"]
        else:
            assert model["train_tokens"] == train["train_tokens"] and "train_flops" not in model
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
    report_again, _ = build_report(params, dirs["eval"], dirs["train"], dirs["live"], dirs["samples"], again,
                                   tmp_path / "reports" / "report.md")
    assert report_again == report
    for name in CHART_FILES:
        assert (again / name).read_bytes() == (dirs["plots"] / name).read_bytes(), name


def test_missing_model_output_names_the_model(built, tmp_path, capsys):
    params, dirs, _, _ = built
    spec = importlib.util.spec_from_file_location("stage_plot", REPO / "stages" / "plot.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    for f in dirs["eval"].iterdir():
        if f.name != "gru.json":
            (eval_dir / f.name).write_bytes(f.read_bytes())
    with pytest.raises(SystemExit):
        run_stage(stage.main, ["--params", str(REPO / "tests" / "tiny_params.yaml"), "--eval", str(eval_dir),
                               "--train", str(dirs["train"]), "--live", str(dirs["live"]),
                               "--samples", str(dirs["samples"]), "--plots", str(tmp_path / "plots"),
                               "--report", str(tmp_path / "report.md"), "--summary", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert re.fullmatch(r"error: model 'gru' is listed in params but its evaluation .*gru.json is missing: "
                        r"run `dvc repro evaluate@gru`\n", err)
    assert not (tmp_path / "report.md").exists() and not (tmp_path / "s.json").exists()
