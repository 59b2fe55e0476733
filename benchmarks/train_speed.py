"""Benchmark: the seed notebook's training method against charlm's trainer, on the same data, in one run.

Data: the ten novels (../shared/data/novels), cleaned with charlm's functions, the last 10% of each book
held out for validation. Both methods are scored the same way (charlm's streamed val bpc) and timed on
training only (evaluation excluded). Prints:
  1. tokens/s at the notebook's exact configuration (one-hot LSTM 256, batch 32, 40 steps, SGD lr 1,
     clip 1, sequential iterator with a random offset): charlm's loop vs the notebook's loop, and the
     share of the machine's measured fp32 matmul FLOP/s that each reaches;
  2. wall-clock to reach 2.40 val bpc: charlm's comparison `lstm` and `champion` recipes (params.yaml, each
     at its own lr and schedule) vs the notebook's;
  3. every model in params.yaml at its default recipe (scaled by --budget): val bpc, time, tokens/s.

    python benchmarks/train_speed.py [--parts 1,2,3] [--budget 0.1] [--threads 2]
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from charlm.data.clean import clean, decode_book, strip_gutenberg  # noqa: E402
from charlm.data.split import split_book  # noqa: E402
from charlm.data.vocab import count_tokens, vocab_from_counts  # noqa: E402
from charlm.models import build_model  # noqa: E402
from charlm.models.scoring import stream_nll  # noqa: E402
from charlm.params import load_params  # noqa: E402
from charlm.train.loop import train  # noqa: E402
from charlm.train.runtime import reuse_freed_memory  # noqa: E402

TARGET_BPC = 2.40


class _Reached(Exception):
    """Raised from an eval callback to stop training once the target is met."""


# ------------------------------------------------------------------------- data (charlm's functions)
def load_novels(folder: Path, params) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(train ids, val ids, vocab size): each book cleaned, its last ~10% (cut at a space) held out."""
    pre, books = params.preprocess, params.data.books
    train_parts, val_parts = [], []
    for book in books:
        text = clean(strip_gutenberg(decode_book((folder / f"{book.id}.txt").read_bytes(), str(book.id))),
                     pre.alphabet, pre.lowercase, pre.fold_accents)
        head, val, test = split_book(text, 0.05, 0.05, str(book.id))
        train_parts.append(head)
        val_parts.append(f"{val} {test}")
    train_text, val_text = " ".join(train_parts), " ".join(val_parts)
    vocab = vocab_from_counts(count_tokens(train_text, "char"), "char", 0)
    as_tensor = lambda text: torch.from_numpy(vocab.encode(text).astype(np.int64))  # noqa: E731
    return as_tensor(train_text), as_tensor(val_text), len(vocab)


# ------------------------------------------------------------- the notebook's method, cell for cell
class NotebookRNN(nn.Module):
    """The notebook's RNNModel: one-hot input, a sequence-first nn.LSTM, a linear head on (T*B, H)."""

    def __init__(self, rnn_layer: nn.Module, vocab_size: int):
        super().__init__()
        self.rnn, self.vocab_size = rnn_layer, vocab_size
        self.linear = nn.Linear(rnn_layer.hidden_size, vocab_size)

    def forward(self, inputs, state):
        X = F.one_hot(inputs.T.long(), self.vocab_size).type(torch.float32)
        Y, state = self.rnn(X, state)
        return self.linear(Y.reshape((-1, Y.shape[-1]))), state


class NotebookAsLM(nn.Module):
    """Only for scoring: the notebook model behind charlm's (B, T) -> (B, T, V) contract."""

    def __init__(self, net: NotebookRNN):
        super().__init__()
        self.net = net

    def forward(self, tokens, state=None):
        logits, state = self.net(tokens, state)                    # (T*B, V), time-major
        return logits.view(tokens.shape[1], tokens.shape[0], -1).transpose(0, 1), state


