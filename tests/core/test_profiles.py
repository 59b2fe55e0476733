"""Params profiles: `charlm profile gpu` prints overrides that DVC applies and the one schema accepts."""
from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest
import yaml

from charlm.params import ParamsError, load_params
from charlm.profiles import profile_args
from helpers import REPO, tool_env


@pytest.fixture
def repo_copy(tmp_path, monkeypatch):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(REPO / "profiles", tmp_path / "profiles")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_gpu_profile_applied_by_dvc_gives_valid_params(repo_copy):
    from dvc.utils.hydra import apply_overrides   # what `dvc exp run -S` itself calls

    args = profile_args("gpu")
    assert args[0::2] == ["-S"] * (len(args) // 2)
    apply_overrides(str(repo_copy / "params.yaml"), args[1::2])
    params = load_params(repo_copy / "params.yaml")
    profile = yaml.safe_load((repo_copy / "profiles" / "gpu.yaml").read_text())
    assert params.train.device == "cuda"
    assert params.models["lstm"].hidden_size == profile["models.lstm.hidden_size"]
    assert params.model_train("lstm").max_tokens == profile["train.max_tokens"]          # the comparison's budget
    assert params.model_train("champion").max_tokens == profile["models.champion.train.max_tokens"]
    assert params.model_train("transformer").num_steps == profile["models.transformer.train.num_steps"]
    assert params.data == load_params(REPO / "params.yaml").data   # untouched sections stay as they were


def test_the_quick_profile_applied_by_dvc_deletes_the_entries_it_names(repo_copy):
    from dvc.utils.hydra import apply_overrides

    args = profile_args("quick")
    deleted = {a[len("~ngram."):] for a in args[1::2] if a.startswith("~ngram.")}
    apply_overrides(str(repo_copy / "params.yaml"), args[1::2])
    params = load_params(repo_copy / "params.yaml")
    full = load_params(REPO / "params.yaml")
    assert deleted and set(params.ngram) == set(full.ngram) - deleted
    assert set(params.models) == set(full.models)   # every architecture still runs
    assert params.preprocess.test_fraction == 0.01


@pytest.mark.parametrize("line, message", [
    ("~ngram.kn9: null", r"profiles/bad.yaml: ~ngram.kn9: nothing to delete: no such key in params.yaml"),
    ("models.lstm.hidden_sise: 3", r"profiles/bad.yaml: models.lstm.hidden_sise: unknown key"),
    ("models.lstm.hidden_size: -3", r"profiles/bad.yaml: models.lstm.hidden_size: must be > 0, got -3"),
    ("modles.lstm.hidden_size: 3", r"profiles/bad.yaml: modles.lstm.hidden_size: no section modles in params.yaml"),
    ("models.transformer.train.num_steps: 512",
     r"profiles/bad.yaml: models.transformer.train.num_steps: must be <= context"),
    ("- just a list", r"profiles/bad.yaml: must be a mapping of dotted params keys to values"),
])
def test_a_bad_profile_names_the_file_and_key(repo_copy, line, message):
    (repo_copy / "profiles" / "bad.yaml").write_text(line + "\n")
    with pytest.raises(ParamsError, match=message):
        profile_args("bad")


def test_cli_prints_xargs_ready_words_and_fails_in_one_line(repo_copy):
    ok = subprocess.run(["charlm", "profile", "gpu"], cwd=repo_copy, env=tool_env(), capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert shlex.split(ok.stdout) == profile_args("gpu")
    bad = subprocess.run(["charlm", "profile", "tpu"], cwd=repo_copy, env=tool_env(), capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == ["error: profiles/tpu.yaml: no such profile (profiles: compare, gpu, quick)"]
