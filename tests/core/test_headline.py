"""metrics/headline.json: the few columns DVC lists (issue 21, item 5). The real count is checked on the
committed files with real `dvc metrics show --json`; tests/report/test_pipeline_e2e.py checks a tiny run's."""
from __future__ import annotations

from charlm.headline import headline, train_times
from helpers import MAX_COLUMNS, REPO, metric_columns

def test_the_committed_metrics_are_a_few_headline_columns():
    columns = metric_columns(REPO)
    assert set(columns) == {"metrics/headline.json", "metrics/time.json"}, sorted(columns)
    count = sum(map(len, columns.values()))
    assert count <= MAX_COLUMNS, f"dvc metrics show lists {count} columns (at most {MAX_COLUMNS})"
    assert "champion.dynamic.test.bpc" in columns["metrics/headline.json"]


def scores(test: float, val: float, prefix: str = "") -> dict:
    return {f"{prefix}test.bpc": test, f"{prefix}val.bpc": val, f"{prefix}test.book.11.bpc": 9.0}


def test_headline_keeps_scores_tokens_and_seed_means_only():
    evals = {"lstm": {**scores(2.0, 2.1), **scores(1.9, 2.0, "dynamic."), "backward.test.bpc": 3.0},
             "kn4": scores(2.5, 2.6), "mix": {**scores(1.8, 1.85), "weight.kn4": 0.5}}
    repeats = {"lstm": {"lstm-s1": scores(2.2, 2.3), "lstm-s2": scores(2.3, 2.4)}}
    trains = {"lstm": {"train.tokens": 500, "val.bpc": 2.1}}     # metrics/train/<model>.json: neural models only
    assert headline(evals, repeats, trains, {"skipped": "zpaq is not installed"}) == {
        "kn4": {"test": {"bpc": 2.5}, "val": {"bpc": 2.6}},
        "lstm": {"test": {"bpc": 2.0}, "val": {"bpc": 2.1}, "train": {"tokens": 500},
                 "seeds": {"test": {"bpc": 2.1667}},
                 "dynamic": {"test": {"bpc": 1.9}, "val": {"bpc": 2.0}}},
        "mix": {"test": {"bpc": 1.8}, "val": {"bpc": 1.85}},
    }
    assert headline({}, {}, {}, scores(1.6, 1.7)) == {"zpaq": {"test": {"bpc": 1.6}, "val": {"bpc": 1.7}}}


def test_entries_and_repeats_are_read_where_their_stages_write_them(tmp_path):
    from charlm.headline import read_entries, read_repeats
    from charlm.io import write_json
    write_json(tmp_path / "lstm.json", scores(2.0, 2.1))
    write_json(tmp_path / "ngram" / "kn4.json", scores(2.5, 2.6))           # the stage ngram's folder
    write_json(tmp_path / "seeds" / "gru.json", {"gru-s1": scores(2.0, 2.1), "gru-s2": scores(2.2, 2.3)})
    write_json(tmp_path / "seeds" / "champion.json", {})                    # no repeats: not listed
    assert read_entries(tmp_path) == {"lstm": scores(2.0, 2.1), "kn4": scores(2.5, 2.6)}
    assert read_repeats(tmp_path / "seeds") == {"gru": {"gru-s1": scores(2.0, 2.1), "gru-s2": scores(2.2, 2.3)}}
    assert read_repeats(tmp_path / "missing") == {}


def test_time_is_each_neural_models_training_wall_time():
    trains = {"lstm": {}, "gru": {}}
    runtimes = {"lstm": {"wall_time_s": 8.2, "tokens_per_s": 1}, "evaluate-lstm": {"wall_time_s": 3.0},
                "ngram-kn4": {"wall_time_s": 1.0}}
    assert train_times(trains, runtimes) == {"lstm": {"wall_time_s": 8.2}}
