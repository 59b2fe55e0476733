"""Train on your own text, as docs/data.md says: a folder of arbitrarily named .txt files, `charlm books`, one
`dvc exp run`. Real dvc on the tiny profile, every kind of stage run through to the report."""
from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from helpers import TINY_PARAMS, copy_project, hermetic_env, stage_lines, synthetic_text

pytestmark = pytest.mark.e2e


def test_a_folder_of_txt_files_is_a_corpus_in_one_command(tmp_path):
    repo = copy_project(tmp_path / "repo")
    params = yaml.safe_load(TINY_PARAMS.read_text())
    # One neural model and one n-gram, the members of the tiny mix (champion.dynamic, kn4): every kind of
    # stage still runs (dynamic evaluation, the mixture and the zpaq anchor too), in well under a minute.
    params["models"] = {"champion": params["models"]["champion"]}
    params["ngram"] = {"kn4": params["ngram"]["kn4"]}
    params["compare"] = {"models": [], "seeds": []}   # no architecture comparison, so no repeats
    params["data"]["verify"] = "strict"   # the printed pins must match the files, or fetch fails
    repo.set_params(params)
    repo.run("git", "add", "-A")
    repo.run("git", "commit", "-q", "-m", "project")
    texts = {"shakespeare": synthetic_text(3000, seed=1), "my_letters": synthetic_text(2500, seed=2)}
    (repo.root / "my_texts").mkdir()
    for name, text in texts.items():
        (repo.root / "my_texts" / f"{name}.txt").write_text(text)

    proc = subprocess.run(["bash", "-c", "charlm books my_texts | xargs -r dvc exp run"], cwd=repo.root,
                          env=hermetic_env(repo), capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    expected = {"code", "fetch", "preprocess", "build_vocab", "encode", "train@champion", "evaluate@champion", "ngram",
                *(f"mix@{name}" for name in params["mix"]), "cm", "zpaq", "report", "headline"}
    assert stage_lines(out, "Running stage") == expected, out
    assert "warning" not in out, out

    assert [book["id"] for book in repo.params["data"]["books"]] == ["my_letters", "shakespeare"]
    for name, text in texts.items():
        assert (repo.root / "data" / "raw" / f"{name}.txt").read_text() == text
    per_book = json.loads((repo.root / "metrics" / "data.json").read_text())["per_book"]
    assert set(per_book) == set(texts) and all(book["pinned"] for book in per_book.values())
    for model in ("champion", "ngram/kn4", *params["mix"]):   # the stage ngram writes under ngram/
        scores = json.loads((repo.root / "metrics" / "eval" / f"{model}.json").read_text())
        assert all(scores[f"test.book.{name}.bpc"] > 0 for name in texts), model
    report = (repo.root / "reports" / "report.md").read_text()
    assert "*My letters*" in report and "*Shakespeare*" in report   # the easiest and the hardest book
