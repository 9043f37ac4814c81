"""Pairwise losses: clamped cosine, contrastive, online contrastive, in-batch negatives ranking."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from simtune.distances import Distance
from simtune.losses.base import PairwiseLoss


class ClampedCosineLoss(PairwiseLoss):
    """Regression of the cosine onto the score, with negatives clamped at 0.

    loss = mean_i ( s_i * (1 - cos_i) + max((1 - s_i) * cos_i, 0) )^2

    A pair with score 1 is pulled to cosine 1; a pair with score 0 is pushed to cosine 0 or
    below, and costs nothing once there (cos -0.3 with score 0 gives 0; cos 0.5 gives 0.25).
    """

    def forward(self, emb_a: Tensor, emb_b: Tensor, scores: Tensor, subgroups: Tensor | None = None) -> Tensor:
        cos = F.cosine_similarity(emb_a, emb_b, dim=-1)  # (n,)
        scores = scores.to(cos.dtype)
        per_pair = scores * (1.0 - cos) + torch.clamp((1.0 - scores) * cos, min=0.0)
        return per_pair.pow(2).mean()


class ContrastiveLoss(PairwiseLoss):
    """Hadsell et al.'s contrastive loss on a distance d (cosine distance by default).

    loss = mean_i 0.5 * ( s_i * d_i^2 + (1 - s_i) * max(margin - d_i, 0)^2 )

    Args:
        margin: Negatives farther than this cost nothing.
        distance: The distance d.
    """

    def __init__(self, margin: float = 0.5, distance: Distance | str = Distance.COSINE) -> None:
        super().__init__(distance)
        self.margin = float(margin)

    def forward(self, emb_a: Tensor, emb_b: Tensor, scores: Tensor, subgroups: Tensor | None = None) -> Tensor:
        d = self.distance.distance(emb_a, emb_b)  # (n,)
        scores = scores.to(d.dtype)
        per_pair = scores * d.pow(2) + (1.0 - scores) * F.relu(self.margin - d).pow(2)
        return 0.5 * per_pair.mean()


class OnlineContrastiveLoss(PairwiseLoss):
    """Contrastive loss on the batch's hard pairs only.

    Positives (score > 0.5) count when they are farther than the closest negative; negatives
    count when they are closer than the farthest positive. With no negative (or no positive)
    in the batch, every positive (negative) counts.

    loss = ( sum_{hard pos} d^2 + sum_{hard neg} max(margin - d, 0)^2 ) / n
    """

    def __init__(self, margin: float = 0.5, distance: Distance | str = Distance.COSINE) -> None:
        super().__init__(distance)
        self.margin = float(margin)

    def forward(self, emb_a: Tensor, emb_b: Tensor, scores: Tensor, subgroups: Tensor | None = None) -> Tensor:
        d = self.distance.distance(emb_a, emb_b)  # (n,)
        positive = scores > 0.5
        all_pos, all_neg = d[positive], d[~positive]
        hard_pos = all_pos[all_pos > all_neg.min()] if len(all_neg) else all_pos
        hard_neg = all_neg[all_neg < all_pos.max()] if len(all_pos) else all_neg
        total = hard_pos.pow(2).sum() + F.relu(self.margin - hard_neg).pow(2).sum()
        return total / d.shape[0]


class MultipleNegativesRankingLoss(PairwiseLoss):
    """In-batch negatives: each obj_a must pick its own obj_b among the batch's obj_b.

    For anchors i (pairs with score > 0.5):
        loss = mean_i CE( scale * sim(a_i, b_j) over j, target i )
    where b_j of another pair with the same non-zero subgroup as i is masked out (it is not a
    negative); subgroup 0 means "no subgroup": every other pair is a negative. Score-0 pairs
    are not anchors but their obj_b still serve as negatives. ``symmetric`` adds the same
    term with the roles of a and b swapped and averages the two.

    Args:
        scale: Inverse temperature of the softmax.
        symmetric: Also rank the a's for each b.
        distance: Similarity used (cosine by default).
    """

    def __init__(
        self, scale: float = 20.0, symmetric: bool = False, distance: Distance | str = Distance.COSINE
    ) -> None:
        super().__init__(distance)
        self.scale = float(scale)
        self.symmetric = bool(symmetric)

    def forward(self, emb_a: Tensor, emb_b: Tensor, scores: Tensor, subgroups: Tensor) -> Tensor:
        sim = self.scale * self.distance.similarity_matrix(emb_a, emb_b)  # (n, n)
        n = sim.shape[0]
        same = (subgroups[:, None] == subgroups[None, :]) & (subgroups[:, None] != 0)  # (n, n)
        not_negative = same & ~torch.eye(n, dtype=torch.bool, device=sim.device)
        logits = sim.masked_fill(not_negative, float("-inf"))
        anchors = scores > 0.5
        if not anchors.any():
            return sim.sum() * 0.0  # keeps the graph: a batch of only negatives teaches nothing here
        target = torch.arange(n, device=sim.device)
        loss = F.cross_entropy(logits[anchors], target[anchors])
        if self.symmetric:
            loss = 0.5 * (loss + F.cross_entropy(logits.T[anchors], target[anchors]))
        return loss
