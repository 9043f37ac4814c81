"""Similarity losses; each one's formula is in its docstring."""

from simtune.losses.base import GroupLoss, PairwiseLoss, SimilarityLoss
from simtune.losses.group_losses import TripletLoss
from simtune.losses.pair_losses import (
    ClampedCosineLoss,
    ContrastiveLoss,
    MultipleNegativesRankingLoss,
    OnlineContrastiveLoss,
)

__all__ = [
    "ClampedCosineLoss",
    "ContrastiveLoss",
    "GroupLoss",
    "MultipleNegativesRankingLoss",
    "OnlineContrastiveLoss",
    "PairwiseLoss",
    "SimilarityLoss",
    "TripletLoss",
]
