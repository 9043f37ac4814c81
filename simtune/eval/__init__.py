"""Evaluation: metric functions on tensors, samplers that produce their inputs, and the Evaluator.

Retrieval metrics take ``(relevance (n_queries, k), n_relevant (n_queries,))`` and pair metrics
take ``(scores (n,), labels (n,))``; see :mod:`simtune.eval.metrics`, :mod:`simtune.eval.pair_metrics`
and :mod:`simtune.eval.samplers` for the conventions.
"""

from simtune.eval.evaluator import Evaluator, resolve_metric, resolve_metrics
from simtune.eval.metrics import (
    average_precision,
    ndcg_at_k,
    precision_at_k,
    r_precision,
    recall_at_k,
    reciprocal_rank,
)
from simtune.eval.pair_metrics import (
    accuracy_at_best_threshold,
    best_threshold,
    binary_curve,
    f1_at_best_threshold,
    pair_average_precision,
    roc_auc,
)
from simtune.eval.report import plot_roc, write_json_atomic, write_report
from simtune.eval.samplers import (
    EmbeddedGroups,
    EmbeddedPairs,
    GroupSampler,
    PairClassificationSampler,
    PairSampler,
)
from simtune.eval.topk import ranked_relevance

__all__ = [
    "EmbeddedGroups",
    "EmbeddedPairs",
    "Evaluator",
    "GroupSampler",
    "PairClassificationSampler",
    "PairSampler",
    "accuracy_at_best_threshold",
    "average_precision",
    "best_threshold",
    "binary_curve",
    "f1_at_best_threshold",
    "ndcg_at_k",
    "pair_average_precision",
    "plot_roc",
    "precision_at_k",
    "r_precision",
    "ranked_relevance",
    "recall_at_k",
    "reciprocal_rank",
    "resolve_metric",
    "resolve_metrics",
    "roc_auc",
    "write_json_atomic",
    "write_report",
]
