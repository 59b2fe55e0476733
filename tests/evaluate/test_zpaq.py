"""The zpaq anchor: the real zpaq on small texts, its skip path without zpaq, and its errors from fake zpaqs."""
from __future__ import annotations

import importlib.util
import random
import stat
import sys
from pathlib import Path

import pytest

from charlm.errors import CharlmError
from charlm.evaluate.zpaq import SKIPPED, anchor_metrics, block_method, find_zpaq, run_anchor
from charlm.io import read_json
from charlm.stage import run_stage
from helpers import REPO, TINY_PARAMS

_spec = importlib.util.spec_from_file_location("stage_zpaq", REPO / "stages" / "zpaq.py")
zpaq_stage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zpaq_stage)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fake zpaqs are shell scripts")

BANNER = "zpaq v7.15 journaling archiver, compiled Jan  5 2021"


def require_zpaq() -> str:
    """The zpaq on PATH, or skip, even under CI=true (unlike helpers.skip_unless): zpaq is a system program
    that `make setup` installs only where it may (root or passwordless sudo), and a machine without it runs
    the pipeline with the stage's `skipped` note, which the tests below cover with zpaq hidden from PATH."""
    exe = find_zpaq()
    if exe is None:
        pytest.skip("zpaq is not on PATH (apt-get install zpaq)")
    return exe


def words(n: int, seed: int, vocab_size: int = 300) -> str:
    """Cleaned-looking text: lowercase words and single spaces."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choice("etaoinshrdlu") for _ in range(rng.randint(2, 8))) for _ in range(vocab_size)]
    return " ".join(rng.choice(vocab) for _ in range(n))


def letters(n: int, seed: int) -> str:
    """Text no model can predict: uniform over 27 symbols, log2(27) = 4.75 bits each."""
    rng = random.Random(seed)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(n))


def write_interim(folder: Path, texts: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, text in texts.items():
        (folder / f"{split}.txt").write_text(text, encoding="utf-8")
    return folder


def fake_zpaq(folder: Path, script: str) -> Path:
    """A shell script named zpaq in `folder`, which becomes the only directory on PATH."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "zpaq"
    exe.write_text("#!/bin/sh\n" + script)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


# ----------------------------------------------------------------------------------- real zpaq
@pytest.mark.parametrize("method", [1, 5])
def test_a_split_repeating_train_is_nearly_free_and_random_letters_are_not(method, tmp_path):
    exe = require_zpaq()
    train = words(6000, seed=0)
    metrics, _ = run_anchor(exe, {"train": train, "val": train, "test": letters(20000, seed=1)}, method, tmp_path)
    # Given train, a copy of it costs a few pointers; letters drawn uniformly cost >= 4.75 bits each.
    assert metrics["val.bpc"] < 0.3, metrics
    assert metrics["test.bpc"] > 4.5, metrics
    assert metrics["val.chars"] == len(train) and metrics["test.chars"] == 20000
    assert metrics["method"] == method and metrics["version"].startswith("7.")
    assert list(tmp_path.iterdir()) == []   # the scratch archives are gone


def test_the_split_is_coded_given_train(tmp_path):
    exe = require_zpaq()
    text = words(12000, seed=2, vocab_size=3000)   # many words: knowing them from train saves most
    half = len(text) // 2
    split = {"val": text[half:], "test": text[half:]}
    related, _ = run_anchor(exe, {"train": text[:half], **split}, 5, tmp_path)
    unrelated, _ = run_anchor(exe, {"train": letters(half, seed=3), **split}, 5, tmp_path)
    # Train's words, already learned, make the rest of the text cheaper than after train of random letters
    # (measured: 2.07 against 2.80 bpc). Coding the split on its own, without train, would score the same in both.
    assert related["val.bpc"] < unrelated["val.bpc"] - 0.4, (related, unrelated)


