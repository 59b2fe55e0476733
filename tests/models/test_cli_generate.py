"""`charlm generate`: as a function and as the console command; clear errors for bad prefixes/flags."""
from __future__ import annotations

import re

import pytest

from charlm.cli import generate, main
from charlm.data.vocab import load_vocab, save_vocab
from charlm.lm import load_lm

from modelkit import saved_model


@pytest.fixture
def files(tmp_path):
    _, vocab = saved_model(tmp_path / "lstm.pt", "lstm", seed=1)
    save_vocab(vocab, tmp_path / "vocab.json")
    return tmp_path / "lstm.pt", tmp_path / "vocab.json"


def test_generate_continues_the_prefix_reproducibly(files):
    model, vocab_path = files
    vocab = load_vocab(vocab_path)
    text = generate(model, vocab_path, "bad cafe", 40, temperature=1.3, seed=4)
    ids = load_lm(model, vocab).generate(vocab.encode("bad cafe").tolist(), 40, greedy=False, temperature=1.3, seed=4)
    assert text == "bad cafe" + vocab.decode(ids) and len(ids) == 40
    assert text == generate(model, vocab_path, "bad cafe", 40, temperature=1.3, seed=4)
    assert text != generate(model, vocab_path, "bad cafe", 40, temperature=1.3, seed=5)
    # an empty prefix starts from a space
    assert generate(model, vocab_path, "", 15, greedy=True) == generate(model, vocab_path, " ", 15, greedy=True)[1:]


def test_the_console_command_prints_the_text(files, capsys):
    model, vocab = files
    main(["generate", "--model", str(model), "--vocab", str(vocab), "--prefix", "abc", "--length", "12",
          "--greedy"])
    assert capsys.readouterr().out == generate(model, vocab, "abc", 12, greedy=True) + "\n"


@pytest.mark.parametrize("args, message", [
    (["--prefix", "It was"], r"error: --prefix: 'I', 's', 't', 'w' not in the vocabulary \(' abcdefghi'\)"),
    (["--greedy", "--temperature", "0.5"], r"error: --greedy: takes no --temperature or --top-k"),
    (["--temperature", "0"], r"error: --temperature: must be > 0"),
    (["--model", "nope.pt"], r"error: nope.pt: model file not found"),
])
def test_bad_arguments_are_one_line_errors(files, capsys, args, message):
    model, vocab = files
    # argparse keeps the last value of a repeated flag, so `args` can override these defaults
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "--model", str(model), "--vocab", str(vocab), "--prefix", "abc", *args])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.match(message, err), err
