"""Group losses: triplet loss with batch-hard or batch-all mining."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from simtune.distances import Distance
from simtune.losses.base import GroupLoss

MINING = ("batch_hard", "batch_all")


class TripletLoss(GroupLoss):
    """Triplet loss over the batch, on distance d (cosine distance by default).

    batch_hard: for each anchor with a positive and a negative in the batch,
        loss_a = max(max_p d(a, p) - min_n d(a, n) + margin, 0); the loss is their mean.
    batch_all: every valid (a, p, n) triplet, loss = mean over those with a positive
        value of (d(a, p) - d(a, n) + margin); 0 when none is positive.

    Args:
        margin: Required gap between negative and positive distances.
        mining: "batch_hard" or "batch_all".
        distance: The distance d.
    """

    def __init__(
        self, margin: float = 0.5, mining: str = "batch_hard", distance: Distance | str = Distance.COSINE
    ) -> None:
        super().__init__(distance)
        if mining not in MINING:
            raise ValueError(f"mining must be one of {MINING}, got {mining!r}")
        self.margin = float(margin)
        self.mining = mining

    def forward(self, embeddings: Tensor, groups: Tensor) -> Tensor:
        d = self.distance.distance_matrix(embeddings)  # (n, n)
        n = d.shape[0]
        same = groups[:, None] == groups[None, :]
        eye = torch.eye(n, dtype=torch.bool, device=d.device)
        positive = same & ~eye  # (n, n)
        negative = ~same
        if self.mining == "batch_hard":
            hardest_pos = d.masked_fill(~positive, float("-inf")).amax(dim=1)  # (n,)
            hardest_neg = d.masked_fill(~negative, float("inf")).amin(dim=1)  # (n,)
            valid = positive.any(dim=1) & negative.any(dim=1)
            if not valid.any():
                return d.sum() * 0.0
            return F.relu(hardest_pos[valid] - hardest_neg[valid] + self.margin).mean()
        triplets = d[:, :, None] - d[:, None, :] + self.margin  # (a, p, n)
        valid = positive[:, :, None] & negative[:, None, :]
        losses = F.relu(triplets[valid])
        active = losses > 0
        return losses[active].mean() if active.any() else d.sum() * 0.0
