"""Loss base classes: pairwise losses over (emb_a, emb_b, scores) and group losses over labels."""

from __future__ import annotations

from torch import Tensor, nn

from simtune.distances import Distance


class SimilarityLoss(nn.Module):
    """Base of every simtune loss.

    Args:
        distance: The distance the loss works in (cosine by default).
    """

    def __init__(self, distance: Distance | str = Distance.COSINE) -> None:
        super().__init__()
        self.distance = Distance(distance)


class PairwiseLoss(SimilarityLoss):
    """A loss over n pairs: emb_a (n, d), emb_b (n, d), scores (n,), subgroups (n,) -> scalar."""

    def forward(self, emb_a: Tensor, emb_b: Tensor, scores: Tensor, subgroups: Tensor) -> Tensor:
        raise NotImplementedError


class GroupLoss(SimilarityLoss):
    """A loss over n labelled objects: embeddings (n, d), groups (n,) -> scalar."""

    def forward(self, embeddings: Tensor, groups: Tensor) -> Tensor:
        raise NotImplementedError
