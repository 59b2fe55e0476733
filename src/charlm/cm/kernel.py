"""The context mixer's online loop, compiled with numba: one call reads a run of characters, each one
predicted (and, past `score_from`, scored) from the state before it, and only then learned from.

Per character t, before anything learns from x[t]:
    contexts   hashes of the last k symbols for each order k, of the current word's prefix and of the
               previous words with it; each selects a bucket of one slot per tree node (2-way, 16-bit check)
    match      the longest earlier occurrence of the recent text predicts the symbol that followed it
    members    each member's next-symbol distribution, as node probabilities
For each tree node j on the path being predicted (every node, for a full distribution):
    inputs     per context: x = stretch(p) = ln(p / (1 - p)) of its slot, stretch of what slots in that state
               (visits, p) have meant so far, and its run (the symbol that followed it last, signed by the
               answer that symbol gives here, trusted by how often in a row); the match model (signed and
               trusted likewise, by match length); each member; a bias
    mixers     five weight sets, each chosen by j and one small context (previous three symbols, hashed;
               previous symbol; position in the word with how many word contexts are well known; previous
               two symbols; longest order seen): p_s = squash(w_s · x)
    final      a second mixer over stretch(p_s), weights chosen by j
    SSE        two adaptive maps from (j, p) to a refined p, chosen by the previous one and two symbols
Then, with the symbol known, every slot on its path, the maps of slot states and of runs, the match model's
trust, both mixer layers (one gradient step on the log loss each) and the SSE maps learn from each answer,
and each context's run goes on or restarts. All updates wait until the
character's whole path is scored, so the distribution over all V symbols is exact: P(c) is the product
of node answers computed from one and the same state.
"""
from __future__ import annotations

import numpy as np
from numba import njit

BINS = 33              # SSE interpolation points over stretch(p) in [-8, 8]
MATCH_BUCKETS = 16     # match-length buckets of the match model's trust
SELECTORS = 5          # first-layer weight sets: by previous three symbols, previous symbol, word position and
#                        word contexts known, previous two symbols, longest order seen
ORDER3_SETS = 4096     # the previous three symbols' weight sets (28^3 exact would be 200 MB of weights; 8192 did
#                        no better on val)
WORD_KNOWN = 4         # a word context counts as known from its 4th visit (1st, 2nd or 8th: worse on val)
P_MIN = 1.0 / 65536    # no answer is ever certain: a probability is kept in [P_MIN, 1 - P_MIN]
ST_MAX = 11.09         # stretch(1 - P_MIN): the mixers' outputs, in the stretched domain, are kept within it
EMPTY_SLOT = 2048 << 4   # a slot is 16 bits: a 12-bit probability of answer 1, then a 4-bit visit count
ICM_COUNTS = 16        # a slot's state for the indirect map: its visit count (0..15) ...
ICM_LEVELS = 64        # ... and its probability, in 64 levels
ICM_SHIFT = 6          # 12-bit probability >> 6 = level
ICM_LIMIT = 1023       # the indirect maps' (and run maps') rate stops falling at 1/1024
RUN_LENGTHS = 16       # run lengths 1..15+ (0: none) index each context's run map

# integer config (cfg): indices into one int64 array, so the compiled loop takes few arguments
V, NODES, N_ORDERS, N_WORDS, N_MEMBERS, N_INPUTS, COUNT_LIMIT, MATCH_MIN, SPACE, UNK, BUCKET, MATCH_BITS, \
    USE_ORDERS, USE_WORDS, USE_MATCH, USE_SSE, MEMBER_MASK, N_CFG = range(18)
# float config (rates)
LR_MIXER, LR_FINAL, LR_SSE, SSE_WEIGHT = range(4)


@njit(cache=True)
def _stretch(p):
    return np.log(p / (1.0 - p))


@njit(cache=True)
def _squash(x):
    if x > 40.0:
        x = 40.0
    elif x < -40.0:
        x = -40.0
    return 1.0 / (1.0 + np.exp(-x))


@njit(cache=True)
def _clamp(p):
    return min(max(p, P_MIN), 1.0 - P_MIN)


