"""The plot stage: every model in params is in the table and report, charts exist, reruns are byte-identical."""
from __future__ import annotations

import importlib.util
import json
import re

import pytest

from charlm.errors import CharlmError
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


def test_summary_ranks_every_model(built):
    params, _, report, summary = built
    names = [*params.models, *params.ngram]
    assert sorted(summary["models"]) == sorted(names)
    ranks = {n: m["rank"] for n, m in summary["models"].items()}
    assert sorted(ranks.values()) == list(range(1, len(names) + 1))
    by_rank = sorted(summary["models"].values(), key=lambda m: m["rank"])
    assert [m["test.bpc"] for m in by_rank] == sorted(m["test.bpc"] for m in by_rank)
    assert summary["best"] == {"neural.test.bpc": min(summary["models"][n]["test.bpc"] for n in params.models),
                               "ngram.test.bpc": min(summary["models"][n]["test.bpc"] for n in params.ngram)}
    # n-grams report their fitting time, and training tokens counted per second (fake_results: 1000/s).
    assert summary["models"]["kn4"]["tokens_per_s"] == pytest.approx(1000.0)
    json.dumps(summary)   # plain JSON types only


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
