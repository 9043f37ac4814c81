"""Pair-classification metrics against sklearn and brute force, ties included."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from simtune.eval.pair_metrics import (
    accuracy_at_best_threshold,
    best_threshold,
    binary_curve,
    f1_at_best_threshold,
    pair_average_precision,
    roc_auc,
)


def _data(seed: int, n: int = 300, ties: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    labels = (torch.rand(n, generator=g) < 0.4).long()
    scores = torch.randn(n, generator=g) * 0.3 + 0.4 * labels - 0.2  # cosine-like, many below 0
    if ties:
        scores = (scores * 10).round() / 10  # about 15 distinct values
    return scores, labels


def _mann_whitney_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """P(score of a positive > score of a negative) + 0.5 P(equal): AUC without any curve."""
    pos, neg = scores[labels == 1][:, None], scores[labels == 0][None, :]
    return ((pos > neg).double().mean() + 0.5 * (pos == neg).double().mean()).item()


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_roc_auc_and_ap_match_sklearn_and_mann_whitney(seed, ties):
    scores, labels = _data(seed, ties=ties)
    auc = roc_auc(scores, labels).item()
    assert auc == pytest.approx(roc_auc_score(labels.numpy(), scores.numpy()), abs=1e-9)
    assert auc == pytest.approx(_mann_whitney_auc(scores, labels), abs=1e-9)
    ap = pair_average_precision(scores, labels).item()
    assert ap == pytest.approx(average_precision_score(labels.numpy(), scores.numpy()), abs=1e-9)


@pytest.mark.parametrize("ties", [False, True])
def test_binary_curve_matches_sklearn_roc_curve(ties):
    scores, labels = _data(3, ties=ties)
    tp, fp, thresholds = binary_curve(scores, labels)
    fpr, tpr, sk_thr = roc_curve(labels.numpy(), scores.double().numpy(), drop_intermediate=False)
    n_pos, n_neg = int(labels.sum()), int((1 - labels).sum())
    np.testing.assert_allclose(tp.numpy() / n_pos, tpr)
    np.testing.assert_allclose(fp.numpy() / n_neg, fpr)
    np.testing.assert_allclose(thresholds[1:].numpy(), sk_thr[1:])


def _brute_force(scores: torch.Tensor, labels: torch.Tensor, metric: str) -> float:
    s, y = scores.double().numpy(), labels.numpy().astype(bool)
    best = 0.0
    for t in [np.inf, *np.unique(s)]:
        pred = s >= t
        tp, fp, fn = (pred & y).sum(), (pred & ~y).sum(), (~pred & y).sum()
        value = (pred == y).mean() if metric == "accuracy" else (2 * tp / (2 * tp + fp + fn))
        best = max(best, value)
    return float(best)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_threshold_matches_brute_force(seed, ties):
    scores, labels = _data(seed, n=120, ties=ties)
    assert accuracy_at_best_threshold(scores, labels).item() == pytest.approx(
        _brute_force(scores, labels, "accuracy")
    )
    assert f1_at_best_threshold(scores, labels).item() == pytest.approx(
        _brute_force(scores, labels, "f1")
    )
    value, threshold = best_threshold(scores, labels, "f1")
    pred = scores.double() >= threshold
    tp = int((pred & (labels == 1)).sum())
    assert value == pytest.approx(2 * tp / (int(pred.sum()) + int(labels.sum())))


def test_ties_hand_worked():
    # Two pairs tie at 0.5, one positive and one negative: that tie is worth half a point of AUC.
    scores = torch.tensor([0.5, 0.5, 0.25, 0.75])
    labels = torch.tensor([1, 0, 0, 1])
    assert roc_auc(scores, labels).item() == pytest.approx((1 + 0.5 + 1 + 1) / 4)
    # At threshold 0.5 both tied pairs are predicted positive together: accuracy 3/4 either way.
    assert best_threshold(scores, labels, "accuracy") == (0.75, 0.75)


def test_single_class_and_bad_labels_raise():
    with pytest.raises(ValueError, match="need both classes"):
        roc_auc(torch.tensor([0.1, 0.2]), torch.tensor([1, 1]))
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        pair_average_precision(torch.tensor([0.1, 0.2]), torch.tensor([0.3, 1.0]))
    with pytest.raises(ValueError, match="must both be"):
        roc_auc(torch.tensor([0.1, 0.2]), torch.tensor([1]))
