"""Small helpers for training under Lightning strategies."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def gather_rows(module: Any, rows: Tensor) -> Tensor:
    """All-gather a (n_rank, ...) tensor whose n differs between ranks -> (sum of n, ...).

    ``LightningModule.all_gather`` needs equal shapes, so rows are padded to the largest
    rank's count, gathered, and trimmed back.
    """
    count = torch.tensor([rows.shape[0]], device=rows.device)
    counts = module.all_gather(count).view(-1)  # (world,)
    longest = int(counts.max())
    padded = rows.new_zeros((longest, *rows.shape[1:]))
    padded[: rows.shape[0]] = rows
    gathered = module.all_gather(padded)  # (world, longest, ...)
    return torch.cat([gathered[r, : int(c)] for r, c in enumerate(counts)])
