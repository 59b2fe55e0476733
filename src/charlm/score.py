"""`charlm score`: how surprising a text is to one trained model (KenLM's `query`, SRILM's `ngram -ppl`).

    raw text ──clean (preprocess params)──▶ cleaned text ──encode (vocab)──▶ ids ──model──▶ bits per character

The text is cleaned exactly as the preprocess stage cleans a book: the `preprocess` params of the params file
(params.yaml by default). A checkpoint records its vocabulary's fingerprint but not the cleaning, and
params.yaml is what `dvc repro` built this workspace's vocab and models from (`dvc status` says when they
disagree); a model carried elsewhere takes `--params` of its own project. Gutenberg boilerplate is not
stripped: a user's text has none.

By default the text is read as one stream, each character given everything before it. `--streams N` cuts it
into N streams as the evaluate stage does (evaluate.batch_size), which is how its test.bpc is measured;
`--dynamic` adapts while scoring (evaluate.dynamic), as its dynamic.* metrics are measured.

`--model cm` is the context mixer of params.yaml's `cm` section, which has no model file: it is rebuilt as the cm
stage builds it (read train, fit the mixing on val) and then reads the text as the stage reads test, with its
members' distributions computed on the text from their model files. It takes about a minute.
"""
from __future__ import annotations

import math
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charlm.data.clean import _fold, clean   # _fold: what cleaning makes of one character, to count changes
from charlm.data.vocab import Vocab
from charlm.errors import CharlmError
from charlm.evaluate.splits import token_layout
from charlm.evaluate.summary import UNK_ID
from charlm.lm import LanguageModel, load_lm
from charlm.model_names import model_file
from charlm.params import EvaluateParams, Params, PreprocessParams

LN2 = math.log(2)
SNIFF_BYTES = 8192   # a NUL in the first 8 KiB marks a binary file, as git and grep decide it


@dataclass(frozen=True)
class Cleaned:
    text: str       # what the models read
    read: int       # characters of the input
    changed: int    # input characters the cleaning altered: case, accents, anything outside the alphabet -> space
    dropped: int    # input characters with nothing left in `text`: repeated spaces, line breaks, the ends


@dataclass(frozen=True)
class Scored:
    model: str
    how: str             # how the model read the text: static, dynamic evaluation, online (cm)
    text: str            # the cleaned text
    tokens: np.ndarray   # (N,) ids
    starts: np.ndarray   # (N,) character offset of each token in `text`
    bits: np.ndarray     # (N,) bits of each token given all before it; NaN for the first, which has no context
    chars: int           # characters scored: the widths of tokens 1..N-1
    unknown: int         # scored tokens that are <unk>, which cost a model almost nothing to spell

    @property
    def bpc(self) -> float:
        return float(np.nansum(self.bits)) / self.chars

    @property
    def ppl(self) -> float:
        """Perplexity per token: 2 ** mean bits of the scored tokens."""
        return float(2 ** np.nanmean(self.bits))


def read_text(path: str) -> str:
    """The text of file `path` ("-": standard input), strict UTF-8; empty, binary or missing: CharlmError."""
    where = "standard input" if path == "-" else path
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        if not Path(path).is_file():
            raise CharlmError(f"{path}: no such file")
        data = Path(path).read_bytes()
    if not data.strip():
        raise CharlmError(f"{where}: the text is empty")
    if b"\0" in data[:SNIFF_BYTES]:
        raise CharlmError(f"{where}: a binary file (it contains NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CharlmError(f"{where}: not UTF-8 (byte {e.start} is {data[e.start:e.start + 1]!r}); "
                          f"convert it first, e.g. iconv -f latin1 -t utf-8") from None


def clean_text(raw: str, p: PreprocessParams, where: str) -> Cleaned:
    """`raw` cleaned as the preprocess stage cleans a book, with what the cleaning changed and dropped."""
    text = clean(raw, p.alphabet, p.lowercase, p.fold_accents)
    if len(text) < 2:
        raise CharlmError(f"{where}: cleans to {len(text)} characters (preprocess.alphabet {p.alphabet!r}); "
                          f"nothing to score")
    # Each distinct character once: what it folds to, times how often it occurs.
    folded = {c: (_fold(c, p.alphabet, p.lowercase, p.fold_accents), n) for c, n in Counter(raw).items()}
    changed = sum(n for c, (out, n) in folded.items() if out not in (c, ""))
    # What cleaning leaves out: characters that fold to nothing, and the spaces that collapse or trim removes.
    deleted = sum(n for out, n in folded.values() if out == "")
    dropped = deleted + max(0, sum(len(out) * n for out, n in folded.values()) - len(text))
    return Cleaned(text, len(raw), changed, dropped)


