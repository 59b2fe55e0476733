"""End to end on the tiny profile: the full pipeline, what an edit reruns, and what `dvc metrics diff` shows."""
from __future__ import annotations

import json
import re

import pytest

from charlm.report.bits_charts import BITS_FILES
from charlm.report.charts import CHART_FILES
from helpers import TINY_BOOKS, make_tiny_repo, serve_books

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A tiny repo after one full `dvc repro`, committed; tests below edit it in this order."""
    server = serve_books(TINY_BOOKS)
    try:
        tiny = make_tiny_repo(tmp_path_factory.mktemp("pipeline") / "repo", f"{server.url}/{{id}}.txt",
                              books=TINY_BOOKS)
        tiny.dvc("repro")
        tiny.run("git", "add", "-A")
        tiny.run("git", "commit", "-q", "-m", "first run")
        yield tiny
    finally:
        server.stop()


def ran(proc) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", proc.stdout))


def test_full_repro_writes_every_model_and_is_up_to_date(repo):
    params = repo.params
    names = [*params["models"], *params["ngram"]]
    for name in names:
        metrics = json.loads((repo.root / "metrics" / "eval" / f"{name}.json").read_text())
        assert metrics["test.bpc_ci_low"] <= metrics["test.bpc"] <= metrics["test.bpc_ci_high"], name
        assert ("backward.test.bpc" in metrics) == (name == "bilstm"), name
    for chart in CHART_FILES + BITS_FILES:
        assert (repo.root / "plots" / chart).stat().st_size > 0
    for name in names:   # the per-token nll behind each model's numbers (a DVC output, not in git)
        assert {p.name for p in (repo.root / "data" / "scores" / name).iterdir()} == {"val.npy", "test.npy"}, name
    report = (repo.root / "reports" / "report.md").read_text()
    assert all(f"| `{name}` |" in report for name in names)
    assert "## Where the bits go" in report and "### The largest gains" in report
    page = (repo.root / "reports" / "bits_passage.html").read_text()
    assert "<h2>Book 101</h2>" in page and "<h2>Book 102</h2>" in page   # the first and the middle book
    assert not re.search(r"https?://|src=|<script", page)
    summary = json.loads((repo.root / "metrics" / "summary.json").read_text())
    assert sorted(m["rank"] for m in summary["models"].values()) == list(range(1, len(names) + 1))
    assert repo.stale_stages() == set()


def test_dvc_plots_overlay_every_architecture(repo):
    shown = json.loads(repo.dvc("plots", "show", "--json").stdout)["data"]
    for plot_id in ("val_bpc", "train_loss"):
        values = shown[plot_id][0]["content"]["data"]["values"]
        assert {v["filename"].split("/")[0] for v in values} == set(repo.params["models"]), plot_id
    assert {f"plots/{chart}" for chart in CHART_FILES} <= set(shown)


def test_forced_rerun_of_ngrams_and_plot_changes_no_tracked_output(repo):
    """Issue 6 for the stages without training: fit times go to metrics/runtime (not a DVC output), so a
    rerun from scratch (no run cache) writes the same bytes for every model, metric, chart and report."""
    stages = {*(f"ngram@{name}" for name in repo.params["ngram"]), "plot"}
    lock = (repo.root / "dvc.lock").read_text()
    assert ran(repo.dvc("repro", "--force", "--single-item", *sorted(stages))) == stages
    assert (repo.root / "dvc.lock").read_text() == lock   # every output's md5 is unchanged
    # Committed outputs (cache: false) show as modified files; untracked ones (dvc_plots/ from `dvc plots
    # show` above) are not this stage's.
    changed = repo.run("git", "diff", "--name-only").stdout.split()
    assert all(path.startswith("metrics/runtime/") for path in changed), changed
    if changed:
        repo.run("git", "checkout", "-q", "--", "metrics/runtime")   # leave the tree as committed
    assert repo.stale_stages() == set()


def test_editing_prefixes_reruns_no_training(repo):
    original = repo.params
    repo.edit_params(**{"evaluate.prefixes": ["alice was"]})
    try:
        stale = repo.stale_stages()
        assert not {s for s in stale if s.startswith(("train@", "ngram@"))}
        assert {f"evaluate@{m}" for m in original["models"]} <= stale
        assert {f"evaluate_ngram@{m}" for m in original["ngram"]} <= stale
    finally:
        repo.set_params(original)
    assert repo.stale_stages() == set()


def test_editing_one_model_reruns_and_changes_only_that_model(repo):
    repo.edit_params(**{"models.gru.hidden_size": 8})
    assert repo.stale_stages() == {"train@gru", "plot"}   # evaluate@gru follows once its model changes
    assert ran(repo.dvc("repro")) == {"train@gru", "evaluate@gru", "plot"}

    diff = json.loads(repo.dvc("metrics", "diff", "--json").stdout)
    changed = {path: set(keys) for path, keys in diff.get("diff", diff).items() if keys}
    # metrics/runtime/gru.json is the retrained model's measured speed (shown, never tracked by DVC).
    assert set(changed) <= {"metrics/eval/gru.json", "metrics/train/gru.json", "metrics/summary.json",
                            "metrics/runtime/gru.json"}
    assert "test.bpc" in changed["metrics/eval/gru.json"]
    # The summary may re-rank others, but no other model's numbers change.
    assert all(k.startswith(("models.gru.", "best.")) or k.endswith(".rank") for k in changed["metrics/summary.json"])
