"""Every loss against values computed by hand on small tensors."""

from __future__ import annotations

import math

import pytest
import torch

from simtune.losses import (
    ClampedCosineLoss,
    ContrastiveLoss,
    MultipleNegativesRankingLoss,
    OnlineContrastiveLoss,
    TripletLoss,
)


def unit(angle_deg: float) -> list[float]:
    a = math.radians(angle_deg)
    return [math.cos(a), math.sin(a)]


def pair_with_cos(cos: float) -> tuple[torch.Tensor, torch.Tensor]:
    angle = math.degrees(math.acos(cos))
    return torch.tensor([unit(0)]), torch.tensor([unit(angle)])


@pytest.mark.parametrize(
    ("cos", "score", "expected"),
    [(1.0, 1.0, 0.0), (-0.3, 0.0, 0.0), (0.5, 0.0, 0.25), (0.5, 1.0, 0.25), (0.2, 0.5, (0.5 * 0.8 + 0.1) ** 2)],
)
def test_clamped_cosine_edges(cos, score, expected):
    a, b = pair_with_cos(cos)
    loss = ClampedCosineLoss()(a, b, torch.tensor([score]), torch.zeros(1, dtype=torch.long))
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_clamped_cosine_mean_over_pairs():
    a1, b1 = pair_with_cos(0.5)
    a2, b2 = pair_with_cos(0.0)
    loss = ClampedCosineLoss()(torch.cat([a1, a2]), torch.cat([b1, b2]), torch.tensor([0.0, 1.0]), torch.zeros(2))
    assert loss.item() == pytest.approx((0.25 + 1.0) / 2, abs=1e-6)


def test_contrastive_by_hand():
    # cosine distances: pair 1 cos 0.8 -> d 0.2 (positive), pair 2 cos 0.9 -> d 0.1 (negative)
    a1, b1 = pair_with_cos(0.8)
    a2, b2 = pair_with_cos(0.9)
    loss = ContrastiveLoss(margin=0.5)(
        torch.cat([a1, a2]), torch.cat([b1, b2]), torch.tensor([1.0, 0.0]), torch.zeros(2)
    )
    expected = 0.5 * ((0.2**2) + (0.5 - 0.1) ** 2) / 2
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_contrastive_euclidean():
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    b = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    loss = ContrastiveLoss(margin=2.0, distance="euclidean")(a, b, torch.tensor([1.0, 0.0]), torch.zeros(2))
    assert loss.item() == pytest.approx(0.5 * (25.0 + 1.0) / 2, abs=1e-6)


def test_online_contrastive_keeps_hard_pairs_only():
    # distances (cosine): positives 0.1 and 0.6, negatives 0.3 and 0.9, margin 0.5
    cos = [0.9, 0.4, 0.7, 0.1]
    pairs = [pair_with_cos(c) for c in cos]
    a = torch.cat([p[0] for p in pairs])
    b = torch.cat([p[1] for p in pairs])
    scores = torch.tensor([1.0, 1.0, 0.0, 0.0])
    loss = OnlineContrastiveLoss(margin=0.5)(a, b, scores, torch.zeros(4))
    # hard positive: 0.6 > min neg 0.3; hard negative: 0.3 < max pos 0.6 (0.9 is not)
    expected = (0.6**2 + (0.5 - 0.3) ** 2) / 4
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def _mnrl_by_hand(sim: torch.Tensor, rows: list[int], masked: set[tuple[int, int]]) -> float:
    total = 0.0
    for i in rows:
        logits = [sim[i, j].item() for j in range(sim.shape[1]) if (i, j) not in masked]
        own = sim[i, i].item()
        total += -own + math.log(sum(math.exp(x) for x in logits))
    return total / len(rows)


def test_mnrl_by_hand_with_subgroups_and_negative_pairs():
    torch.manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(4, 3), dim=-1)
    b = torch.nn.functional.normalize(torch.randn(4, 3), dim=-1)
    scores = torch.tensor([1.0, 1.0, 0.0, 1.0])
    subgroups = torch.tensor([7, 7, 0, 0])
    scale = 5.0
    loss = MultipleNegativesRankingLoss(scale=scale)(a, b, scores, subgroups)
    sim = scale * (a @ b.T)
    # pairs 0 and 1 share subgroup 7: neither is the other's negative; pair 2 is no anchor
    expected = _mnrl_by_hand(sim, [0, 1, 3], {(0, 1), (1, 0)})
    assert loss.item() == pytest.approx(expected, abs=1e-5)
    sym = MultipleNegativesRankingLoss(scale=scale, symmetric=True)(a, b, scores, subgroups)
    expected_t = _mnrl_by_hand(sim.T.contiguous(), [0, 1, 3], {(0, 1), (1, 0)})
    assert sym.item() == pytest.approx(0.5 * (expected + expected_t), abs=1e-5)


def test_triplet_batch_hard_and_all_by_hand():
    # points on a line (euclidean): group 0 at 0 and 1, group 1 at 1.5 and 4
    x = torch.tensor([[0.0], [1.0], [1.5], [4.0]])
    groups = torch.tensor([0, 0, 1, 1])
    hard = TripletLoss(margin=1.0, mining="batch_hard", distance="euclidean")(x, groups)
    # anchor 0: pos 1, neg 1.5 -> 0.5; anchor 1: pos 1, neg 0.5 -> 1.5
    # anchor 2: pos 2.5, neg 0.5 -> 3.0; anchor 3: pos 2.5, neg 3 -> 0.5
    assert hard.item() == pytest.approx((0.5 + 1.5 + 3.0 + 0.5) / 4, abs=1e-6)
    every = TripletLoss(margin=1.0, mining="batch_all", distance="euclidean")(x, groups)
    # valid triplets (a,p,n) and d(a,p) - d(a,n) + 1:
    values = [1 - 1.5 + 1, 1 - 4 + 1, 1 - 0.5 + 1, 1 - 3 + 1, 2.5 - 1.5 + 1, 2.5 - 0.5 + 1, 2.5 - 4 + 1, 2.5 - 3 + 1]
    positive = [v for v in values if v > 0]
    assert every.item() == pytest.approx(sum(positive) / len(positive), abs=1e-6)


def test_losses_give_gradients():
    a = torch.randn(4, 8, requires_grad=True)
    b = torch.randn(4, 8, requires_grad=True)
    scores = torch.tensor([1.0, 0.0, 1.0, 0.0])
    for loss_fn in (ClampedCosineLoss(), ContrastiveLoss(), OnlineContrastiveLoss(), MultipleNegativesRankingLoss()):
        loss_fn(a, b, scores, torch.zeros(4, dtype=torch.long)).backward()
    assert a.grad is not None and a.grad.abs().sum() > 0
