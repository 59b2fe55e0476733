"""The context mixer (src/charlm/cm): causal, a proper distribution at every position, byte-identical, and its
own context models learn a repeat."""
from __future__ import annotations

import numpy as np
import pytest

from causality import causality_breaks
from charlm.cm.model import Components, ContextMixer
from charlm.cm.tree import huffman_tree
from charlm.params import CMParams
from helpers import synthetic_text

V = 28   # <unk>, space, a..z: the default vocabulary's size
PARAMS = CMParams(members=[], orders=[1, 2, 3, 4, 6], word_contexts=2, match_min=4, count_limit=15, table_bits=10,
                  mixer_lr=0.005, final_lr=0.0005, sse_lr=0.02, sse_weight=0.5, weight_init=0.2, ablation=False)


def encode(text: str) -> np.ndarray:
    """a..z -> 2..27, everything else a space (1), as the default vocabulary would after cleaning."""
    return np.array([ord(c) - 95 if "a" <= c <= "z" else 1 for c in text.lower()], dtype=np.int64)


def members_for(n: int, m: int, seed: int = 0) -> np.ndarray:
    """(m, n, V) float32 random distributions standing in for members."""
    p = np.random.default_rng(seed).dirichlet(np.ones(V), size=(m, n)).astype(np.float32)
    return p / p.sum(-1, keepdims=True)


def new_mixer(train: np.ndarray, n_members: int = 0, components: Components = Components()) -> ContextMixer:
    cm = ContextMixer(PARAMS, V, np.bincount(train, minlength=V), 1, 0, n_members, components)
    cm.read(train, 0, len(train))
    return cm


TRAIN = encode(synthetic_text(600, seed=1))


def scores(split: np.ndarray, n_members: int = 0, leaky: bool = False) -> np.ndarray:
    """(len(split)-1,) nats of split[1:] after reading TRAIN and split[0], as the cm stage scores a split."""
    cm = new_mixer(TRAIN, n_members)
    text = np.concatenate([TRAIN, split])
    cm.read(text, len(TRAIN), len(TRAIN) + 1)
    members = members_for(len(split) - 1, n_members)
    if not leaky:
        return cm.score(text, len(TRAIN) + 1, members)[0]
    out = []
    for t in range(len(TRAIN) + 1, len(text)):   # a leaky copy: learns each character, then scores it
        cm.read(text, t, t + 1)
        r = t - len(TRAIN) - 1
        out.append(cm.score(text[:t + 1], t, members[:, r:r + 1])[0][0])
    return np.array(out)


def test_huffman_tree_codes_every_symbol_and_puts_frequent_ones_near_the_root():
    counts = np.array([1, 500, 300, 200, 100, 50, 10])
    tree = huffman_tree(counts)
    assert tree.path_len[1] <= tree.path_len[2] <= tree.path_len[6]
    codes = {tuple(tree.path_bit[c, :tree.path_len[c]]) for c in range(len(counts))}
    assert len(codes) == len(counts)                         # prefix-free: distinct leaves
    assert np.array_equal(np.sort(tree.rank), np.arange(len(counts)))


@pytest.mark.parametrize("t", [5, 60, 200])
def test_each_character_is_scored_before_anything_learns_from_it(t):
    split = encode(synthetic_text(60, seed=2))[:260]
    assert causality_breaks(lambda x: scores(x, n_members=1), split, t, V, atol=1e-6) == []


def test_the_causality_check_catches_a_mixer_that_learns_before_it_scores():
    split = encode(synthetic_text(60, seed=2))[:120]
    breaks = causality_breaks(lambda x: scores(x, leaky=True), split, 80, V, atol=1e-6)
    assert any("sum to probability" in b for b in breaks)


def test_every_distribution_sums_to_one_and_none_is_zero_and_matches_the_scores():
    split = encode(synthetic_text(80, seed=3))
    cm = new_mixer(TRAIN, 2)
    full = cm.copy()
    text = np.concatenate([TRAIN, split])
    members = members_for(len(split), 2)
    nll, _ = cm.score(text, len(TRAIN), members)
    nll_full, logp = full.score(text, len(TRAIN), members, full=True)
    assert np.abs(np.exp(logp).sum(1) - 1).max() < 1e-6
    assert (logp > np.log(1e-12)).all()
    assert np.allclose(-logp[np.arange(len(split)), split], nll, atol=1e-9)
    assert np.array_equal(nll, nll_full)   # the full distribution changes nothing the model learns


def test_runs_are_byte_identical():
    split = encode(synthetic_text(80, seed=4))
    a, b = scores(split, 2), scores(split, 2)
    assert a.tobytes() == b.tobytes()


def test_the_match_model_learns_a_repeat_of_unseen_text():
    rng = np.random.default_rng(5)
    once = rng.integers(2, V, size=400)            # random letters: nothing in train predicts them
    split = np.concatenate([once, once])
    bits = scores(split) / np.log(2)
    first, second = bits[:399], bits[400 + 50:]      # the second copy, once the match is found
    assert first.mean() > 3.5                        # ~log2(26) for random letters
    assert second.mean() < 0.25 * first.mean()


def test_dropping_the_match_model_costs_bits_on_a_repeat():
    rng = np.random.default_rng(6)
    once = rng.integers(2, V, size=300)
    text = np.concatenate([TRAIN, once, once])
    costs = {}
    for match in (True, False):
        cm = new_mixer(TRAIN, components=Components(match=match))
        no_members = np.zeros((0, len(text) - len(TRAIN), V), np.float32)
        costs[match] = cm.score(text, len(TRAIN), no_members)[0][-250:].mean()
    assert costs[True] < costs[False]
