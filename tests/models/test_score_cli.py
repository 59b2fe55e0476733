"""`charlm score`: any text under one model, cleaned as the pipeline cleans; the same numbers as the evaluate
stage on its test split; one clear line for each kind of bad input."""
from __future__ import annotations

import json
import math
import re

import pytest

from charlm.cli import main
from charlm.data.vocab import save_vocab
from charlm.params import PreprocessParams
from charlm.score import clean_text
from helpers import REPO, build_vocab
from modelkit import saved_model

PARAMS = str(REPO / "params.yaml")
LINE = re.compile(r"^(\S+) \(([^)]+)\): ([\d,]+) characters scored, ([\d.]+) bpc, "
                  r"perplexity ([\d.]+) per token$", re.MULTILINE)


def scored(capsys, *argv: str) -> dict:
    main(["score", *argv])
    name, how, chars, bpc, ppl = LINE.search(capsys.readouterr().out).groups()
    return {"name": name, "how": how, "chars": int(chars.replace(",", "")), "bpc": float(bpc), "ppl": float(ppl)}


def error_line(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["score", *argv])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture
def files(tmp_path):
    _, vocab = saved_model(tmp_path / "lstm.pt", "lstm", seed=1)
    save_vocab(vocab, tmp_path / "vocab.json")
    return ["--model", str(tmp_path / "lstm.pt"), "--vocab", str(tmp_path / "vocab.json"), "--params", PARAMS]


def test_cleaning_counts_what_it_changed_and_dropped():
    p = PreprocessParams(alphabet="abcdefghijklmnopqrstuvwxyz", lowercase=True, fold_accents=True,
                         val_fraction=0.1, test_fraction=0.1)
    out = clean_text("It was\n\n  Café—naïve! ", p, "x")
    assert out.text == "it was cafe naive"
    # I C (case); é ï (accents); \n \n — ! (outside the alphabet -> space); spaces are kept as they are
    assert out.changed == 2 + 2 + 4
    assert out.read - out.dropped == len(out.text)   # nothing expands here: what is left is the text
    assert clean_text("ﬁne day", p, "x").text == "fine day"   # a ligature expands: nothing counted as dropped
    assert clean_text("ﬁne day", p, "x").dropped == 0


def test_per_char_bits_and_the_page_add_up_to_the_printed_bpc(files, tmp_path, capsys):
    text = tmp_path / "letter.txt"
    text.write_text("A bad cafe,\nhe had a big BAD bag.  Fie!\n", encoding="utf-8")   # the vocab is a-i
    tsv, page = tmp_path / "bits.tsv", tmp_path / "bits.html"
    out = scored(capsys, *files, str(text), "--per-char", str(tsv), "--html", str(page))
    rows = [line.split("\t") for line in tsv.read_text().splitlines()[1:]]
    cleaned = "a bad cafe he had a big bad bag fie"
    assert "".join(r[1] for r in rows) == cleaned and [int(r[0]) for r in rows] == list(range(len(cleaned)))
    assert rows[0][2] == "" and out["chars"] == len(cleaned) - 1   # the first character has no context
    assert sum(float(r[2]) for r in rows[1:]) / out["chars"] == pytest.approx(out["bpc"], abs=1e-4)
    assert out["ppl"] == pytest.approx(2 ** out["bpc"], rel=1e-3)
    html = page.read_text()
    assert html.split('class="passage plain">')[1].count("<span") == len(cleaned)
    assert f"{out['bpc']:.4f} bits per character" in html and "<script" not in html


def test_standard_input_is_read_with_a_dash_and_unknown_tokens_are_counted(files, capsys, monkeypatch):
    import io
    import sys
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a bad cafe")))
    assert scored(capsys, *files, "-")["chars"] == len("a bad cafe") - 1
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a tab")))   # t: not in a-i
    main(["score", *files, "-"])
    assert "<unk> (not in the vocabulary): 1 of the scored tokens" in capsys.readouterr().out


