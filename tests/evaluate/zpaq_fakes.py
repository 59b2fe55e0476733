"""The real zpaq or a failing test under CI, small texts, and fake zpaq programs for the zpaq and anchor tests."""
from __future__ import annotations

import json
import random
import stat
import sys
from pathlib import Path

from charlm.evaluate.zpaq import find_zpaq
from helpers import skip_unless

BANNER = "zpaq v7.15 journaling archiver, compiled Jan  5 2021"
TAG = "376b5374a03183d38cb228b0d3"   # zpaq's block locator tag
FAST = "x4.0ci1.1aw1m"   # a small expert method: an order 0-2 chain, a match model, a word model, a mixer


def require_zpaq() -> str:
    """The zpaq on PATH, or skip the test; under CI=true, fail it (`make setup` installs zpaq with apt-get)."""
    exe = find_zpaq()
    skip_unless(exe is not None, "zpaq is not on PATH (apt-get install zpaq)")
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


def write_interim(folder: Path, texts: dict[str, str], books: dict | None = None) -> Path:
    """data/interim: <split>.txt, and books.json (one book per split unless `books` gives the offsets)."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, text in texts.items():
        (folder / f"{split}.txt").write_text(text, encoding="utf-8")
    books = books or {split: [{"id": 1, "title": "one", "start": 0, "end": len(text)}] for split, text in texts.items()}
    (folder / "books.json").write_text(json.dumps(books), encoding="utf-8")
    return folder


def _executable(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "zpaq"
    exe.write_text(text)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


def fake_zpaq(folder: Path, script: str) -> Path:
    """A shell script named zpaq in `folder`: zpaq's banner without arguments (exit 1), else `script`."""
    return _executable(folder, f'#!/bin/sh\n[ $# -eq 0 ] && {{ echo "{BANNER}"; exit 1; }}\n{script}')


def python_zpaq(folder: Path, fragments: int = 1, listed_bytes: int | None = None,
                method_above: tuple[int, str] | None = None) -> Path:
    """A zpaq that writes archives laid out as zpaq 7's (a tagged data block whose coded bytes are a quarter of
    the text's, then an index block), reports `fragments` fragments and the method it was given (a level with
    the analysis ",230,1" appended; for texts longer than method_above[0] bytes, method_above[1]), and lists
    `listed_bytes` (default: the text's)."""
    return _executable(folder, f'''#!{sys.executable}
import os, sys
args = sys.argv[1:]
if not args:
    print("{BANNER}")
    sys.exit(1)
command, archive = args[0], args[1]
size = os.path.getsize("text.txt")
if command == "l":
    print("- 2026-01-01 00:00:00 %d  text.txt" % ({listed_bytes!r} or size))
    sys.exit(0)
method = [a[2:] for a in args if a.startswith("-m")][0]
if method[0].isdigit():
    method += ",230,1"   # as zpaq appends its analysis of the block to a level
above = {method_above!r}
if above and size > above[0]:
    method = above[1]
tag = bytes.fromhex("{TAG}")
header = b"\\x01jDC20260101000000d0000000001\\x00" + b"%d jDC\\x01" % size + b"\\x00\\x00"
with open(archive, "wb") as out:
    out.write(tag + b"zPQ\\x02\\x01model" + header + b"c" * (size // 4) + b"\\xff" + tag + b"zPQ\\x02\\x01index")
print("[1..%d] %d -method %s" % ({fragments}, size + 8 + 4 * {fragments}, method))
''')