def score_text(lm: LanguageModel, vocab: Vocab, text: str, params: EvaluateParams, *, streams: int = 1,
               dynamic: bool = False) -> Scored:
    """Every token of the cleaned `text` after the first scored by `lm`, as the evaluate stage scores a split."""
    if streams < 1:
        raise CharlmError(f"--streams: must be >= 1, got {streams}")
    tokens = vocab.encode(text).astype(np.int64)
    if len(tokens) < 2:
        raise CharlmError(f"text: needs at least 2 tokens to score, got {len(tokens)}")
    if dynamic:
        if not hasattr(lm, "dynamic_nll"):
            raise CharlmError(f"--dynamic: {lm.name} cannot adapt while scored (only neural models can)")
        nll = lm.dynamic_nll(tokens, params.dynamic)
    else:
        nll = lm.token_nll(tokens, "forward", streams)
    widths, starts = token_layout(text, vocab.token)
    bits = np.concatenate([[np.nan], np.asarray(nll, dtype=np.float64) / LN2])
    how = "dynamic evaluation" if dynamic else getattr(lm, "reading", "static")
    return Scored(lm.name, how, text, tokens, starts, bits, int(widths[1:].sum()), int((tokens[1:] == UNK_ID).sum()))


def summary(scored: Scored, cleaned: Cleaned, params_path: str) -> str:
    """What `charlm score` prints: the score, then what the cleaning did."""
    lines = [f"{scored.model} ({scored.how}): {scored.chars:,} characters scored, {scored.bpc:.4f} bpc, "
             f"perplexity {scored.ppl:.3f} per token"]
    if scored.unknown:
        lines.append(f"  <unk> (not in the vocabulary): {scored.unknown:,} of the scored tokens; they flatter bpc")
    lines.append(f"  cleaning ({params_path}: preprocess): read {cleaned.read:,} characters, changed "
                 f"{cleaned.changed:,} (case, accents, outside the alphabet -> space), dropped {cleaned.dropped:,} "
                 f"(repeated spaces and line breaks, the ends)")
    return "\n".join(lines)


def per_char_tsv(scored: Scored, vocab: Vocab) -> str:
    """position (character offset), token and bits, one row per token; the first has no bits (no context)."""
    rows = ["position\ttoken\tbits"]
    for start, token, bits in zip(scored.starts, scored.tokens, scored.bits):
        shown = vocab.tokens[token] if token != UNK_ID else "<unk>"
        rows.append(f"{start}\t{shown}\t{'' if np.isnan(bits) else f'{bits:.4f}'}")
    return "\n".join(rows) + "\n"


def char_bits(scored: Scored, vocab: Vocab) -> np.ndarray:
    """(len(text),) bits of each character of the cleaned text, NaN where unscored; a word token's bits are
    spread evenly over its letters (the space between words then stays unscored)."""
    out = np.full(len(scored.text), np.nan)
    # A word ends one before the next word's start (the space); a character token is one character long.
    ends = np.append(scored.starts[1:] - 1, len(scored.text)) if vocab.token == "word" else scored.starts + 1
    for start, end, bits in zip(scored.starts, ends, scored.bits):
        out[start:end] = bits / (end - start)
    return out


class ContextMixerText:
    """The cm entry behind the part of the LanguageModel protocol that scoring uses (`token_nll`), for a project
    at `root` laid out as dvc.yaml lays it out."""
    name = "cm"
    reading = "online, after train, mixing fitted on val"

    def __init__(self, params: Params, root: Path, vocab: Vocab):
        self.params, self.root, self.vocab = params, root, vocab

    def token_nll(self, tokens: np.ndarray, direction: str = "forward", batch_size: int = 1) -> np.ndarray:
        from charlm.cm.run import cm_text_nll   # numba compiles on first use: only for this model

        members = np.stack([np.exp(self._member_log_probs(m, tokens)) for m in self.params.cm.members])
        data, interim = self.root / "data" / "processed", self.root / "data" / "interim"
        return cm_text_nll(self.params, data, interim, self.root / "data" / "scores", data / "vocab.json", tokens,
                           members)

    def _member_log_probs(self, member: str, tokens: np.ndarray) -> np.ndarray:
        """(N-1, V) log-probabilities of cm member `member` on `tokens`, read as the evaluate stage reads a split."""
        name, _, mode = member.partition(".")
        path = self.root / "models" / model_file(self.params, name)
        lm = load_lm(path, self.vocab)
        if mode == "dynamic":
            return lm.dynamic_log_probs(tokens, self.params.evaluate.dynamic)
        return lm.log_probs(tokens, self.params.evaluate.batch_size)