@njit(cache=True)
def _mix_hash(h, salt):
    h = (h + salt) * 0x7E3779B97F4A7C15
    return h ^ (h >> 29)


@njit(cache=True)
def _match_bucket(length):
    if length < 12:
        return length          # 0 = no match
    if length < 16:
        return 12
    if length < 24:
        return 13
    if length < 32:
        return 14
    return 15


@njit(cache=True)
def run(hist, begin, end, score_from, members, cfg, rates, path_node, path_bit, path_len, node_bit, lo, mid, hi,
        rank, table_base, table_bits, slots, check, match_table, match, match_sm, word, w1, w2, apm1, apm2,
        icm, run_sm, stretch_table, out_nll, out_logp, full):
    """Read hist[begin:end]. A position t >= score_from is scored: out_nll[t - score_from] = -ln P(hist[t]),
    and with `full` out_logp[t - score_from] = ln P(c) for every symbol c; members[m, t - score_from] is
    member m's (V,) distribution for it. Earlier positions are only learned from (members' inputs are 0)."""
    v = cfg[V]
    nodes = cfg[NODES]
    n_ctx = cfg[N_ORDERS] + cfg[N_WORDS]
    n_in = cfg[N_INPUTS]
    n_mem = cfg[N_MEMBERS]
    bucket = cfg[BUCKET]
    depth = path_node.shape[1]
    orders = table_bits.shape[0] - cfg[N_WORDS]   # == cfg[N_ORDERS]

    slot = np.zeros(n_ctx, dtype=np.int64)            # each context's bucket, as a slot index of node 0
    x = np.zeros((nodes, n_in))                       # inputs per node
    sel = np.zeros((nodes, SELECTORS), dtype=np.int64)
    p_sel = np.zeros((nodes, SELECTORS))
    st_sel = np.zeros((nodes, SELECTORS))
    p_mix = np.zeros(nodes)
    apm_at = np.zeros((nodes, 2), dtype=np.int64)
    apm_w = np.zeros(nodes)
    icm_at = np.zeros((nodes, n_ctx), dtype=np.int64)
    run_sym = np.zeros(n_ctx, dtype=np.int64)       # per context: the symbol that last followed it (-1: none)
    run_len = np.zeros(n_ctx, dtype=np.int64)       # and how many times in a row
    p_out = np.zeros(nodes)
    member_p = np.zeros((max(n_mem, 1), v + 1))       # cumulative distribution by leaf rank
    mask = cfg[MEMBER_MASK]

    for t in range(begin, end):
        scored = t >= score_from
        # ---------------------------------------------------------------- contexts of position t
        h = 0
        k_done = 0
        for i in range(orders):
            k = cfg[N_CFG + i]                     # the i-th order (orders listed after the fixed config)
            while k_done < k:
                k_done += 1
                s = hist[t - k_done] if t - k_done >= 0 else v
                h = (h + s + 1) * 0x2F0E1E5B3C7A9D1
            _find(_mix_hash(h, i + 1), i, table_base, table_bits, bucket, slots, check, slot)
        for i in range(cfg[N_WORDS]):
            _find(_mix_hash(word[i], 1000 + i), orders + i, table_base, table_bits, bucket, slots, check, slot)
        for i in range(n_ctx):
            state = slots[slot[i] + nodes]                 # the bucket's spare slot: the context's run
            run_sym[i] = (state & 63) - 1
            run_len[i] = min(state >> 6, RUN_LENGTHS - 1)
        # the longest order whose context has been seen (node 0 counts every visit)
        longest = 0
        for i in range(orders):
            if slots[slot[i]] & 15 > 0:
                longest = i + 1
        # the prefix length (after the word hashes), and how many word contexts, from the shortest, are known
        word_state = min(word[word.shape[0] - 1], 7)
        for i in range(orders, n_ctx if cfg[USE_WORDS] else orders):   # dropped word contexts tell nothing
            if slots[slot[i]] & 15 < WORD_KNOWN:
                break
            word_state += 8
        prev1 = hist[t - 1] if t >= 1 else 0
        prev2 = hist[t - 2] if t >= 2 else 0
        prev3 = hist[t - 3] if t >= 3 else 0
        order3 = ((prev1 * v + prev2) * v + prev3) % ORDER3_SETS
        # (a pointer at or past t would read the character being predicted: never, unless text is read twice)
        expected = hist[match[0]] if match[1] > 0 and match[0] < t else -1
        m_bucket = _match_bucket(match[1])
        if scored:
            r = t - score_from
            for m in range(n_mem):
                total = 0.0
                for c in range(v):
                    member_p[m, rank[c] + 1] = members[m, r, c]
                for q in range(v):
                    total += member_p[m, q + 1]
                    member_p[m, q + 1] = total

        # ---------------------------------------------------------------- predictions
        y = hist[t]
        if full and scored:
            for j in range(nodes):
                _predict(j, x, sel, p_sel, st_sel, p_mix, apm_at, apm_w, p_out, slot, slots, n_ctx, cfg, rates,
                         expected, node_bit, match_sm, m_bucket, scored, member_p, n_mem, mask, lo, mid, hi,
                         prev1, prev2, word_state, longest, order3, w1, w2, apm1, apm2, icm, icm_at, run_sym, run_len,
                         run_sm, stretch_table, v, nodes)
            for c in range(v):
                lp = 0.0
                for d in range(path_len[c]):
                    j = path_node[c, d]
                    lp += np.log(p_out[j] if path_bit[c, d] == 1 else 1.0 - p_out[j])
                out_logp[t - score_from, c] = lp
        else:
            for d in range(path_len[y]):
                _predict(path_node[y, d], x, sel, p_sel, st_sel, p_mix, apm_at, apm_w, p_out, slot, slots, n_ctx,
                         cfg, rates, expected, node_bit, match_sm, m_bucket, scored, member_p, n_mem, mask, lo, mid,
                         hi, prev1, prev2, word_state, longest, order3, w1, w2, apm1, apm2, icm, icm_at, run_sym,
                         run_len, run_sm, stretch_table, v, nodes)
        if scored:
            nll = 0.0
            for d in range(path_len[y]):
                j = path_node[y, d]
                nll -= np.log(p_out[j] if path_bit[y, d] == 1 else 1.0 - p_out[j])
            out_nll[t - score_from] = nll

        # ---------------------------------------------------------------- learning from x[t]
        limit = cfg[COUNT_LIMIT]
        for d in range(path_len[y]):
            j = path_node[y, d]
            bit = path_bit[y, d]
            for i in range(n_ctx):                         # the slots, and the maps from their states
                at = icm_at[j, i]
                icm[at, 0] += (bit - icm[at, 0]) / (icm[at, 1] + 1.5)
                if icm[at, 1] < ICM_LIMIT:
                    icm[at, 1] += 1
                at = slot[i] + j
                n = slots[at] & 15
                p = slots[at] >> 4
                p = min(max(int(p + ((bit * 4095.0) - p) / (n + 1.5) + 0.5), 1), 4094)
                slots[at] = (p << 4) | (n + 1 if n < limit else n)
                if run_sym[i] >= 0 and node_bit[run_sym[i], j] >= 0:   # the run's trust at its length
                    at = i * RUN_LENGTHS + run_len[i]
                    right = 1.0 if node_bit[run_sym[i], j] == bit else 0.0
                    run_sm[at, 0] += (right - run_sm[at, 0]) / (run_sm[at, 1] + 1.5)
                    if run_sm[at, 1] < ICM_LIMIT:
                        run_sm[at, 1] += 1
            if expected >= 0 and node_bit[expected, j] >= 0:   # the match model's trust at this length
                at = m_bucket
                right = 1.0 if node_bit[expected, j] == bit else 0.0
                match_sm[at, 0] += (right - match_sm[at, 0]) / (match_sm[at, 1] + 1.5)
                if match_sm[at, 1] < 1023:
                    match_sm[at, 1] += 1
            for s in range(SELECTORS):                     # first mixer layer
                err = (bit - p_sel[j, s]) * rates[LR_MIXER]
                row = sel[j, s]
                for i in range(n_in):
                    w1[row, i] += err * x[j, i]
            err = (bit - p_mix[j]) * rates[LR_FINAL]       # second layer
            for s in range(SELECTORS):
                w2[j, s] += err * st_sel[j, s]
            w2[j, SELECTORS] += err * 0.5
            if cfg[USE_SSE] == 1:
                _learn_apm(apm1, apm_at[j, 0], apm_w[j], bit, rates[LR_SSE])
                _learn_apm(apm2, apm_at[j, 1], apm_w[j], bit, rates[LR_SSE])

        for i in range(n_ctx):                             # each context's run goes on, or restarts at y
            at = slot[i] + nodes
            state = slots[at]
            if (state & 63) - 1 == y:
                slots[at] = (min((state >> 6) + 1, 1023) << 6) | (y + 1)
            else:
                slots[at] = (1 << 6) | (y + 1)

        # ---------------------------------------------------------------- state for t + 1
        _advance_match(hist, t, match, match_table, cfg[MATCH_MIN], cfg[MATCH_BITS])
        _advance_word(word, y, cfg[SPACE], cfg[UNK])


