"""Pair-classification metrics: is a pair's similarity score above a threshold that separates matches?

Every function takes ``scores`` (n,) - the similarity of each pair, larger is more similar - and
``labels`` (n,) with values in {0, 1} (1 = the pair matches), as
:class:`~simtune.eval.samplers.PairClassificationSampler` produces them.

Tied scores form one threshold, as in sklearn: the ROC and precision-recall curves step through the
distinct score values only, so tied positives and negatives give a diagonal ROC segment (area 0.5
for the tie) and are counted together for accuracy and F1.

Which implementation: ``roc_auc`` and ``pair_average_precision`` call sklearn's ``roc_auc_score`` and
``average_precision_score``. torchmetrics' binary versions were not used because they pass scores
outside [0, 1] (every cosine score below zero) through a sigmoid, which can merge close float32
scores into ties. Accuracy and F1 at the best threshold are ours (:func:`best_threshold`): sklearn
and torchmetrics only score a fixed threshold, and one sort plus cumulative sums scores them all.

Example:
    >>> scores = torch.tensor([0.75, 0.5, 0.25, 0.125])
    >>> labels = torch.tensor([1, 0, 1, 0])
    >>> roc_auc(scores, labels)
    tensor(0.7500, dtype=torch.float64)
    >>> best_threshold(scores, labels, "accuracy")  # predict a match when score >= 0.75
    (0.75, 0.75)
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "accuracy_at_best_threshold",
    "best_threshold",
    "binary_curve",
    "f1_at_best_threshold",
    "pair_average_precision",
    "roc_auc",
]


def _check(
    scores: Tensor, labels: Tensor, name: str, both_classes: bool = True
) -> tuple[Tensor, Tensor]:
    """Validate (n,) scores and {0, 1} labels; return (scores float64, labels bool)."""
    scores, labels = torch.as_tensor(scores), torch.as_tensor(labels)
    if scores.dim() != 1 or labels.shape != scores.shape:
        raise ValueError(
            f"{name}: scores and labels must both be (n,), got {tuple(scores.shape)} and {tuple(labels.shape)}"
        )
    if scores.numel() == 0:
        raise ValueError(f"{name}: no pairs to score")
    if not bool(((labels == 0) | (labels == 1)).all()):
        raise ValueError(
            f"{name}: labels must be 0 or 1, got values {labels.unique().tolist()[:5]}"
        )
    if bool(torch.isnan(scores.float()).any()):
        raise ValueError(f"{name}: scores contain NaN")
    labels = labels.bool()
    if both_classes and (bool(labels.all()) or not bool(labels.any())):
        raise ValueError(
            f"{name}: undefined when all labels are {int(labels[0])}; need both classes"
        )
    return scores.double(), labels


def binary_curve(scores: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """True and false positives when predicting "match" for score >= each distinct threshold.

    Args:
        scores: (n,) pair similarities.
        labels: (n,) 0/1 labels.

    Returns:
        (tp, fp, thresholds), each (t + 1,): thresholds are +inf (nothing predicted positive)
        followed by the t distinct scores, descending; tp/fp are the counts at each threshold.

    Example:
        >>> binary_curve(torch.tensor([0.5, 0.5, 0.2]), torch.tensor([1, 0, 1]))[:2]
        (tensor([0, 1, 2]), tensor([0, 1, 1]))
    """
    scores, labels = _check(scores, labels, "binary_curve", both_classes=False)
    order = torch.argsort(scores, descending=True)
    s, y = scores[order], labels[order].long()
    tp, fp = y.cumsum(0), (1 - y).cumsum(0)
    # The last index of each run of equal scores: ties are counted together.
    last = torch.nonzero(torch.cat([s[1:] != s[:-1], torch.tensor([True])])).squeeze(1)
    zero = torch.zeros(1, dtype=torch.long)
    inf = torch.tensor([float("inf")], dtype=s.dtype)
    return torch.cat([zero, tp[last]]), torch.cat([zero, fp[last]]), torch.cat([inf, s[last]])


def best_threshold(scores: Tensor, labels: Tensor, metric: str = "accuracy") -> tuple[float, float]:
    """The threshold (predict a match when score >= threshold) that maximises accuracy or F1.

    Args:
        scores: (n,) pair similarities.
        labels: (n,) 0/1 labels.
        metric: "accuracy" or "f1".

    Returns:
        (best value, threshold). On equal values the highest threshold wins; +inf means "predict
        no match at all".

    Example:
        >>> best_threshold(torch.tensor([0.75, 0.5, 0.25]), torch.tensor([1, 1, 0]), "f1")
        (1.0, 0.5)
    """
    tp, fp, thresholds = binary_curve(scores, labels)
    n, n_pos = len(scores), int(torch.as_tensor(labels).sum())
    tp, fp = tp.double(), fp.double()
    if metric == "accuracy":
        values = (tp + (n - n_pos - fp)) / n
    elif metric == "f1":
        # F1 = 2TP / (2TP + FP + FN); defined as 0 when there is nothing to find and nothing found.
        denom = 2 * tp + fp + (n_pos - tp)
        values = torch.where(denom > 0, 2 * tp / denom.clamp_min(1), torch.zeros(()))
    else:
        raise ValueError(f"best_threshold: metric must be 'accuracy' or 'f1', got {metric!r}")
    i = int(torch.argmax(values))  # first maximum = highest threshold
    return float(values[i]), float(thresholds[i])


def accuracy_at_best_threshold(scores: Tensor, labels: Tensor) -> Tensor:
    """Accuracy at the threshold that maximises it (see :func:`best_threshold`). Returns a 0-d float64 tensor."""
    return torch.tensor(best_threshold(scores, labels, "accuracy")[0], dtype=torch.float64)


def f1_at_best_threshold(scores: Tensor, labels: Tensor) -> Tensor:
    """F1 of the "match" class at the threshold that maximises it. Returns a 0-d float64 tensor."""
    return torch.tensor(best_threshold(scores, labels, "f1")[0], dtype=torch.float64)


def roc_auc(scores: Tensor, labels: Tensor) -> Tensor:
    """Area under the ROC curve (sklearn ``roc_auc_score``); ties count one half.

    Args:
        scores: (n,) pair similarities.
        labels: (n,) 0/1 labels; both classes must occur (else ValueError: AUC is undefined).

    Returns:
        0-d float64 tensor.
    """
    from sklearn.metrics import roc_auc_score

    scores, labels = _check(scores, labels, "roc_auc")
    return torch.tensor(float(roc_auc_score(labels.numpy(), scores.numpy())), dtype=torch.float64)


def pair_average_precision(scores: Tensor, labels: Tensor) -> Tensor:
    """Average precision of the "match" class (sklearn ``average_precision_score``, no interpolation).

    AP = sum over thresholds of (recall_t - recall_{t-1}) * precision_t.

    Args:
        scores: (n,) pair similarities.
        labels: (n,) 0/1 labels; both classes must occur.

    Returns:
        0-d float64 tensor.
    """
    from sklearn.metrics import average_precision_score

    scores, labels = _check(scores, labels, "pair_average_precision")
    return torch.tensor(
        float(average_precision_score(labels.numpy(), scores.numpy())), dtype=torch.float64
    )
