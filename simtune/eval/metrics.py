"""Retrieval metrics over ranked relevance lists.

Every function here takes the same two tensors, which the retrieval samplers
(:class:`~simtune.eval.samplers.PairSampler`, :class:`~simtune.eval.samplers.GroupSampler`) produce:

* ``relevance``: (n_queries, depth) relevance of each query's retrieved items, best first
  (0 = not relevant; 1 = relevant; larger grades are allowed for :func:`ndcg_at_k`).
* ``n_relevant``: (n_queries,) how many relevant items each query has in the whole collection,
  including those ranked below ``depth``. Recall, R-precision and the normalisations need it.

Conventions (those of ``trec_eval`` and of torchmetrics' ``empty_target_action="skip"``):

* A query with no relevant item (``n_relevant == 0``) is excluded from the mean. With
  ``reduction="none"`` its value is NaN. If no query has a relevant item the mean is NaN.
* Relevant items ranked below ``depth`` count as not retrieved, so a metric is exact whenever its
  cut-off (``k``, or ``n_relevant`` for R-precision, or the whole list for MRR and AP) fits in
  ``depth``, and otherwise is the value truncated at ``depth``.
* Ties between equal similarities are resolved by the sampler before the metric sees the list
  (see :func:`simtune.eval.topk.ranked_relevance`).

These are our own implementations: torchmetrics' retrieval metrics take flat
(preds, target, indexes) over every (query, item) pair, i.e. an N x N matrix, which is what the
chunked top-k evaluation avoids; sklearn has no per-query rank metrics except ``ndcg_score`` on full
score matrices. Tests compare them with torchmetrics and sklearn on small full matrices.

Example:
    >>> relevance = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    >>> n_relevant = torch.tensor([1, 3, 0])  # the third query has nothing relevant: excluded
    >>> precision_at_k(relevance, n_relevant, k=1)
    tensor(0.5000)
    >>> reciprocal_rank(relevance, n_relevant)
    tensor(0.7500)
    >>> recall_at_k(relevance, n_relevant, k=3, reduction="none")
    tensor([1.0000, 0.6667,    nan])
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "average_precision",
    "ndcg_at_k",
    "precision_at_k",
    "r_precision",
    "recall_at_k",
    "reciprocal_rank",
]


def _check(
    relevance: Tensor, n_relevant: Tensor, k: int | None, name: str
) -> tuple[Tensor, Tensor]:
    """Validate shapes and ``k``; return (relevance float (q, depth), n_relevant float (q,))."""
    if relevance.dim() != 2:
        raise ValueError(
            f"{name}: relevance must be (n_queries, depth), got shape {tuple(relevance.shape)}"
        )
    if n_relevant.shape != relevance.shape[:1]:
        raise ValueError(
            f"{name}: n_relevant must be ({relevance.shape[0]},) to match relevance, "
            f"got shape {tuple(n_relevant.shape)}"
        )
    if k is not None and not (isinstance(k, int) and 1 <= k <= relevance.shape[1]):
        raise ValueError(
            f"{name}: k must be an int in [1, depth={relevance.shape[1]}], got {k!r}; "
            "raise the sampler's k to rank deeper"
        )
    if bool((relevance < 0).any()):
        raise ValueError(f"{name}: relevance grades must be >= 0")
    return relevance.float(), n_relevant.float()


def _reduce(per_query: Tensor, n_relevant: Tensor, reduction: str) -> Tensor:
    """Mean over queries that have a relevant item (NaN if none), or per-query values with NaN."""
    valid = n_relevant > 0
    if reduction == "none":
        return per_query.masked_fill(~valid, float("nan"))
    if reduction != "mean":
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    if not bool(valid.any()):
        return torch.tensor(float("nan"))
    return per_query[valid].mean()


def precision_at_k(
    relevance: Tensor, n_relevant: Tensor, k: int, reduction: str = "mean"
) -> Tensor:
    """Fraction of the top ``k`` items that are relevant.

    Args:
        relevance: (n_queries, depth) relevance of the ranked items, best first; > 0 is relevant.
        n_relevant: (n_queries,) relevant items per query in the whole collection.
        k: Cut-off, 1 <= k <= depth. The denominator is always ``k`` (not ``min(k, n_relevant)``).
        reduction: "mean" for a scalar over queries with a relevant item, "none" for (n_queries,).

    Example:
        >>> precision_at_k(torch.tensor([[1.0, 0.0, 1.0]]), torch.tensor([2]), k=3)
        tensor(0.6667)
    """
    relevance, n_relevant = _check(relevance, n_relevant, k, "precision_at_k")
    hits = (relevance[:, :k] > 0).sum(1).float()  # (q,)
    return _reduce(hits / k, n_relevant, reduction)


def recall_at_k(relevance: Tensor, n_relevant: Tensor, k: int, reduction: str = "mean") -> Tensor:
    """Fraction of each query's relevant items found in the top ``k``.

    Args:
        relevance: (n_queries, depth) relevance of the ranked items, best first; > 0 is relevant.
        n_relevant: (n_queries,) relevant items per query in the whole collection.
        k: Cut-off, 1 <= k <= depth.
        reduction: "mean" or "none".

    Example:
        >>> recall_at_k(torch.tensor([[1.0, 0.0, 1.0]]), torch.tensor([4]), k=3)
        tensor(0.5000)
    """
    relevance, n_relevant = _check(relevance, n_relevant, k, "recall_at_k")
    hits = (relevance[:, :k] > 0).sum(1).float()
    return _reduce(hits / n_relevant.clamp_min(1), n_relevant, reduction)


def reciprocal_rank(
    relevance: Tensor, n_relevant: Tensor, k: int | None = None, reduction: str = "mean"
) -> Tensor:
    """1 / rank of the first relevant item (0 if none in the top ``k``); its mean is MRR.

    Args:
        relevance: (n_queries, depth) relevance of the ranked items, best first; > 0 is relevant.
        n_relevant: (n_queries,) relevant items per query in the whole collection.
        k: Cut-off; None uses the whole list (so the sampler's depth is the cut-off).
        reduction: "mean" or "none".

    Example:
        >>> reciprocal_rank(torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]), torch.tensor([1, 1]))
        tensor(0.1667)
    """
    relevance, n_relevant = _check(relevance, n_relevant, k, "reciprocal_rank")
    hit = relevance[:, :k] > 0  # (q, k)
    first = hit.float().argmax(1)  # index of the first True (0 when there is none)
    rr = torch.where(hit.any(1), 1.0 / (first + 1).float(), torch.zeros(()))
    return _reduce(rr, n_relevant, reduction)


def r_precision(relevance: Tensor, n_relevant: Tensor, reduction: str = "mean") -> Tensor:
    """Precision at R, where R is the query's number of relevant items.

    Exact when depth >= R; otherwise relevant items below ``depth`` count as misses (a lower bound).

    Args:
        relevance: (n_queries, depth) relevance of the ranked items, best first; > 0 is relevant.
        n_relevant: (n_queries,) R per query.
        reduction: "mean" or "none".

    Example:
        >>> r_precision(torch.tensor([[1.0, 0.0, 1.0]]), torch.tensor([2]))
        tensor(0.5000)
    """
    relevance, n_relevant = _check(relevance, n_relevant, None, "r_precision")
    depth = relevance.shape[1]
    hits = (relevance > 0).float().cumsum(1)  # (q, depth): hits in the top i+1
    cut = n_relevant.long().clamp(1, depth) - 1  # (q,)
    found = hits.gather(1, cut[:, None]).squeeze(1)
    return _reduce(found / n_relevant.clamp_min(1), n_relevant, reduction)


def average_precision(
    relevance: Tensor, n_relevant: Tensor, k: int | None = None, reduction: str = "mean"
) -> Tensor:
    """Average of precision@i over the ranks i of relevant items; its mean is MAP.

    AP@k = sum over relevant ranks i <= k of precision@i, divided by min(n_relevant, k).
    With k = None the cut-off is the list depth; when depth >= n_relevant this is the usual
    (untruncated) AP, the same as sklearn's ``average_precision_score`` on the query's scores
    without ties.

    Args:
        relevance: (n_queries, depth) relevance of the ranked items, best first; > 0 is relevant.
        n_relevant: (n_queries,) relevant items per query in the whole collection.
        k: Cut-off; None uses the whole list.
        reduction: "mean" or "none".

    Example:
        >>> average_precision(torch.tensor([[1.0, 0.0, 1.0]]), torch.tensor([2]))  # (1/1 + 2/3) / 2
        tensor(0.8333)
    """
    relevance, n_relevant = _check(relevance, n_relevant, k, "average_precision")
    hit = (relevance[:, :k] > 0).float()  # (q, k)
    ranks = torch.arange(1, hit.shape[1] + 1, dtype=torch.float32)
    precision = hit.cumsum(1) / ranks  # (q, k): precision@i
    denom = n_relevant.clamp(1, hit.shape[1])
    return _reduce((precision * hit).sum(1) / denom, n_relevant, reduction)


def ndcg_at_k(
    relevance: Tensor,
    n_relevant: Tensor,
    k: int,
    ideal: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Normalised discounted cumulative gain with linear gains (sklearn's ``ndcg_score`` convention).

    DCG@k = sum_{i=1..k} rel_i / log2(i + 1); nDCG@k = DCG@k / IDCG@k, where IDCG@k is the DCG of
    the best possible ordering.

    Args:
        relevance: (n_queries, depth) graded relevance of the ranked items, best first.
        n_relevant: (n_queries,) relevant items per query in the whole collection.
        k: Cut-off, 1 <= k <= depth.
        ideal: (n_queries, m) each query's relevance grades in the whole collection, sorted
            descending and zero padded (only the first k are used). Needed for graded relevance;
            when None, relevance must be binary and the ideal list is min(n_relevant, k) ones.
        reduction: "mean" or "none". A query with IDCG = 0 is excluded like one with no relevant item.

    Example:
        >>> rel = torch.tensor([[1.0, 3.0, 0.0]])  # graded; the best list would be [3, 1, ...]
        >>> ndcg_at_k(rel, torch.tensor([2]), k=3, ideal=torch.tensor([[3.0, 1.0]]))
        tensor(0.7967)
    """
    relevance, n_relevant = _check(relevance, n_relevant, k, "ndcg_at_k")
    discount = 1.0 / torch.log2(torch.arange(2, k + 2, dtype=torch.float32))  # (k,)
    dcg = (relevance[:, :k] * discount).sum(1)  # (q,)
    if ideal is None:
        if not bool(((relevance == 0) | (relevance == 1)).all()):
            raise ValueError("ndcg_at_k: graded relevance (values other than 0/1) needs `ideal`")
        n_ideal = n_relevant.long().clamp(0, k)  # (q,)
        cum = torch.cat([torch.zeros(1), discount.cumsum(0)])  # (k+1,): IDCG for 0..k relevant
        idcg = cum[n_ideal]
    else:
        if ideal.dim() != 2 or ideal.shape[0] != relevance.shape[0]:
            raise ValueError(
                f"ndcg_at_k: ideal must be ({relevance.shape[0]}, m), got shape {tuple(ideal.shape)}"
            )
        top = ideal.float()[:, :k]
        idcg = (top * discount[: top.shape[1]]).sum(1)
    valid = (n_relevant > 0) & (idcg > 0)
    ndcg = dcg / idcg.clamp_min(1e-12)
    return _reduce(ndcg, valid.float(), reduction)
