"""Distances between embeddings, as distances and as similarities, for pairs and matrices."""

from __future__ import annotations

from enum import StrEnum

import torch
import torch.nn.functional as F
from torch import Tensor


class Distance(StrEnum):
    """A distance between embeddings.

    ``similarity`` is ordered the opposite way from ``distance`` (larger is closer):
    cosine similarity, the dot product, and the negated euclidean or manhattan distance.

    Example:
        >>> x = torch.tensor([[1.0, 0.0]]); y = torch.tensor([[0.0, 2.0]])
        >>> Distance.EUCLIDEAN.distance(x, y)
        tensor([2.2361])
    """

    COSINE = "cosine"
    DOT_PRODUCT = "dot_product"
    EUCLIDEAN = "euclidean"
    MANHATTAN = "manhattan"

    def distance(self, x: Tensor, y: Tensor) -> Tensor:
        """Row-wise distance of pairs: x (n, d), y (n, d) -> (n,)."""
        if self is Distance.COSINE:
            return 1.0 - F.cosine_similarity(x, y, dim=-1)
        if self is Distance.DOT_PRODUCT:
            return -(x * y).sum(-1)
        if self is Distance.EUCLIDEAN:
            return (x - y).norm(p=2, dim=-1)
        return (x - y).abs().sum(-1)

    def similarity(self, x: Tensor, y: Tensor) -> Tensor:
        """Row-wise similarity of pairs: x (n, d), y (n, d) -> (n,)."""
        if self is Distance.COSINE:
            return F.cosine_similarity(x, y, dim=-1)
        return -self.distance(x, y)

    def distance_matrix(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """All-pairs distances: x (n, d), y (m, d) or None for x itself -> (n, m)."""
        y = x if y is None else y
        if self is Distance.COSINE:
            return 1.0 - F.normalize(x, dim=-1) @ F.normalize(y, dim=-1).T
        if self is Distance.DOT_PRODUCT:
            return -(x @ y.T)
        if self is Distance.EUCLIDEAN:
            # cdist's matmul path can go slightly negative before the sqrt; clamp keeps the diagonal at 0.
            return torch.cdist(x, y, p=2.0).clamp_min(0.0)
        return torch.cdist(x, y, p=1.0)

    def similarity_matrix(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """All-pairs similarities: x (n, d), y (m, d) or None -> (n, m)."""
        if self is Distance.COSINE:
            y = x if y is None else y
            return F.normalize(x, dim=-1) @ F.normalize(y, dim=-1).T
        return -self.distance_matrix(x, y)
