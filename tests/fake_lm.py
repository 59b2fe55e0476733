"""A tiny add-one bigram LanguageModel for evaluation and report tests (no torch, exact, fast)."""
from __future__ import annotations

import numpy as np


class BigramLM:
    """Implements charlm.lm.LanguageModel with add-one bigram counts over token ids."""

    def __init__(self, train: np.ndarray, vocab_size: int, name: str = "bigram",
                 directions: tuple[str, ...] = ("forward",)):
        self.name, self.directions, self.vocab_size = name, directions, vocab_size
        self.num_parameters = vocab_size * vocab_size
        self.train = train
        self.tables = {d: self._fit(train if d == "forward" else train[::-1]) for d in directions}   # log P(next | prev)

    def _counts(self, tokens: np.ndarray) -> np.ndarray:
        counts = np.ones((self.vocab_size, self.vocab_size))
        np.add.at(counts, (tokens[:-1].astype(np.int64), tokens[1:].astype(np.int64)), 1)
        return counts   # (V prev, V next)

    def _fit(self, tokens: np.ndarray) -> np.ndarray:
        counts = self._counts(tokens)
        return np.log(counts / counts.sum(axis=1, keepdims=True))   # (V prev, V next)

    def dynamic_log_probs(self, tokens, params):
        """(N-1, V) float32 distributions with each segment's bigrams counted once it is scored: a fake dynamic
        evaluation."""
        t = np.asarray(tokens, dtype=np.int64)
        counts, out = self._counts(np.asarray(self.train)), []
        for start in range(0, len(t) - 1, params.segment):
            prev, nxt = t[start:start + params.segment], t[start + 1:start + 1 + params.segment]
            rows = counts[prev[:len(nxt)]]
            out.append(np.log(rows / rows.sum(axis=1, keepdims=True)))
            np.add.at(counts, (prev[:len(nxt)], nxt), 1)
        return (np.concatenate(out) if out else np.zeros((0, self.vocab_size))).astype(np.float32)

    def dynamic_nll(self, tokens, params):
        t = np.asarray(tokens, dtype=np.int64)
        return -self.dynamic_log_probs(t, params)[np.arange(len(t) - 1), t[1:]].astype(np.float64)

    def log_probs(self, tokens, batch_size=64):
        t = np.asarray(tokens, dtype=np.int64)
        return self.tables["forward"][t[:-1]].astype(np.float32)

    def token_nll(self, tokens, direction="forward", batch_size=64):
        t = np.asarray(tokens, dtype=np.int64)
        if direction == "backward":
            t = t[::-1]
        return -self.tables[direction][t[:-1], t[1:]]

    def generate(self, prefix, length, *, greedy, temperature=1.0, top_k=0, seed=0):
        rng = np.random.default_rng(seed)
        out, last = [], int(prefix[-1])
        for _ in range(length):
            row = self.tables["forward"][last]
            if greedy:
                last = int(row.argmax())
            else:
                p = np.exp(row / temperature)
                last = int(rng.choice(len(p), p=p / p.sum()))
            out.append(last)
        return out


def write_eval_inputs(root, token: str = "char", words: tuple[int, int] = (400, 300)):
    """Write data/interim/{train,val,test}.txt + books.json, vocab.json and {train,val,test}.npy under `root`.

    Two books (ids 7 and 9) of synthetic text; returns (interim_dir, processed_dir, vocab).
    """
    from charlm.data.vocab import save_vocab
    from charlm.io import write_json
    from helpers import build_vocab, synthetic_text

    def clean(text: str) -> str:
        return " ".join("".join(c if c.isalpha() else " " for c in text.lower()).split())

    interim, processed = root / "data" / "interim", root / "data" / "processed"
    interim.mkdir(parents=True, exist_ok=True)
    processed.mkdir(parents=True, exist_ok=True)
    books, texts = {}, {}
    for s, split in enumerate(("train", "val", "test")):
        parts = [clean(synthetic_text(n * (4 if split == "train" else 1), seed=10 * s + i))
                 for i, n in enumerate(words)]
        offsets, pos = [], 0
        for book_id, part in zip((7, 9), parts):
            offsets.append({"id": book_id, "title": f"Book {book_id}", "start": pos, "end": pos + len(part)})
            pos += len(part) + 1
        texts[split], books[split] = " ".join(parts), offsets
        (interim / f"{split}.txt").write_text(texts[split], encoding="utf-8")
    write_json(interim / "books.json", books)
    split_tokens = list(texts["train"]) if token == "char" else texts["train"].split(" ")
    # A word vocab with min_freq 2 leaves some held-out words as <unk>, as real word models do.
    vocab = build_vocab(split_tokens, token, min_freq=0 if token == "char" else 2)
    save_vocab(vocab, processed / "vocab.json")
    for split, text in texts.items():
        np.save(processed / f"{split}.npy", vocab.encode(text))
    return interim, processed, vocab