def seq_data_iter(corpus, batch_size, num_steps):
    offset = random.randint(0, num_steps)
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = corpus[offset: offset + num_tokens].reshape(batch_size, -1)
    Ys = corpus[offset + 1: offset + 1 + num_tokens].reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        yield Xs[:, i: i + num_steps], Ys[:, i: i + num_steps]


def grad_clipping(net, theta):
    """d2l's grad_clipping, which the notebook calls but never defines: global-norm clipping."""
    params = [p for p in net.parameters() if p.requires_grad]
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


def notebook_train(net, corpus, lr, max_tokens, on_eval, eval_every):
    """train_epoch_ch8 with SGD + clipping, epoch after epoch; on_eval(tokens, train seconds) every N tokens."""
    loss, updater = nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), lr)
    tokens, seconds, next_eval = 0, 0.0, eval_every
    while tokens < max_tokens:
        state, tic = None, time.perf_counter()
        for X, Y in seq_data_iter(corpus, 32, 40):
            if state is None:
                state = (torch.zeros((1, X.shape[0], 256)), torch.zeros((1, X.shape[0], 256)))
            else:
                for s in state:
                    s.detach_()
            y = Y.T.reshape(-1)
            y_hat, state = net(X, state)
            l = loss(y_hat, y.long()).mean()  # noqa: E741 (the notebook's name)
            updater.zero_grad()
            l.backward()
            grad_clipping(net, 1)
            updater.step()
            tokens += y.numel()
            if tokens >= next_eval or tokens >= max_tokens:
                seconds += time.perf_counter() - tic
                on_eval(tokens, seconds)
                next_eval += eval_every
                tic = time.perf_counter()
                if tokens >= max_tokens:
                    return
        seconds += time.perf_counter() - tic


# ------------------------------------------------------------------------------------ measurements
def matmul_flops(n: int = 1024, seconds: float = 1.0) -> float:
    """Measured fp32 matmul FLOP/s (n×n @ n×n, best run), the faster of MKL's sgemm and oneDNN's.

    On AMD CPUs MKL's sgemm may take an AVX2 path while oneDNN (which runs PyTorch's CPU LSTM) uses
    AVX-512, so sgemm alone can understate the machine by 2x.
    """
    a, b = torch.randn(n, n), torch.randn(n, n)
    kernels = [lambda: a @ b]
    if torch.backends.mkldnn.is_available():
        a_dnn = a.to_mkldnn()
        kernels.append(lambda: torch._C._nn.mkldnn_linear(a_dnn, b, None))
    best = 0.0
    for kernel in kernels:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            tic = time.perf_counter()
            kernel()
            best = max(best, 2 * n ** 3 / (time.perf_counter() - tic))
    return best


def lstm_train_flops_per_token(input_size: int, hidden: int, vocab: int) -> float:
    """Matmul FLOPs of one training token (forward + backward ≈ 3× forward) for a 1-layer LSTM LM."""
    return 3 * (2 * 4 * hidden * (input_size + hidden) + 2 * hidden * vocab)


def val_bpc(lm, val_ids, batch_size=64) -> float:
    return float(stream_nll(lm, val_ids, batch_size).mean()) / math.log(2)


def charlm_run(model_params, p, train_ids, val_ids, vocab_size, stop_below=None):
    """Train with charlm's loop; returns (history, training seconds up to the last evaluation)."""
    torch.manual_seed(p.seed)
    model = build_model(model_params, vocab_size)
    history = []

    def on_eval(row, _snapshot):
        history.append(row)
        if stop_below is not None and row["val_bpc"] <= stop_below:
            raise _Reached

    try:
        train(model, train_ids, val_ids, p, on_eval=on_eval)
    except _Reached:
        pass
    seen = [0] + [r["tokens"] for r in history]
    return history, sum((b - a) / r["tokens_per_s"] for a, b, r in zip(seen, seen[1:], history))