@pytest.mark.parametrize("content, says", [
    (b"", "the text is empty"),
    (b"  \n\t\n", "the text is empty"),
    (b"1984 -- 2001! ???", "cleans to 0 characters"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a binary file"),
    ("café".encode("latin-1"), "not UTF-8 (byte 3"),
])
def test_bad_text_is_one_line_naming_the_file(files, tmp_path, capsys, content, says):
    path = tmp_path / "input.txt"
    path.write_bytes(content)
    err = error_line(capsys, *files, str(path))
    assert str(path) in err and says in err


def test_missing_files_and_a_mismatched_vocab_are_one_line(files, tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("the bad cafe")
    assert "no such file" in error_line(capsys, *files, str(tmp_path / "nope.txt"))
    model = files[1]
    assert "model file not found" in error_line(capsys, *files[:1], str(tmp_path / "nope.pt"), *files[2:], str(text))
    other = build_vocab("zyxw vut", "char", 0)
    save_vocab(other, tmp_path / "other.json")
    err = error_line(capsys, "--model", model, "--vocab", str(tmp_path / "other.json"), "--params", PARAMS, str(text))
    assert "different vocabulary" in err and model in err
    no_vocab = error_line(capsys, "--model", model, "--params", PARAMS, str(text))   # none beside the model
    assert "vocabulary not found" in no_vocab


@pytest.mark.e2e
def test_score_of_the_test_split_equals_the_evaluate_stage(tiny_run, capsys, monkeypatch):
    """The command reads test.txt as evaluate reads test.npy: the same bpc to 4 decimals, every way it scores."""
    monkeypatch.chdir(tiny_run.root)
    params = tiny_run.params
    metrics = lambda key: json.loads((tiny_run.root / "metrics" / "eval" / f"{key}.json").read_text())
    streams = str(params["evaluate"]["batch_size"])
    (dynamic,) = params["evaluate"]["dynamic"]["models"]
    kn = max((n for n, p in params["ngram"].items() if p["smoothing"] == "kneser_ney"),
             key=lambda n: params["ngram"][n]["order"])
    cases = [  # (model file, flags, metric key)
        (f"models/{dynamic}.pt", ["--streams", streams], "test.bpc"),
        (f"models/{dynamic}.pt", [], "stream.test.bpc"),            # one stream: every character sees all before it
        (f"models/{dynamic}.pt", ["--dynamic"], "dynamic.test.bpc"),
        ("models/transformer.pt", ["--streams", streams], "test.bpc"),
        (f"models/ngram/{kn}.npz", [], "test.bpc"),
        ("cm", [], "test.bpc"),   # the context mixer, rebuilt: train, then mixing fitted on val, then the text
    ]
    for model, flags, key in cases:
        expected = metrics(model.removeprefix("models/").split(".")[0])   # <name> or ngram/<name>
        out = scored(capsys, "--model", model, *flags, "data/interim/test.txt")
        assert out["chars"] == expected["test.chars"], (model, flags)
        assert round(out["bpc"], 4) == expected[key], (model, flags, key)
    with pytest.raises(SystemExit):
        main(["score", "--model", f"models/ngram/{kn}.npz", "--dynamic", "data/interim/test.txt"])
    assert "only neural models" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["score", "--model", "cm", "--streams", "2", "data/interim/test.txt"])
    assert "--model cm" in capsys.readouterr().err
    other = tiny_run.root / "other-vocab.json"
    other.write_text(json.dumps({**json.loads((tiny_run.root / "data/processed/vocab.json").read_text()),
                                 "tokens": ["<unk>", " ", "x"]}))
    try:
        with pytest.raises(SystemExit):
            main(["score", "--model", "cm", "--vocab", str(other), "data/interim/test.txt"])
        assert "--model cm reads the project's train split" in capsys.readouterr().err
    finally:
        other.unlink()
    assert math.isfinite(out["ppl"])
