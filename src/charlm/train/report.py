"""Training output: DVCLive curves, a progress bar (silent without a TTY) and one summary line per eval."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

from tqdm import tqdm

# history column -> DVCLive metric name (plots/metrics/<name>.tsv, x axis = training tokens seen).
# Only seed-determined columns: the DVCLive dir is a stage output, so two runs must write the same bytes.
# Speed lives in the runtime log (metrics/runtime/<name>.json, not an output) and the summary line.
LIVE_METRICS = {"train_loss_nats": "train/loss_nats", "val_nats": "val/nats", "val_bpc": "val/bpc",
                "val_bpc_forward": "val/bpc_forward", "val_bpc_backward": "val/bpc_backward", "lr": "lr"}


class Reporter:
    """Rebuilds the DVCLive dir from `history` (so a resumed run's curves equal an unbroken run's), then appends."""

    def __init__(self, name: str, live_dir: str | Path | None, total_tokens: int, history: list[dict]):
        self.name = name
        self.live = None
        if live_dir is not None:
            with contextlib.redirect_stdout(io.StringIO()):  # dvclive announces itself; stage output stays lean
                from dvclive import Live
                self.live = Live(str(live_dir), dvcyaml=False, save_dvc_exp=False)  # resume=False: starts clean
            for row in history:
                self._log(row)
        done = history[-1]["tokens"] if history else 0
        self.bar = tqdm(total=total_tokens, initial=done, unit="tok", unit_scale=True, desc=name, disable=None,
                        leave=False)

    def step(self, tokens: int) -> None:
        self.bar.update(tokens)

    def eval(self, row: dict) -> None:
        """Log one evaluation row and print its summary line."""
        self._log(row)
        directions = " ".join(f"{k[8:]} {v:.3f}" for k, v in row.items() if k.startswith("val_bpc_"))
        tqdm.write(f"{self.name} step {row['step']} tokens {row['tokens']:,} epoch {row['epoch']} "
                   f"train {row['train_loss_nats']:.3f} nats  val {row['val_bpc']:.4f} bpc ({directions})  "
                   f"lr {row['lr']:.2e}  {row['tokens_per_s']:,.0f} tok/s")

    def close(self) -> None:
        self.bar.close()
        if self.live is not None:
            self.live.end()

    def _log(self, row: dict) -> None:
        if self.live is None:
            return
        self.live.step = row["tokens"]
        for column, metric in LIVE_METRICS.items():
            if column in row:
                self.live.log_metric(metric, row[column])
        self.live.next_step()