def notebook_run(train_ids, val_ids, vocab_size, max_tokens, eval_every, stop_below=None):
    """The notebook's method; returns ([(tokens, train seconds, val bpc)], whether it stopped at the target)."""
    torch.manual_seed(0)
    random.seed(0)
    net = NotebookRNN(nn.LSTM(vocab_size, 256), vocab_size)
    rows = []

    def on_eval(tokens, seconds):
        rows.append((tokens, seconds, val_bpc(NotebookAsLM(net).eval(), val_ids) if eval_every else math.nan))
        net.train()
        if stop_below is not None and rows[-1][2] <= stop_below:
            raise _Reached

    try:
        notebook_train(net, train_ids, 1.0, max_tokens, on_eval, eval_every or max_tokens)
    except _Reached:
        return rows, True
    return rows, False


# ------------------------------------------------------------------------------------------ parts
def part1(params, train_ids, val_ids, vocab_size, tokens: int, repeats: int) -> None:
    base = params.models["lstm"]
    model_params = base.model_copy(update=dict(arch="lstm", num_layers=1, hidden_size=256, input="one_hot",
                                               dropout=0.0, tie_weights=False))
    p = params.train.model_copy(update=dict(optimizer="sgd", lr=1.0, weight_decay=0.0, clip_norm=1.0, batch_size=32,
                                            num_steps=40, iterator="sequential", schedule="constant", warmup_tokens=0,
                                            max_tokens=tokens, eval_every_tokens=10 * tokens, patience=0))
    def notebook_speed():
        rows, _ = notebook_run(train_ids, val_ids[:2000], vocab_size, tokens, eval_every=0)
        return rows[-1][0] / rows[-1][1]

    def charlm_speed():
        history, seconds = charlm_run(model_params, p, train_ids, val_ids[:2000], vocab_size)
        return history[-1]["tokens"] / seconds

    nb, ours = [], []
    for i in range(repeats):   # interleaved, alternating who goes first, best of each: load hits both alike
        for run in ((notebook_speed, charlm_speed) if i % 2 == 0 else (charlm_speed, notebook_speed)):
            (nb if run is notebook_speed else ours).append(run())
    peak = matmul_flops()
    per_token = lstm_train_flops_per_token(vocab_size, 256, vocab_size)
    print(f"\n1. Notebook configuration (one-hot LSTM 256, batch 32 x 40 steps, SGD lr 1, clip 1), "
          f"{tokens:,} tokens, best of {repeats}")
    print(f"   machine fp32 matmul: {peak / 1e9:.0f} GFLOP/s ({torch.get_num_threads()} threads); "
          f"{per_token / 1e6:.2f} MFLOP per training token")
    for label, speed in (("notebook loop", max(nb)), ("charlm loop  ", max(ours))):
        print(f"   {label}: {speed:>9,.0f} tokens/s = {100 * speed * per_token / peak:4.1f}% of matmul peak")
    print(f"   charlm / notebook: {max(ours) / max(nb):.2f}x  (goal >= 1.0x)")


def crossing_time(points: list[tuple[float, float]], target: float) -> float:
    """Training seconds at which val bpc first reaches `target`, interpolated between evaluations.

    `points` are (seconds, bpc) at each evaluation; linear interpolation keeps the eval spacing of
    either method from biasing the comparison. NaN when the target is never reached.
    """
    previous = (0.0, math.inf)
    for seconds, bpc in points:
        if bpc <= target:
            (s0, b0) = previous
            return seconds if not math.isfinite(b0) else s0 + (seconds - s0) * (b0 - target) / (b0 - bpc)
        previous = (seconds, bpc)
    return math.nan


