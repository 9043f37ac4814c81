"""Distances against hand-computed values, pairwise and as matrices."""

from __future__ import annotations

import pytest
import torch

from simtune.distances import Distance

X = torch.tensor([[1.0, 0.0], [3.0, 4.0]])
Y = torch.tensor([[0.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize(
    ("distance", "expected_dist", "expected_sim"),
    [
        (Distance.COSINE, [1.0, 0.0], [0.0, 1.0]),
        (Distance.DOT_PRODUCT, [-0.0, -25.0], [0.0, 25.0]),
        (Distance.EUCLIDEAN, [5**0.5, 0.0], [-(5**0.5), 0.0]),
        (Distance.MANHATTAN, [3.0, 0.0], [-3.0, 0.0]),
    ],
)
def test_pairwise(distance, expected_dist, expected_sim):
    assert distance.distance(X, Y).tolist() == pytest.approx(expected_dist, abs=1e-6)
    assert distance.similarity(X, Y).tolist() == pytest.approx(expected_sim, abs=1e-6)


@pytest.mark.parametrize("distance", list(Distance))
def test_matrix_matches_pairwise(distance):
    torch.manual_seed(1)
    x, y = torch.randn(5, 3), torch.randn(4, 3)
    matrix = distance.distance_matrix(x, y)
    for i in range(5):
        for j in range(4):
            assert matrix[i, j].item() == pytest.approx(distance.distance(x[i : i + 1], y[j : j + 1]).item(), abs=1e-5)
    sims = distance.similarity_matrix(x)
    assert sims.shape == (5, 5)
    assert torch.allclose(sims, sims.T, atol=1e-5)


def test_from_string():
    assert Distance("cosine") is Distance.COSINE
    with pytest.raises(ValueError):
        Distance("hamming")
