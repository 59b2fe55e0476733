"""Validation during training: the val split's nll in every direction, streamed, optionally over ranks."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from charlm.models.scoring import direction_tokens, stream_nll
from charlm.train.distributed import SINGLE, Dist


def validate(model: nn.Module, val_tokens: torch.Tensor, batch_size: int, dist: Dist = SINGLE) -> dict:
    """Val nll of every direction, streamed over the whole split: {val_nats, val_bpc, val_bpc_<direction>}.

    Under DDP each rank scores its share of the streams and the nll sums are added up, so every rank
    gets the same numbers.
    """
    directions = model.directions()
    if dist.active:
        sums = [_shard_nll(lm, direction_tokens(val_tokens, reverse), batch_size, dist) for lm, reverse in directions]
        totals = dist.sum(torch.tensor(sums, dtype=torch.float64)).tolist()    # [[nll sum, count] per direction]
        nats = [total / count for total, count in totals]
    else:
        nats = [float(stream_nll(lm, direction_tokens(val_tokens, reverse), batch_size).mean())
                for lm, reverse in directions]
    row = {f"val_bpc_{'backward' if reverse else 'forward'}": n / math.log(2)
           for (_, reverse), n in zip(directions, nats)}
    row["val_nats"] = sum(nats) / len(nats)
    row["val_bpc"] = row["val_nats"] / math.log(2)
    return row


def _shard_nll(lm: nn.Module, tokens: torch.Tensor, batch_size: int, dist: Dist) -> list[float]:
    """[nll sum, count] over this rank's contiguous share of the streams stream_nll cuts `tokens` into.

    The share is cut out (and its tail padded) so that stream_nll splits it into exactly those streams,
    each starting where it starts in the single-process layout; padding is only ever read after a
    stream's real tokens, so it changes nothing, and only the real targets are summed.
    """
    n = tokens.numel() - 1
    streams = min(batch_size, n)
    length = math.ceil(n / streams)                                         # stream_nll's layout
    first, last = dist.rank * streams // dist.world_size, (dist.rank + 1) * streams // dist.world_size
    start = first * length
    real = max(0, min(last * length, n) - start)                            # targets this rank scores
    if real == 0:
        return [0.0, 0.0]
    piece = tokens[start:start + real + 1]
    piece = F.pad(piece, (0, (last - first) * length + 1 - piece.numel()))
    return [float(stream_nll(lm, piece, last - first)[:real].sum()), float(real)]
