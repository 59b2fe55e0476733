"""dvc.yaml's top-level plots overlay every model in params, from files the trainer really writes."""
from __future__ import annotations

import yaml

from charlm.report.load import CURVE_FILES
from charlm.train.report import LIVE_METRICS
from helpers import REPO, TINY_PARAMS


def top_level_plots() -> dict[str, dict]:
    return {k: v for entry in yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"] for k, v in entry.items()}


def test_every_model_is_overlaid_in_every_chart():
    for params_file in (REPO / "params.yaml", TINY_PARAMS):
        models = set(yaml.safe_load(params_file.read_text())["models"])
        for plot_id, plot in top_level_plots().items():
            names = {path.split("/")[2] for path in plot["y"]}
            assert names == models, (params_file.name, plot_id)


def test_plotted_files_are_what_dvclive_writes():
    written = {f"{metric}.tsv": metric.rsplit("/", 1)[-1] for metric in LIVE_METRICS.values()}
    for plot in top_level_plots().values():
        for path, field in plot["y"].items():
            file = path.split("/plots/metrics/", 1)[1]
            assert written.get(file) == field, path
    for file, field in CURVE_FILES.values():
        assert written.get(file) == field, file
