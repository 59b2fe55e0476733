"""End to end: `dvc repro` trains all five architectures on the tiny profile, and each is its own stage."""
from __future__ import annotations

import json
import time

import pytest

TRAIN_STAGES = {f"train@{name}" for name in ("rnn", "gru", "lstm", "deep_lstm", "bilstm")}


@pytest.mark.e2e
def test_dvc_repro_trains_every_arch_and_one_edit_retrains_one(tiny_repo):
    start = time.perf_counter()
    tiny_repo.dvc("repro", "train")
    elapsed = time.perf_counter() - start
    for stage in TRAIN_STAGES:
        name = stage.split("@")[1]
        metrics = json.loads((tiny_repo.root / "metrics" / "train" / f"{name}.json").read_text())
        assert metrics["best_val_bpc"] > 0 and (tiny_repo.root / "models" / f"{name}.pt").is_file()
        # A finished run removes its resume checkpoint, so a later params change never meets a stale one.
        assert not (tiny_repo.root / "checkpoints" / f"{name}.resume.pt").exists()
    assert not TRAIN_STAGES & tiny_repo.stale_stages()
    assert elapsed < 60, f"five tiny train stages (plus the data stages) took {elapsed:.0f} s"

    tiny_repo.edit_params(**{"models.gru.hidden_size": 8})
    assert TRAIN_STAGES & tiny_repo.stale_stages() == {"train@gru"}
    tiny_repo.dvc("repro", "train")
    assert not TRAIN_STAGES & tiny_repo.stale_stages()
