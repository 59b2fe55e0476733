"""A small ARPA reader: the tests parse charlm's ARPA export and query it with the standard back-off rule."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from charlm.errors import CharlmError

Arpa = dict[int, dict[tuple[str, ...], tuple[float, float]]]   # order -> words -> (log10 p, log10 bow)


def parse_arpa(path: str | Path) -> Arpa:
    """Every n-gram of an ARPA file with its log10 probability and back-off weight (0 when absent)."""
    path = Path(path)
    grams: Arpa = {}
    expected: dict[int, int] = {}
    order = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line in ("\\data\\", "\\end\\"):
            continue
        if line.startswith("ngram "):
            k, n = line[6:].split("=")
            expected[int(k)] = int(n)
        elif line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1:-7])
            grams[order] = {}
        elif order is None:
            continue  # text before \data\ is free-form
        else:
            fields = line.split()
            if len(fields) not in (order + 1, order + 2):
                raise CharlmError(f"{path}:{number}: expected {order} words after the probability")
            bow = float(fields[order + 1]) if len(fields) == order + 2 else 0.0
            grams[order][tuple(fields[1:order + 1])] = (float(fields[0]), bow)
    for k, n in expected.items():
        if len(grams.get(k, {})) != n:
            raise CharlmError(f"{path}: header says ngram {k}={n}, found {len(grams.get(k, {}))}")
    return grams


def arpa_log10_prob(arpa: Arpa, context: Sequence[str], word: str) -> float:
    """log10 P(word | context) by the ARPA back-off rule, using at most order-1 context words."""
    order = max(arpa)
    context = tuple(context)[max(len(context) - (order - 1), 0):] if order > 1 else ()
    total = 0.0
    for start in range(len(context) + 1):
        c = context[start:]
        if c + (word,) in arpa[len(c) + 1]:
            return total + arpa[len(c) + 1][c + (word,)][0]
        if c in arpa.get(len(c), {}):
            total += arpa[len(c)][c][1]
    raise CharlmError(f"ARPA model has no unigram {word!r}")
