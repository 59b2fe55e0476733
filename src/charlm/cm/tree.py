"""The binary code the context mixer predicts one bit at a time: a Huffman tree over the vocabulary.

A symbol is a path from the root to its leaf; each internal node is one yes/no question, "is the symbol in
my right subtree?". P(symbol) is the product of the answers' probabilities along its path, so any set of
node probabilities in (0, 1) gives a distribution over the V symbols that sums to 1 by construction.

    root ─┬─ 0 ─ " "                  frequent symbols sit near the root: a space is one question,
          └─ 1 ─┬─ 0 ─ ...            a 'z' a dozen; Huffman's tree asks ~4.1 questions per character of
                └─ 1 ─ ...            English where a flat 5-bit code asks 5, and the loop's cost is per question

Leaves are numbered left to right ("rank"), so every node's subtree is a range of ranks [lo, hi) and its
right subtree [mid, hi): a member's node probability is two differences of one cumulative sum.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tree:
    path_node: np.ndarray   # (V, depth) int64: the internal nodes on each symbol's path, root first (-1 after)
    path_bit: np.ndarray    # (V, depth) int64: the answer at each of them (1 = right)
    path_len: np.ndarray    # (V,) int64
    node_bit: np.ndarray    # (V, V-1) int64: symbol c's answer at node j, or -1 when j is not on c's path
    lo: np.ndarray          # (V-1,) int64: node j's subtree is the leaves of rank lo..hi-1,
    mid: np.ndarray         # (V-1,) int64  its right subtree mid..hi-1
    hi: np.ndarray          # (V-1,) int64
    rank: np.ndarray        # (V,) int64: each symbol's leaf rank


def huffman_tree(counts: np.ndarray) -> Tree:
    """The Huffman tree of symbol `counts` (V >= 2), node 0 the root; ties broken by symbol id, so the same
    counts always give the same tree. A symbol that never occurs still gets a leaf (count 1)."""
    v = len(counts)
    if v < 2:
        raise ValueError(f"a binary code needs at least 2 symbols, got {v}")
    # heap of (weight, tie-break, subtree): a subtree is a symbol id or a (left, right) pair
    heap = [(int(max(c, 1)), i, i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    order = v
    while len(heap) > 1:
        w0, _, a = heapq.heappop(heap)
        w1, _, b = heapq.heappop(heap)
        heapq.heappush(heap, (w0 + w1, order, (a, b)))
        order += 1
    root = heap[0][2]

    lo, mid, hi, rank = [], [], [], np.zeros(v, dtype=np.int64)
    paths: dict[int, list[tuple[int, int]]] = {}
    next_rank = 0

    def walk(subtree, path: list[tuple[int, int]]) -> None:
        nonlocal next_rank
        if isinstance(subtree, int):
            rank[subtree] = next_rank
            paths[subtree] = path
            next_rank += 1
            return
        node = len(lo)
        lo.append(next_rank)
        mid.append(-1)
        hi.append(-1)
        walk(subtree[0], path + [(node, 0)])
        mid[node] = next_rank
        walk(subtree[1], path + [(node, 1)])
        hi[node] = next_rank

    walk(root, [])
    depth = max(len(p) for p in paths.values())
    path_node = np.full((v, depth), -1, dtype=np.int64)
    path_bit = np.zeros((v, depth), dtype=np.int64)
    node_bit = np.full((v, v - 1), -1, dtype=np.int64)
    for c, path in paths.items():
        for d, (node, bit) in enumerate(path):
            path_node[c, d], path_bit[c, d], node_bit[c, node] = node, bit, bit
    path_len = np.array([len(paths[c]) for c in range(v)], dtype=np.int64)
    as_array = lambda xs: np.array(xs, dtype=np.int64)   # noqa: E731
    return Tree(path_node, path_bit, path_len, node_bit, as_array(lo), as_array(mid), as_array(hi), rank)
