"""`ContextMixer`: the state of the compiled loop (kernel.py) and what is done with it: read text (learn only),
score a split (each character predicted before it is learned from), and keep or restore a snapshot.

Memory is the context tables: per context, 2^table_bits buckets (fewer for low orders, which have fewer
contexts) of one 16-bit slot per tree node (a 12-bit probability and a 4-bit visit count): 64 B a bucket
with a 28-symbol vocabulary, 128 MB a high-order context at table_bits 21.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from charlm.cm import kernel as K
from charlm.cm.tree import Tree, huffman_tree

MATCH_BITS = 22        # 4M entries of the match model's index (32 MB): train has ~4.8M positions
_Q = (np.arange(4096) + 0.5) / 4096
STRETCH = np.log(_Q / (1 - _Q))   # stretch of a 12-bit probability (a slot's, or a map's rounded down to 12 bits)


@dataclass(frozen=True)
class Components:
    """Which inputs the mixer sees (all on, unless an ablation turns one off) and whether SSE refines it."""
    orders: bool = True
    words: bool = True
    match: bool = True
    members: tuple[bool, ...] = ()     # one flag per member; missing flags are on
    sse: bool = True

    def member_mask(self, n: int) -> int:
        return sum(1 << m for m in range(n) if m >= len(self.members) or self.members[m])


# What changes while the mixer reads: the context tables, the match model, the word hashes, mixers, maps.
MIXING = ("w1", "w2", "apm1", "apm2", "match_sm", "icm", "run_sm")
STATE = ("slots", "check", "match_table", "match", "word") + MIXING


class ContextMixer:
    """A PAQ-style context mixer over a vocabulary of V symbols (see kernel.py for what it computes)."""

    def __init__(self, params, vocab_size: int, train_counts: np.ndarray, space: int, unk: int, n_members: int,
                 components: Components = Components()):
        v = vocab_size
        self.params, self.vocab_size, self.n_members = params, v, n_members
        self.tree: Tree = huffman_tree(train_counts)
        nodes = v - 1
        # one slot per node and a spare one for the context's run, a power of two
        bucket = 1 << int(np.ceil(np.log2(nodes + 1)))
        orders = list(params.orders)
        n_words = params.word_contexts
        # a table never needs more buckets than its order has contexts (x2, for the two ways)
        bits = [min(params.table_bits, int(np.ceil(np.log2(2.0 * (v + 1) ** k))) if k < 8 else params.table_bits)
                for k in orders] + [params.table_bits] * n_words
        self.table_bits = np.array(bits, dtype=np.int64)
        self.table_base = np.concatenate([[0], np.cumsum(1 << self.table_bits)[:-1]]).astype(np.int64)
        buckets = int((1 << self.table_bits).sum())
        self.slots = np.full(buckets * bucket, K.EMPTY_SLOT, dtype=np.uint16)
        self.check = np.zeros(buckets, dtype=np.uint16)
        self.match_table = np.zeros(1 << MATCH_BITS, dtype=np.int64)
        self.match = np.zeros(2, dtype=np.int64)                     # pointer, length
        self.match_sm = np.zeros((K.MATCH_BUCKETS, 2))
        self.match_sm[:, 0] = 0.5
        self.word = np.zeros(n_words + 1, dtype=np.int64)
        n_ctx = len(orders) + n_words
        n_inputs = 3 * n_ctx + 1 + n_members + 1    # contexts (direct, indirect, run), match, members, bias
        levels = (np.arange(K.ICM_LEVELS) + 0.5) / K.ICM_LEVELS
        self.icm = np.zeros((n_ctx * K.ICM_COUNTS * K.ICM_LEVELS, 2))
        self.icm[:, 0] = np.tile(levels, n_ctx * K.ICM_COUNTS)   # each state starts meaning its own p
        self.run_sm = np.zeros((n_ctx * K.RUN_LENGTHS, 2))
        self.run_sm[:, 0] = 0.5
        sets = K.ORDER3_SETS + v + 8 * (n_words + 1) + v * v + len(orders) + 1
        self.w1 = np.full((sets * nodes, n_inputs), params.weight_init)
        self.w2 = np.full((nodes, K.SELECTORS + 1), 1.0 / K.SELECTORS)
        self.w2[:, K.SELECTORS] = 0.0
        grid = 1.0 / (1.0 + np.exp(-np.linspace(-8.0, 8.0, K.BINS)))   # SSE starts as the identity
        self.apm1 = np.tile(grid, v * nodes)
        self.apm2 = np.tile(grid, v * v * nodes)
        cfg = np.zeros(K.N_CFG + len(orders), dtype=np.int64)
        cfg[[K.V, K.NODES, K.N_ORDERS, K.N_WORDS, K.N_MEMBERS, K.N_INPUTS, K.COUNT_LIMIT, K.MATCH_MIN, K.SPACE,
             K.UNK, K.BUCKET, K.MATCH_BITS]] = [v, nodes, len(orders), n_words, n_members, n_inputs,
                                                 params.count_limit, params.match_min, space, unk, bucket,
                                                 MATCH_BITS]
        cfg[K.N_CFG:] = orders
        self.cfg = cfg
        self.rates = np.array([params.mixer_lr, params.final_lr, params.sse_lr, params.sse_weight], dtype=np.float64)
        self.use(components)

    def use(self, components: Components) -> None:
        """Turn inputs (and SSE) on or off from the next character on."""
        self.cfg[[K.USE_ORDERS, K.USE_WORDS, K.USE_MATCH, K.USE_SSE, K.MEMBER_MASK]] = [
            components.orders, components.words, components.match, components.sse,
            components.member_mask(self.n_members)]

    def copy(self) -> "ContextMixer":
        return copy.deepcopy(self)

    def save_state(self, folder: Path, names: tuple[str, ...] = STATE) -> None:
        """Write the state arrays `names` (all by default; MIXING for what the mixer learned about weighing its
        inputs) to <folder>/<name>.bin, raw bytes: a snapshot on disk instead of a second copy in memory."""
        for name in names:
            getattr(self, name).tofile(folder / f"{name}.bin")

    def load_state(self, folder: Path, names: tuple[str, ...] = STATE) -> None:
        """Overwrite the state arrays `names` in place from save_state's files (no second copy in memory)."""
        for name in names:
            with open(folder / f"{name}.bin", "rb") as f:
                f.readinto(memoryview(getattr(self, name)).cast("B"))

    def read(self, text: np.ndarray, begin: int, end: int) -> None:
        """Learn from text[begin:end], given text[:begin] already read (no member inputs, nothing scored)."""
        self._run(text, begin, end, end, np.zeros((self.n_members, 0, self.vocab_size), np.float32), False)

    def score(self, text: np.ndarray, begin: int, members: np.ndarray, full: bool = False
              ) -> tuple[np.ndarray, np.ndarray | None]:
        """Score text[begin:], each position given all before it, then learned from: ((N,) nll in nats,
        (N, V) log-probabilities when `full`). members: (n_members, N, V) float32 probabilities for them."""
        return self._run(text, begin, len(text), begin, members, full)

    def _run(self, text, begin, end, score_from, members, full):
        t = self.tree
        n = max(end - score_from, 0)
        nll = np.zeros(n)
        logp = np.zeros((n if full else 0, self.vocab_size))
        members = np.ascontiguousarray(members, dtype=np.float32)
        if members.shape[0] < self.n_members or (self.n_members and members.shape[1:] != (n, self.vocab_size)):
            raise ValueError(f"members: expected ({self.n_members}, {n}, {self.vocab_size}), got {members.shape}")
        K.run(np.ascontiguousarray(text, dtype=np.int64), begin, end, score_from, members, self.cfg, self.rates,
              t.path_node, t.path_bit, t.path_len, t.node_bit, t.lo, t.mid, t.hi, t.rank, self.table_base,
              self.table_bits, self.slots, self.check, self.match_table, self.match, self.match_sm,
              self.word, self.w1, self.w2, self.apm1, self.apm2, self.icm, self.run_sm, STRETCH, nll, logp,
              full)
        return nll, (logp if full else None)