def test_the_stage_writes_identical_metrics_twice_and_its_timings_apart(tmp_path):
    require_zpaq()
    interim = write_interim(tmp_path / "interim", {"train": words(4000, 3), "val": words(800, 4),
                                                   "test": words(800, 5)})
    outputs = []
    for run in ("a", "b"):
        metrics, runtime = tmp_path / run / "zpaq.json", tmp_path / run / "runtime.json"
        zpaq_stage.main(["--params", str(TINY_PARAMS), "--interim", str(interim), "--metrics", str(metrics),
                         "--runtime", str(runtime)])
        outputs.append((metrics.read_bytes(), read_json(runtime)))
    (first, runtime), (second, _) = outputs
    assert first == second
    assert set(read_json(tmp_path / "a" / "zpaq.json")) == {
        "method", "version", "train.bytes_compressed", "train.chars", "val.bpc", "val.bytes_compressed",
        "val.chars", "test.bpc", "test.bytes_compressed", "test.chars"}
    assert set(runtime) == {"wall_time_s", "train.compress_s", "val.compress_s", "test.compress_s"}
    assert runtime["wall_time_s"] > 0


# ------------------------------------------------------------------------- without a real zpaq
def test_without_zpaq_on_path_the_stage_writes_the_skip_note_and_succeeds(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    interim = write_interim(tmp_path / "interim", {"train": "a b", "val": "a", "test": "b"})
    metrics, runtime = tmp_path / "out" / "zpaq.json", tmp_path / "out" / "runtime.json"
    zpaq_stage.main(["--params", str(TINY_PARAMS), "--interim", str(interim), "--metrics", str(metrics),
                     "--runtime", str(runtime)])
    assert read_json(metrics) == SKIPPED
    assert "apt-get install zpaq" in SKIPPED["skipped"]
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "zpaq not found on PATH" in err
    assert not runtime.exists()


def test_a_failing_zpaq_is_an_error_with_its_message(tmp_path, monkeypatch, capsys):
    # Like zpaq 7.15: banner and usage (exit 1) without arguments; on failure the message, then a timing line.
    fake_zpaq(tmp_path / "bin", f'[ $# -eq 0 ] && {{ echo "{BANNER}"; exit 1; }}\n'
                                'echo "zpaq error: disk on fire" >&2\necho "0.000 seconds (with errors)" >&2\nexit 2\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    interim = write_interim(tmp_path / "interim", {"train": "a b", "val": "a", "test": "b"})
    with pytest.raises(SystemExit) as exit_:
        run_stage(zpaq_stage.main, ["--params", str(TINY_PARAMS), "--interim", str(interim),
                                    "--metrics", str(tmp_path / "m.json"), "--runtime", str(tmp_path / "r.json")])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "exited 2: zpaq error: disk on fire" in err
    assert not (tmp_path / "m.json").exists()


def test_a_program_without_the_zpaq_banner_is_refused(tmp_path):
    exe = fake_zpaq(tmp_path / "bin", 'echo "hello"\n')
    with pytest.raises(CharlmError, match="not zpaq"):
        run_anchor(str(exe), {"train": "a", "val": "b", "test": "c"}, 1, tmp_path)


def test_a_text_split_over_two_blocks_is_refused(tmp_path):
    # A zpaq that archives the file but reports two compressed blocks: the split would not be coded given train.
    exe = fake_zpaq(tmp_path / "bin", f'[ $# -eq 0 ] && {{ echo "{BANNER}"; exit 1; }}\n'
                                      'echo x > "$2"\necho "[1..3] 100 -method 14,234,1"\n'
                                      'echo "[4..5] 100 -method 14,234,1"\n')
    with pytest.raises(CharlmError, match="into 2 blocks, not 1"):
        run_anchor(str(exe), {"train": "a", "val": "b", "test": "c"}, 1, tmp_path)


def test_block_size_is_zpaqs_default_unless_the_text_needs_more():
    mib = 1 << 20
    assert block_method(5, 5 * mib) == "56"     # -m5's own 64 MiB
    assert block_method(1, 5 * mib) == "14"     # -m1's own 16 MiB
    assert block_method(1, 16 * mib) == "15"    # 16 MiB and zpaq's margin do not fit in 16 MiB
    assert block_method(5, 100 * mib) == "57"
    assert block_method(3, 4000 * mib) == "311"   # zpaq's largest block, 2 GiB


def test_bpc_is_the_extra_archive_bytes_over_the_split_characters():
    texts = {"train": "x" * 50, "val": "y" * 400, "test": "z" * 300}
    metrics = anchor_metrics({"train": 1000, "val": 1100, "test": 1090}, texts, 5, "7.15")
    assert metrics["val.bpc"] == 2.0 and metrics["val.bytes_compressed"] == 100
    assert metrics["test.bpc"] == 2.4 and metrics["test.chars"] == 300
    assert metrics["train.bytes_compressed"] == 1000 and metrics["train.chars"] == 50
