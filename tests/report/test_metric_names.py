"""docs/metrics.md lists every key that a writer puts in a metrics file, and no key that none writes."""
from __future__ import annotations

import math
import re
import shutil
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest

from charlm.data.corpus import preprocess_books
from charlm.data.vocab import count_tokens, vocab_metrics
from charlm.evaluate.run import evaluation_runtime
from charlm.evaluate.anchor import Candidate, anchor_metrics, anchor_runtime
from charlm.evaluate.zpaq import SKIPPED
from charlm.headline import headline, read_entries, read_folder, read_repeats, train_times
from charlm.io import read_json
from charlm.mix.run import mix_model
from charlm.ngram.run import train_ngram
from charlm.params import load_params
from charlm.report.compare import compare
from charlm.report.load import load
from charlm.report.render.summary import summary
from charlm.train.distributed import Dist
from charlm.train.run import runtime_log, train_metrics
from fake_results import fake_params, report_paths, write_fake_results
from helpers import REPO, TINY_BOOKS, TINY_PARAMS, build_vocab

PLACEHOLDERS = {"<split>": "(val|test)", "<id>": r"\d+", "<k>": r"\d+", "<model>": r"[\w-]+",
                "<entry>": r"[\w-]+(\.dynamic)?"}


def documented() -> dict[str, list[str]]:
    """{a table row group's first file: [regex of each key documented for it]} from docs/metrics.md."""
    keys: dict[str, list[str]] = {}
    plain: dict[str, list[str]] = {}   # the keys of rows that are not themselves `<prefix>.<any key above>`
    file = None
    for line in (REPO / "docs" / "metrics.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("| "):
            continue
        file_cell, key_cell = line.strip("|").split("|")[:2]
        if "`" in file_cell:
            file = re.search(r"`([^`]+)`", file_cell)[1]
        names = re.findall(r"`([^`]+)`", key_cell)
        if not names:   # the header row
            continue
        # `.x` after `models.<model>.a` is short for `models.<model>.x`; `backward.<any key above>` (or
        # `dynamic.`) repeats the unprefixed keys above it.
        stem = names[0][:names[0].rfind(">") + 1]
        for name in names:
            if name.endswith(".<any key above>"):
                prefix = re.escape(name[:-len("<any key above>")])
                keys[file] += [prefix + pattern for pattern in plain[file]]
                continue
            pattern = re.escape(stem + name if name.startswith(".") else name)
            for placeholder, regex in PLACEHOLDERS.items():
                pattern = pattern.replace(re.escape(placeholder), regex)
            keys.setdefault(file, []).append(pattern)
            plain.setdefault(file, []).append(pattern)
    return keys


def flat_keys(metrics: dict, prefix: str = "") -> set[str]:
    """Dotted keys as `dvc metrics show` prints them: nested dicts joined with dots, lists kept whole."""
    out = set()
    for key, value in metrics.items():
        out |= flat_keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return out


def fake_position(directions: tuple[str, ...]) -> SimpleNamespace:
    """What train_metrics and runtime_log read of the loop's Position: a run with two evaluations."""
    nats = {d: 2.0 + i / 10 for i, d in enumerate(directions)}
    rows = [{"step": step, "tokens": 512 * step, "epoch": 0, "lr": 0.01, "train_loss_nats": 2.2,
             **{f"val_bpc_{d}": n / math.log(2) for d, n in nats.items()},
             "val_nats": sum(nats.values()) / len(nats), "val_bpc": sum(nats.values()) / len(nats) / math.log(2),
             "tokens_per_s": 1000.0, "train_s": step / 2, "elapsed_s": step / 2 + 0.1} for step in (2, 4)]
    return SimpleNamespace(best=rows[0], history=rows, step=4, tokens=2048, stop_reason="max_tokens",
                           elapsed_s=2.1, train_s=2.0)


def mix_metrics(root, params, dirs) -> dict:
    """What mix@ writes for the profile's mixture (a dynamic member, an n-gram and the cache) over the fake
    scores; lstm's static scores stand in for its dynamic ones where the fakes have none."""
    scores = dirs["scores"]
    for split in ("val", "test"):
        dynamic = scores / "lstm" / f"dynamic.{split}.npy"
        if not dynamic.exists():
            shutil.copyfile(scores / "lstm" / f"{split}.npy", dynamic)
    processed = root / "data" / "processed"
    (name,) = params.mix
    return mix_model(name, params, scores, processed, dirs["interim"], processed / "vocab.json")[0]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, list[dict]]:
    """{file: [what its writers write]} for every metrics file, from the writers themselves."""
    root = tmp_path_factory.mktemp("names")
    params = fake_params()
    dirs = write_fake_results(root, params)
    collected = compare(params, load(params, report_paths(dirs)))
    positions = [fake_position(("forward",)), fake_position(("forward", "backward"))]
    tiny = load_params(TINY_PARAMS)
    ids = np.random.default_rng(0).integers(0, 6, 3000)
    ngrams = [train_ngram(tiny, name, 6, ids[:2500], ids[2500:]) for name in tiny.ngram]
    corpus = preprocess_books(TINY_BOOKS, tiny.data.books, tiny.preprocess)
    counts = {split: Counter(count_tokens(text, "char")) for split, text in corpus.texts.items()}
    return {
        "metrics/eval/<model>.json": [read_json(f) for f in sorted(dirs["eval"].rglob("*.json"))
                                      if f.parent.name != "seeds"]
                                     # metrics/eval/seeds/<model>.json: {<model>-s<seed>: the same keys}
                                     + [m for f in sorted((dirs["eval"] / "seeds").glob("*.json"))
                                        for m in read_json(f).values()]
                                     + [mix_metrics(root, params, dirs)],
        "metrics/train/<model>.json": [train_metrics(pos, 100, 1024) for pos in positions],
        "metrics/train/ngram/<model>.json": [fitted.metrics for fitted in ngrams],
        "metrics/summary.json": [summary(collected.static, collected.entries, collected.seeds)],
        "metrics/headline.json": [headline({**read_entries(dirs["eval"]), "mix": mix_metrics(root, params, dirs)},
                                           read_repeats(dirs["eval"] / "seeds"), read_folder(dirs["train"]),
                                           anchor) for anchor in (SKIPPED, {"test.bpc": 1.6, "val.bpc": 1.7})],
        "metrics/time.json": [train_times({"lstm": {}},
                                          {"lstm": runtime_log(positions[0], Dist(), "portable")})],
        "metrics/runtime/<model>.json": [runtime_log(pos, Dist(), "portable") for pos in positions]
                                        + [evaluation_runtime(12.3, "portable")]
                                        + [fitted.runtime for fitted in ngrams]
                                        + [anchor_runtime(3.0, {"candidates.0.train": 1.0, "candidates.0.val": 1.1,
                                                                "candidates.0.test": 1.2, "m5.train": 1.0, "m5.val": 1.1,
                                                                "m5.test": 1.2, "test.book.11": 1.3})],
        "metrics/anchor/zpaq.json": [SKIPPED, anchor_metrics(
            [Candidate("x6.0ci1", "x6.0ci1", 900, 1000, 990)], Candidate(5, "56,234,1", 950, 1060, 1045),
            {"train": "ab " * 9, "val": "abc", "test": "cab"}, "7.15", {11: (60, 2), 43: (30, 1)})],
        "metrics/data.json": [corpus.metrics],
        "metrics/vocab.json": [vocab_metrics(build_vocab(corpus.texts["train"], "char", 0), counts)],
    }


def test_the_fakes_cover_both_directions_and_every_smoothing_with_metrics(written):
    assert any("backward.test.bpc" in m for m in written["metrics/eval/<model>.json"])
    assert {m["smoothing"] for m in written["metrics/train/ngram/<model>.json"]} == {"additive", "kneser_ney"}


def test_every_written_key_is_documented(written):
    docs = documented()
    assert set(docs) == set(written)
    for file, outputs in written.items():
        keys = set().union(*map(flat_keys, outputs))
        undocumented = {k for k in keys if not any(re.fullmatch(p, k) for p in docs[file])}
        assert not undocumented, f"{file}: {sorted(undocumented)} are not in docs/metrics.md"


def test_every_documented_key_is_written(written):
    for file, patterns in documented().items():
        keys = set().union(*map(flat_keys, written[file]))
        unwritten = [p for p in patterns if not any(re.fullmatch(p, k) for k in keys)]
        assert not unwritten, f"{file}: docs/metrics.md lists {unwritten}, which no writer writes"
