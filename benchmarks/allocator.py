"""Benchmark: training speed of each default model with glibc's default malloc and with freed memory reused.

charlm's train stage calls charlm.train.runtime.reuse_freed_memory() before training: glibc then keeps
big freed blocks for reuse instead of unmapping them, so a step's large buffers stop costing fresh pages
(minor page faults, kernel time) on every step. Each model here runs charlm's own training loop
(`charlm.train.loop.train`) with its default params from params.yaml, on random tokens (speed does not
depend on the text), once in a process with the default allocator and once with reuse on. Both arms run
in the same invocation, so the ratio is what to compare across machines. Both also train to the same
val bpc: the setting moves bytes, not values.

    python benchmarks/allocator.py [--tokens 600000] [--models deep_lstm bilstm ...]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

VOCAB = 28   # the default alphabet's vocabulary: <unk>, space, a-z


def child(name: str, tokens: int, reuse: bool) -> None:
    """Train `name` for `tokens` tokens; print tokens/s of the second half, kernel seconds and faults as JSON."""
    import torch

    from charlm.models import build_model
    from charlm.params import load_params
    from charlm.train.loop import train
    from charlm.train.runtime import reuse_freed_memory

    params = load_params(REPO / "params.yaml")
    p = params.model_train(name)
    p = p.model_copy(update=dict(max_tokens=tokens, eval_every_tokens=tokens // 2, warmup_tokens=0, device="cpu"))
    if reuse:
        assert reuse_freed_memory(), "this C library has no mallopt"
    torch.use_deterministic_algorithms(True)   # as the train stage runs on the CPU
    data = torch.randint(0, VOCAB, (2_000_000,), generator=torch.Generator().manual_seed(0))
    torch.manual_seed(p.seed)
    model = build_model(params.models[name], VOCAB)
    before = resource.getrusage(resource.RUSAGE_SELF)
    pos = train(model, data, data[:4096], p)
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"tokens_per_s": pos.history[-1]["tokens_per_s"], "val_bpc": pos.history[-1]["val_bpc"],
                      "sys_s": after.ru_stime - before.ru_stime, "user_s": after.ru_utime - before.ru_utime,
                      "faults_per_step": (after.ru_minflt - before.ru_minflt) / pos.step}))


def run(name: str, tokens: int, reuse: bool) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", name, str(tokens), str(int(reuse))],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=600_000, help="training tokens per model and arm")
    parser.add_argument("--models", nargs="+", default=["rnn", "gru", "lstm", "deep_lstm", "bilstm", "transformer"])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, tokens, reuse = args.child
        return child(name, int(tokens), reuse == "1")
    print(f"{args.tokens:,} training tokens per model; tokens/s over the second half\n")
    print("| model | default malloc tok/s | reuse tok/s | speed-up | kernel s (default → reuse) "
          "| MB of fresh pages per step (default → reuse) | same val bpc |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name in args.models:
        base, reuse = run(name, args.tokens, False), run(name, args.tokens, True)
        mb = [r["faults_per_step"] * resource.getpagesize() / 1e6 for r in (base, reuse)]
        print(f"| {name} | {base['tokens_per_s']:,.0f} | {reuse['tokens_per_s']:,.0f} "
              f"| **{reuse['tokens_per_s'] / base['tokens_per_s']:.2f}×** | {base['sys_s']:.1f} → {reuse['sys_s']:.1f} "
              f"| {mb[0]:.1f} → {mb[1]:.1f} | {base['val_bpc'] == reuse['val_bpc']} |", flush=True)


if __name__ == "__main__":
    main()