@njit(cache=True)
def _find(h, i, table_base, table_bits, bucket, slots, check, slot):
    """Point slot[i] at context hash h's bucket in table i: the one of two candidates holding its 16-bit
    check, or else the less visited of the two, emptied for it."""
    mask = (1 << table_bits[i]) - 1
    b0 = (h >> 20) & mask
    b1 = b0 ^ 1 if mask > 0 else b0
    tag = ((h >> 48) & 0xFFFF) | 1
    base = table_base[i]
    for b in (b0, b1):
        if check[base + b] == tag:
            slot[i] = (base + b) * bucket
            return
    victim = b0 if slots[(base + b0) * bucket] & 15 <= slots[(base + b1) * bucket] & 15 else b1
    at = (base + victim) * bucket
    for j in range(bucket):
        slots[at + j] = EMPTY_SLOT
    check[base + victim] = tag
    slot[i] = at


@njit(cache=True)
def _predict(j, x, sel, p_sel, st_sel, p_mix, apm_at, apm_w, p_out, slot, slots, n_ctx, cfg, rates, expected,
             node_bit, match_sm, m_bucket, scored, member_p, n_mem, mask, lo, mid, hi, prev1, prev2, word_state,
             longest, order3, w1, w2, apm1, apm2, icm, icm_at, run_sym, run_len, run_sm, stretch_table, v, nodes):
    """P(answer 1 at node j) into p_out[j], keeping what the update needs (inputs, selections, outputs)."""
    n_in = cfg[N_INPUTS]
    for i in range(n_ctx):
        on = cfg[USE_ORDERS] if i < cfg[N_ORDERS] else cfg[USE_WORDS]
        state = slots[slot[i] + j]
        p12 = state >> 4
        # the slot's state (visits, probability) indexes an adaptive map: what such a state has meant so far
        at = (i * ICM_COUNTS + (state & 15)) * ICM_LEVELS + (p12 >> ICM_SHIFT)
        icm_at[j, i] = at
        x[j, i] = stretch_table[p12] if on == 1 else 0.0
        x[j, n_ctx + i] = stretch_table[int(icm[at, 0] * 4095.999)] if on == 1 else 0.0
        # the run: the symbol that followed this context last, as sure as runs of that length have been
        x[j, 2 * n_ctx + i] = 0.0
        if on == 1 and run_sym[i] >= 0 and node_bit[run_sym[i], j] >= 0:
            st = stretch_table[int(run_sm[i * RUN_LENGTHS + run_len[i], 0] * 4095.999)]
            x[j, 2 * n_ctx + i] = st if node_bit[run_sym[i], j] == 1 else -st
    k = 3 * n_ctx
    x[j, k] = 0.0
    if cfg[USE_MATCH] == 1 and expected >= 0 and node_bit[expected, j] >= 0:
        st = _stretch(_clamp(match_sm[m_bucket, 0]))
        x[j, k] = st if node_bit[expected, j] == 1 else -st
    k += 1
    for m in range(n_mem):
        x[j, k + m] = 0.0
        if scored and (mask >> m) & 1 == 1:
            total = member_p[m, hi[j]] - member_p[m, lo[j]]
            right = member_p[m, hi[j]] - member_p[m, mid[j]]
            if total > 0.0:
                x[j, k + m] = _stretch(_clamp(right / total))
    x[j, n_in - 1] = 0.5                                  # bias
    contexts = (order3, prev1, word_state, prev1 * v + prev2, longest)
    sizes = (ORDER3_SETS, v, 8 * (cfg[N_WORDS] + 1), v * v, cfg[N_ORDERS] + 1)
    offset = 0
    dot2 = 0.0
    for s in range(SELECTORS):
        row = (offset + contexts[s]) * nodes + j
        offset += sizes[s]
        sel[j, s] = row
        dot = 0.0
        for i in range(n_in):
            dot += w1[row, i] * x[j, i]
        dot = min(max(dot, -ST_MAX), ST_MAX)           # = stretch(clamp(squash(dot)))
        st_sel[j, s] = dot
        p_sel[j, s] = _squash(dot)
        dot2 += w2[j, s] * dot
    dot2 += w2[j, SELECTORS] * 0.5
    dot2 = min(max(dot2, -ST_MAX), ST_MAX)
    p = _squash(dot2)
    p_mix[j] = p
    if cfg[USE_SSE] == 1:
        pos = (dot2 + 8.0) * (BINS - 1) / 16.0
        pos = min(max(pos, 0.0), BINS - 1.001)
        low = int(pos)
        frac = pos - low
        apm_w[j] = frac
        apm_at[j, 0] = (prev1 * nodes + j) * BINS + low
        apm_at[j, 1] = ((prev1 * v + prev2) * nodes + j) * BINS + low
        a1 = apm1[apm_at[j, 0]] * (1 - frac) + apm1[apm_at[j, 0] + 1] * frac
        a2 = apm2[apm_at[j, 1]] * (1 - frac) + apm2[apm_at[j, 1] + 1] * frac
        weight = rates[SSE_WEIGHT]
        p = (1 - weight) * p + weight * 0.5 * (a1 + a2)
    p_out[j] = _clamp(p)


