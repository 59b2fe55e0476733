"""The README's first command after installing, run exactly as written: `charlm profile quick | xargs -r dvc exp run`.

Real dvc, the real params.yaml, the ten books (from ../shared/data/novels instead of the network), every
stage run through to the report. Its wall time is measured by hand and quoted in the docs, never asserted.
"""
from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from helpers import copy_project, hermetic_env, require_shared_novels, stage_lines

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_quick_profile_runs_every_stage_on_the_ten_books(tmp_path):
    novels = require_shared_novels()
    repo = copy_project(tmp_path / "repo")
    repo.run("git", "add", "-A")
    repo.run("git", "commit", "-q", "-m", "project")
    command = f"charlm profile quick | xargs -r dvc exp run -S 'data.source={novels}'"
    proc = subprocess.run(["bash", "-c", command], cwd=repo.root, env=hermetic_env(repo), capture_output=True,
                          text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out

    params = yaml.safe_load((repo.root / "params.yaml").read_text())   # as the experiment left it
    profile = yaml.safe_load((repo.root / "profiles" / "quick.yaml").read_text())
    models, ngrams = list(params["models"]), list(params["ngram"])
    assert ngrams and not {k[len("~ngram."):] for k in profile if k.startswith("~ngram.")} & set(ngrams)
    expected = {"code", "fetch", "preprocess", "build_vocab", "encode", "report"}
    expected |= {f"train@{m}" for m in models} | {f"evaluate@{m}" for m in models}
    expected |= {"ngram"} | {f"mix@{m}" for m in params["mix"]} | {"cm", "zpaq", "headline"}
    # The profile keeps repeats (trained in train@, scored in evaluate@), so the report's seed table runs too.
    assert params["compare"]["models"] and params["compare"]["seeds"]
    for name in params["compare"]["models"]:
        assert json.loads((repo.root / "metrics" / "eval" / "seeds" / f"{name}.json").read_text())
    assert stage_lines(out, "Running stage") == expected, out
    assert "warning" not in out, out   # the shared copies are the pinned editions

    # The profile's budgets were applied (the shared one, or a model's own), and every entry reached the report.
    assert params["train"]["budget_scale"] == 1   # so the profile's budgets are the budgets
    for name in models:
        train = json.loads((repo.root / "metrics" / "train" / f"{name}.json").read_text())
        budget = profile.get(f"models.{name}.train.max_tokens", profile["train.max_tokens"])
        assert 0.9 * budget < train["train.tokens"] <= budget, name   # stops before a batch would pass it
    report = (repo.root / "reports" / "report.md").read_text()
    for name in models + ngrams + list(params["mix"]):
        assert f"| `{name}` |" in report, name
    assert "| `cm` |" in report
    anchor = json.loads((repo.root / "metrics" / "anchor" / "zpaq.json").read_text())
    assert "skipped" in anchor or anchor["method"] == profile["zpaq.methods"][0], anchor
    data = json.loads((repo.root / "metrics" / "data.json").read_text())
    assert data["books"] == 10 and all(book["pinned"] for book in data["per_book"].values())
