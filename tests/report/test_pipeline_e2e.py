"""End to end on the tiny profile: the full pipeline, what an edit reruns, and what `dvc metrics diff` shows."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from charlm.report.draw.bits import BITS_FILES
from charlm.report.draw.charts import CHART_FILES
from helpers import MAX_COLUMNS, TinyRepo, metric_columns

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def repo(tiny_run, tmp_path_factory):
    """A copy of the session's finished tiny run (one full `dvc repro`, committed), git and DVC cache included:
    tests below edit it in this order. Copying saves CI a second full repro of the same params."""
    dest = tmp_path_factory.mktemp("pipeline") / "repo"
    shutil.copytree(tiny_run.root, dest, symlinks=True)
    return TinyRepo(dest)


def ran(proc) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", proc.stdout))


def test_full_repro_writes_every_model_and_is_up_to_date(repo):
    params = repo.params
    names = [*params["models"], *params["ngram"]]
    key = {**{n: n for n in params["models"]}, **{n: f"ngram/{n}" for n in params["ngram"]}}   # where its files are
    dynamic = set(params["evaluate"]["dynamic"]["models"])
    assert dynamic and params["mix"]   # the tiny profile runs dynamic evaluation and a mixture
    for name in names:
        metrics = json.loads((repo.root / "metrics" / "eval" / f"{key[name]}.json").read_text())
        assert metrics["test.bpc_ci_low"] <= metrics["test.bpc"] <= metrics["test.bpc_ci_high"], name
        assert ("backward.test.bpc" in metrics) == (name == "bilstm"), name
        assert ("dynamic.test.bpc" in metrics) == (name in dynamic), name
    for chart in CHART_FILES + BITS_FILES:
        assert (repo.root / "plots" / chart).stat().st_size > 0
    kept = set(params["evaluate"]["distributions"])
    for name in names:   # the per-token nll behind each model's numbers (a DVC output, not in git)
        splits = ["val", "test", *(["stream.val", "stream.test", "dynamic.val", "dynamic.test"] if name in dynamic else [])]
        if name in kept:   # and the full distributions they were read from
            splits += [f"{mode}logp.{s}" for mode in ("", *(["dynamic."] if name in dynamic else [])) for s in ("val", "test")]
        assert {p.name for p in (repo.root / "data" / "scores" / key[name]).iterdir()} == {f"{s}.npy" for s in splits}, name
    for name in params["models"]:   # the seed repeats, trained by train@<name> and scored by evaluate@<name>
        runs = json.loads((repo.root / "metrics" / "eval" / "seeds" / f"{name}.json").read_text())
        seeds = params["compare"]["seeds"] if name in params["compare"]["models"] else []
        assert sorted(runs) == sorted(f"{name}-s{s}" for s in seeds), name
        assert sorted(p.name for p in (repo.root / "models" / "seeds" / name).iterdir()) == sorted(
            ["repeats.json", *(f"{r}.pt" for r in runs)])   # train@'s index of them: {} outside compare.models
        assert all((repo.root / "data" / "scores" / "seeds" / name / r / "test.npy").is_file() for r in runs)
    cm = json.loads((repo.root / "metrics" / "eval" / "cm.json").read_text())   # the context mixer
    assert cm["test.bpc_ci_low"] <= cm["test.bpc"] <= cm["test.bpc_ci_high"]
    assert {k.split(".val.")[0] for k in cm if k.startswith("ablation.")} == {
        f"ablation.{c}" for c in ("orders", "words", "match", "sse", *params["cm"]["members"])}
    assert {p.name for p in (repo.root / "data" / "mix" / "cm").iterdir()} == {"val.npy", "test.npy"}
    for name, mix in params["mix"].items():   # mix@<name>: weights per component, and the mixture's nll
        metrics = json.loads((repo.root / "metrics" / "eval" / f"{name}.json").read_text())
        components = [*mix["members"], *(["cache"] if mix["cache_order"] > 0 else [])]
        assert sorted(k for k in metrics if k.startswith("weight.")) == sorted(f"weight.{c}" for c in components)
        assert metrics["test.bpc_ci_low"] <= metrics["test.bpc"] <= metrics["test.bpc_ci_high"], name
        assert {p.name for p in (repo.root / "data" / "mix" / name).iterdir()} == {"val.npy", "test.npy"}, name
    # The zpaq stage measures the anchor, or writes a skipped note where zpaq is not installed.
    anchor = json.loads((repo.root / "metrics" / "anchor" / "zpaq.json").read_text())
    if shutil.which("zpaq"):
        assert anchor["method"] == params["zpaq"]["methods"][0] and anchor["test.bpc"] > 0, anchor
    else:
        assert set(anchor) == {"skipped"}, anchor
    report = (repo.root / "reports" / "report.md").read_text()
    assert all(f"| `{name}` |" in report for name in [*names, *params["mix"], "cm"])
    assert "## The context mixer" in report and "**Ablation on val**" in report
    assert "## Where the bits go" in report and "### The largest gains" in report
    assert "## Dynamic evaluation" in report and "## The compressor anchor" in report
    page = (repo.root / "reports" / "bits_passage.html").read_text()
    assert "<h2>Book 101</h2>" in page and "<h2>Book 102</h2>" in page   # the first and the middle book
    assert not re.search(r"https?://|src=|<script", page)
    summary = json.loads((repo.root / "metrics" / "summary.json").read_text())
    assert sorted(m["rank"] for m in summary["models"].values()) == list(range(1, len(names) + 1))
    assert set(summary["entries"]) == {*names, *(f"{m}.dynamic" for m in dynamic), *params["mix"], "cm",
                                       *(["zpaq"] if "test.bpc" in anchor else [])}
    assert repo.stale_stages() == set()


def test_dvc_lists_the_headline_columns_only(repo):
    # Issue 21 item 5: each key a column of `dvc exp show`, so only the headline numbers are DVC metrics.
    columns = metric_columns(repo.root)
    assert set(columns) == {"metrics/headline.json", "metrics/time.json"}
    assert sum(map(len, columns.values())) <= MAX_COLUMNS
    entries = {*repo.params["models"], *repo.params["ngram"], *repo.params["mix"]}
    assert {f"{e}.test.bpc" for e in entries} <= set(columns["metrics/headline.json"])
    assert set(columns["metrics/time.json"]) == {f"{m}.wall_time_s" for m in repo.params["models"]}


def test_dvc_plots_overlay_every_architecture(repo):
    shown = json.loads(repo.dvc("plots", "show", "--json").stdout)["data"]
    for plot_id in ("val_bpc", "train_loss"):
        values = shown[plot_id][0]["content"]["data"]["values"]
        assert {v["filename"].split("/")[0] for v in values} == set(repo.params["models"]), plot_id
    assert {f"plots/{chart}" for chart in CHART_FILES} <= set(shown)


def test_forced_rerun_of_ngrams_mixes_zpaq_and_plot_changes_no_tracked_output(repo):
    """Issue 6 for the stages without training: fit and compression times go to metrics/runtime (not a DVC
    output), so a rerun from scratch (no run cache) writes the same bytes for every model, mixture, metric,
    chart and report."""
    stages = {"ngram", *(f"mix@{name}" for name in repo.params["mix"]), "cm", "zpaq", "report"}
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
        # ngram fits in seconds and scores in the same stage, so it reruns
        assert not {s for s in stale if s.startswith(("train@", "mix@", "zpaq"))}
        assert {f"evaluate@{m}" for m in original["models"]} | {"ngram"} <= stale
    finally:
        repo.set_params(original)
    assert repo.stale_stages() == set()


def test_editing_dynamic_evaluation_a_mixture_or_the_kernels_reruns_only_what_reads_it(repo):
    """evaluate.dynamic is a param of the neural models' evaluate@ stages (which score the seed repeats too) and of
    the report, not of ngram (it never scores an n-gram) nor of train@; mix.<name> only of mix@<name> and the report;
    runtime.kernels of every stage that computes with floats."""
    original = repo.params
    name = next(iter(original["mix"]))
    try:
        repo.edit_params(**{"evaluate.dynamic.lr": original["evaluate"]["dynamic"]["lr"] / 2})
        assert repo.stale_stages() == {*(f"evaluate@{m}" for m in original["models"]), "report"}
        repo.set_params(original)
        repo.edit_params(**{f"mix.{name}.cache_order": original["mix"][name]["cache_order"] + 1})
        assert repo.stale_stages() == {f"mix@{name}", "report"}
        repo.set_params(original)
        # The CPU kernels are a param of every stage that computes with floats (numpy or torch), and of no
        # stage that only moves text and integers.
        repo.edit_params(**{"runtime.kernels": "native"})
        stale = repo.stale_stages()
        assert {s.split("@")[0] for s in stale} == {"train", "evaluate", "ngram", "mix", "cm", "report"}
        assert {f"train@{m}" for m in original["models"]} | {"ngram"} <= stale
    finally:
        repo.set_params(original)
    assert repo.stale_stages() == set()


def test_editing_one_model_reruns_and_changes_only_that_model(repo):
    assert "gru" in repo.params["compare"]["models"] and repo.params["compare"]["seeds"] == [1]
    repo.edit_params(**{"models.gru.hidden_size": 8})
    # evaluate@gru follows once its model changes
    assert repo.stale_stages() == {"train@gru", "report"}    # train@gru trains its repeat at seed 1 too
    # mix@<name> and cm depend on all of data/scores (dvc.yaml cannot list their members), so they rerun once
    # evaluate@gru rewrites data/scores/gru, and write the same numbers (gru is a member of neither: below).
    assert ran(repo.dvc("repro")) == {"train@gru", "evaluate@gru",
                                      *(f"mix@{m}" for m in repo.params["mix"]), "cm", "report", "headline"}

    diff = json.loads(repo.dvc("metrics", "diff", "--json").stdout)
    changed = {path: set(keys) for path, keys in diff.get("diff", diff).items() if keys}
    # metrics/time.json: the measured time of the rerun (shown, never tracked by DVC).
    assert set(changed) <= {"metrics/headline.json", "metrics/time.json"}
    assert {"gru.test.bpc", "gru.val.bpc"} <= changed["metrics/headline.json"]
    # No other model's numbers change (gru is in no mixture).
    assert all(k.startswith("gru.") for keys in changed.values() for k in keys), changed
    print(repo.dvc("metrics", "diff", "--md").stdout)   # the README's excerpt