@njit(cache=True)
def _learn_apm(apm, at, frac, bit, rate):
    apm[at] += (bit - apm[at]) * rate * (1 - frac)
    apm[at + 1] += (bit - apm[at + 1]) * rate * frac


@njit(cache=True)
def _advance_match(hist, t, match, match_table, min_len, bits):
    """After reading hist[t]: extend the current match, or look the last min_len symbols up; then index them."""
    if match[1] > 0:
        if match[0] < t and hist[match[0]] == hist[t]:
            match[1] += 1
            match[0] += 1
        else:
            match[1] = 0
    if t + 1 < min_len:
        return
    h = 0
    for k in range(min_len):
        h = (h + hist[t - k] + 1) * 0x2F0E1E5B3C7A9D1
    at = (_mix_hash(h, 7) >> 20) & ((1 << bits) - 1)
    if match[1] == 0:
        candidate = match_table[at]
        if candidate > 0:
            length = 0
            while length < 400 and candidate - 1 - length >= 0 and hist[candidate - 1 - length] == hist[t - length]:
                length += 1
            if length >= min_len:
                match[0] = candidate
                match[1] = length
    match_table[at] = t + 1


@njit(cache=True)
def _advance_word(word, y, space, unk):
    """word = [hash of the current word's prefix, that of it with the previous word, ... , prefix length]."""
    n = word.shape[0] - 1
    if y == space or y == unk:
        if word[n] > 0:                      # a word just ended: shift the word history
            for i in range(n - 1, 0, -1):
                word[i] = (word[i - 1] + 0x51ED27) * 0x2F0E1E5B3C7A9D1
            word[0] = 0
        word[n] = 0
    else:
        for i in range(n):
            word[i] = (word[i] + y + 1) * 0x6F4F2A35
        word[n] += 1
