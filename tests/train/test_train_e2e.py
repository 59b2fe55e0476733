"""End to end: `dvc repro` trains every architecture on the tiny profile, and each model is its own stage."""
from __future__ import annotations

import json

import pytest
import yaml

from charlm.params import ARCH_PARAMS
from helpers import TINY_PARAMS

MODELS = yaml.safe_load(TINY_PARAMS.read_text())["models"]
TRAIN_STAGES = {f"train@{name}" for name in MODELS}


def test_the_tiny_profile_has_every_arch():
    # Otherwise "every arch" below would quietly mean "every arch the tiny profile happens to list".
    assert {model["arch"] for model in MODELS.values()} == set(ARCH_PARAMS)


@pytest.mark.e2e
def test_dvc_repro_trains_every_arch_and_one_edit_retrains_one(tiny_repo):
    tiny_repo.dvc("repro", "train")
    for name in MODELS:
        metrics = json.loads((tiny_repo.root / "metrics" / "train" / f"{name}.json").read_text())
        assert metrics["val.bpc"] > 0 and (tiny_repo.root / "models" / f"{name}.pt").is_file()
        # A finished run removes its resume checkpoint, so a later params change never meets a stale one.
        assert not (tiny_repo.root / "checkpoints" / f"{name}.resume.pt").exists()
    assert not TRAIN_STAGES & tiny_repo.stale_stages()
    before = {name: (tiny_repo.root / "models" / f"{name}.pt").read_bytes() for name in MODELS}

    tiny_repo.edit_params(**{"models.gru.hidden_size": 8})
    assert TRAIN_STAGES & tiny_repo.stale_stages() == {"train@gru"}
    tiny_repo.dvc("repro", "train")
    assert not TRAIN_STAGES & tiny_repo.stale_stages()
    after = {name: (tiny_repo.root / "models" / f"{name}.pt").read_bytes() for name in MODELS}
    assert {name for name in MODELS if after[name] != before[name]} == {"gru"}   # retrained, and only it