def part2(params, train_ids, val_ids, vocab_size, max_tokens: int) -> None:
    print(f"\n2. Wall-clock (training only) to reach {TARGET_BPC} val bpc, interpolated between evaluations")
    rows, _ = notebook_run(train_ids, val_ids, vocab_size, max_tokens, 250_000, TARGET_BPC)
    nb_s = crossing_time([(s, b) for _, s, b in rows], TARGET_BPC)
    print(f"   notebook method:              {nb_s:6.1f} s  (val {rows[-1][2]:.3f} bpc after {rows[-1][0]:,} tokens)")
    # The comparison's lstm (its tuned lr, a cosine over its own budget) and the champion's recipe: each as
    # the pipeline trains it, evaluated every 100k tokens and stopped once it is below the target.
    for name, label in (("lstm", "comparison lstm recipe"), ("champion", "champion recipe       ")):
        if name not in params.models:
            continue
        p = params.model_train(name).model_copy(update={"eval_every_tokens": 100_000})
        history, _ = charlm_run(params.models[name], p, train_ids, val_ids, vocab_size, TARGET_BPC)
        seen = [0] + [r["tokens"] for r in history]
        elapsed = np.cumsum([(b - a) / r["tokens_per_s"] for a, b, r in zip(seen, seen[1:], history)])
        ours = crossing_time([(float(t), r["val_bpc"]) for t, r in zip(elapsed, history)], TARGET_BPC)
        outcome = (f"speed-up {nb_s / ours:.1f}x  (goal >= 10x)" if math.isfinite(ours) else
                   f"not reached within its budget of {p.max_tokens:,} tokens")
        print(f"   charlm {label}: {ours:6.1f} s  (val {history[-1]['val_bpc']:.3f} bpc after "
              f"{history[-1]['tokens']:,} tokens)  {outcome}")


def part3(params, train_ids, val_ids, vocab_size, budget: float) -> None:
    print(f"\n3. Default recipes from params.yaml at {budget:g} x their token budget")
    print(f"   {'model':<10} {'params':>9} {'tokens':>11} {'val bpc':>8} {'train s':>8} {'wall s':>7} {'tokens/s':>9}")
    for name, model_params in params.models.items():
        p = params.model_train(name)
        p = p.model_copy(update={"max_tokens": max(1, int(p.max_tokens * budget))})
        tic = time.perf_counter()
        history, seconds = charlm_run(model_params, p, train_ids, val_ids, vocab_size)
        wall = time.perf_counter() - tic
        count = sum(q.numel() for q in build_model(model_params, vocab_size).parameters())
        best = min(r["val_bpc"] for r in history)
        print(f"   {name:<10} {count:>9,} {history[-1]['tokens']:>11,} {best:>8.3f} {seconds:>8.1f} {wall:>7.1f} "
              f"{history[-1]['tokens'] / seconds:>9,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--novels", type=Path, default=REPO.parent / "shared" / "data" / "novels")
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    parser.add_argument("--parts", default="1,2,3")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--speed-tokens", type=int, default=1_000_000, help="part 1: tokens per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="part 1: interleaved runs of each loop")
    parser.add_argument("--max-tokens", type=int, default=30_000_000, help="part 2: give up after this many")
    parser.add_argument("--budget", type=float, default=1.0, help="part 3: fraction of each token budget")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    reuse_freed_memory()   # as the train stage does; the notebook's loop runs in this process too, so both get it
    params = load_params(args.params)
    train_ids, val_ids, vocab_size = load_novels(args.novels, params)
    print(f"data: {len(train_ids):,} train / {len(val_ids):,} val characters, vocabulary {vocab_size}, "
          f"{torch.get_num_threads()} threads")
    parts = {int(x) for x in args.parts.split(",")}
    if 1 in parts:
        part1(params, train_ids, val_ids, vocab_size, args.speed_tokens, args.repeats)
    if 2 in parts:
        part2(params, train_ids, val_ids, vocab_size, args.max_tokens)
    if 3 in parts:
        part3(params, train_ids, val_ids, vocab_size, args.budget)


if __name__ == "__main__":
    main()
