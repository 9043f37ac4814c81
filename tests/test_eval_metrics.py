"""Retrieval metrics against hand-worked cases, torchmetrics and sklearn on small full rankings."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, ndcg_score
from torchmetrics.functional.retrieval import (
    retrieval_precision,
    retrieval_r_precision,
    retrieval_recall,
    retrieval_reciprocal_rank,
)

from simtune.eval import metrics as m
from simtune.eval.metrics import (
    average_precision,
    ndcg_at_k,
    precision_at_k,
    r_precision,
    recall_at_k,
    reciprocal_rank,
)

# Three queries over a list of depth 4; the third has no relevant item anywhere (excluded).
REL = torch.tensor([[0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
N_REL = torch.tensor([3, 2, 0])  # query 0 has a third relevant item below the list


def test_hand_worked_rank_metrics():
    assert precision_at_k(REL, N_REL, k=1).item() == pytest.approx((0 + 1) / 2)
    assert precision_at_k(REL, N_REL, k=2).item() == pytest.approx((0.5 + 1.0) / 2)
    assert recall_at_k(REL, N_REL, k=4).item() == pytest.approx((2 / 3 + 1.0) / 2)
    assert reciprocal_rank(REL, N_REL).item() == pytest.approx((1 / 2 + 1) / 2)
    assert reciprocal_rank(REL, N_REL, k=1).item() == pytest.approx((0 + 1) / 2)
    # R-precision: query 0 has R = 3, one hit in the top 3; query 1 has R = 2, two hits.
    assert r_precision(REL, N_REL).item() == pytest.approx((1 / 3 + 1.0) / 2)
    # AP: query 0 = (1/2 + 2/4) / min(3, 4) = 1/3; query 1 = (1 + 1) / 2 = 1.
    assert average_precision(REL, N_REL).item() == pytest.approx((1 / 3 + 1) / 2)
    # AP@2: query 0 = (1/2) / min(3, 2); query 1 = 1.
    assert average_precision(REL, N_REL, k=2).item() == pytest.approx((0.25 + 1) / 2)
    # nDCG@4 binary: query 0 DCG = 1/log2(3) + 1/log2(5), IDCG = 1 + 1/log2(3) + 1/2.
    q0 = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 0.5)
    assert ndcg_at_k(REL, N_REL, k=4).item() == pytest.approx((q0 + 1.0) / 2)


def test_no_relevant_queries_are_excluded_and_nan_per_query():
    values = precision_at_k(REL, N_REL, k=1, reduction="none")
    assert values[:2].tolist() == [0.0, 1.0] and math.isnan(values[2].item())
    nothing = torch.zeros(2, 3)
    assert math.isnan(reciprocal_rank(nothing, torch.zeros(2)).item())
    # A query with relevant items, none retrieved, counts as 0 (not excluded).
    assert reciprocal_rank(nothing, torch.tensor([1, 0])).item() == 0.0


def test_graded_ndcg_hand_worked():
    rel = torch.tensor([[2.0, 0.0, 3.0], [0.0, 1.0, 0.0]])
    ideal = torch.tensor(
        [[3.0, 2.0, 1.0], [1.0, 0.0, 0.0]]
    )  # query 0 has a grade-1 item below the list
    dcg0 = 2 / math.log2(2) + 3 / math.log2(4)
    idcg0 = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    dcg1, idcg1 = 1 / math.log2(3), 1.0
    got = ndcg_at_k(rel, torch.tensor([3, 1]), k=3, ideal=ideal, reduction="none")
    assert got.tolist() == pytest.approx([dcg0 / idcg0, dcg1 / idcg1])
    at1 = ndcg_at_k(rel, torch.tensor([3, 1]), k=1, ideal=ideal, reduction="none")
    assert at1.tolist() == pytest.approx([2 / 3, 0.0])
    with pytest.raises(ValueError, match="ideal"):
        ndcg_at_k(rel, torch.tensor([3, 1]), k=3)


def _ranked(preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Full ranked relevance (q, n) from scores (q, n) without ties."""
    return target.gather(1, preds.argsort(dim=1, descending=True))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_metrics_match_torchmetrics_and_sklearn(seed):
    g = torch.Generator().manual_seed(seed)
    n_q, n = 40, 30
    preds = (
        torch.rand(n_q, n, generator=g) + 0.01
    )  # > 0: torchmetrics drops targets where preds <= 0
    target = (torch.rand(n_q, n, generator=g) < 0.15).float()
    target[0] = 0  # a query with nothing relevant: excluded by us
    rel, n_rel = _ranked(preds, target), target.sum(1)
    valid = [i for i in range(n_q) if n_rel[i] > 0]

    def ref(fn, **kw):
        return np.mean([fn(preds[i], target[i].bool(), **kw).item() for i in valid])

    for k in (1, 3, 10):
        assert precision_at_k(rel, n_rel, k=k).item() == pytest.approx(
            ref(retrieval_precision, top_k=k), abs=1e-6
        )
        assert recall_at_k(rel, n_rel, k=k).item() == pytest.approx(
            ref(retrieval_recall, top_k=k), abs=1e-6
        )
    assert reciprocal_rank(rel, n_rel).item() == pytest.approx(
        ref(retrieval_reciprocal_rank), abs=1e-6
    )
    assert r_precision(rel, n_rel).item() == pytest.approx(ref(retrieval_r_precision), abs=1e-6)
    sk_ap = np.mean([average_precision_score(target[i].numpy(), preds[i].numpy()) for i in valid])
    assert average_precision(rel, n_rel).item() == pytest.approx(sk_ap, abs=1e-6)


@pytest.mark.parametrize("k", [1, 5, 20])
def test_graded_ndcg_matches_sklearn(k):
    g = torch.Generator().manual_seed(k)
    n_q, n = 25, 20
    preds = torch.rand(n_q, n, generator=g)
    grades = torch.randint(0, 4, (n_q, n), generator=g).float()
    grades[grades.sum(1) == 0, 0] = 1.0  # sklearn scores all-irrelevant queries 0; we exclude them
    rel = _ranked(preds, grades)
    ideal = grades.sort(dim=1, descending=True).values
    ours = ndcg_at_k(rel, (grades > 0).sum(1), k=k, ideal=ideal)
    assert ours.item() == pytest.approx(ndcg_score(grades.numpy(), preds.numpy(), k=k), abs=1e-6)


def test_bad_input_errors():
    with pytest.raises(ValueError, match=r"k must be an int in \[1, depth=4\]"):
        precision_at_k(REL, N_REL, k=5)
    with pytest.raises(ValueError, match="n_relevant must be"):
        recall_at_k(REL, N_REL[:2], k=1)
    with pytest.raises(ValueError, match="relevance must be"):
        reciprocal_rank(REL[0], N_REL)
    with pytest.raises(ValueError, match="reduction"):
        precision_at_k(REL, N_REL, k=1, reduction="sum")


def test_docstring_examples():
    from simtune.eval import evaluator, pair_metrics, samplers

    for module in (m, pair_metrics, samplers, evaluator):
        result = doctest.testmod(module, extraglobs={"torch": torch})
        assert result.attempted > 0 and result.failed == 0, module.__name__
