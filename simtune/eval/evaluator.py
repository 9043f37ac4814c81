"""The Evaluator joins a sampler to a dict of metric functions.

Example:
    >>> from functools import partial
    >>> from simtune.eval import Evaluator, PairSampler, precision_at_k, reciprocal_rank
    >>> evaluator = Evaluator({"precision@1": partial(precision_at_k, k=1), "mrr": reciprocal_rank}, PairSampler())
    >>> evaluator = Evaluator(["precision@1", "mrr"], PairSampler())  # the same, by name
    >>> # evaluator.evaluate(val_pairs, model) -> {"precision@1": 0.564, "mrr": 0.662}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from simtune.eval import metrics as rm
from simtune.eval import pair_metrics as pm

MetricSpec = Mapping[str, Callable[..., Any] | str] | Iterable[str]

# Names without a cut-off. Retrieval names with one are "<name>@<k>", e.g. "precision@10".
_RETRIEVAL = {
    "mrr": rm.reciprocal_rank,
    "reciprocal_rank": rm.reciprocal_rank,
    "map": rm.average_precision,
    "average_precision": rm.average_precision,
    "r_precision": rm.r_precision,
}
_RETRIEVAL_AT_K = {
    "precision": rm.precision_at_k,
    "recall": rm.recall_at_k,
    "ndcg": rm.ndcg_at_k,
    "mrr": rm.reciprocal_rank,
    "reciprocal_rank": rm.reciprocal_rank,
    "map": rm.average_precision,
    "average_precision": rm.average_precision,
}
_PAIR = {
    "roc_auc": pm.roc_auc,
    "average_precision": pm.pair_average_precision,
    "ap": pm.pair_average_precision,
    "accuracy": pm.accuracy_at_best_threshold,
    "best_accuracy": pm.accuracy_at_best_threshold,
    "f1": pm.f1_at_best_threshold,
    "best_f1": pm.f1_at_best_threshold,
}


def resolve_metric(name: str, kind: str) -> Callable[..., Any]:
    """A metric function from its name.

    Args:
        name: Retrieval: "precision@K", "recall@K", "ndcg@K", "mrr" / "mrr@K", "map" / "map@K",
            "r_precision". Pair: "roc_auc", "average_precision" (or "ap"), "accuracy", "f1"
            (the last two at the best threshold).
        kind: "retrieval" or "pair" - which sampler will call it.

    Example:
        >>> resolve_metric("precision@5", "retrieval").keywords
        {'k': 5}
    """
    if kind == "pair":
        if name in _PAIR:
            return _PAIR[name]
        raise ValueError(f"unknown pair metric {name!r}; known: {sorted(_PAIR)}")
    if kind != "retrieval":
        raise ValueError(f"kind must be 'retrieval' or 'pair', got {kind!r}")
    if name in _RETRIEVAL:
        return _RETRIEVAL[name]
    match = re.fullmatch(r"(\w+)@(\d+)", name)
    if match and match.group(1) in _RETRIEVAL_AT_K and int(match.group(2)) >= 1:
        return partial(_RETRIEVAL_AT_K[match.group(1)], k=int(match.group(2)))
    raise ValueError(
        f"unknown retrieval metric {name!r}; known: {sorted(_RETRIEVAL)} and "
        f"{sorted(n + '@K' for n in _RETRIEVAL_AT_K)}"
    )


def resolve_metrics(metrics: MetricSpec, kind: str) -> dict[str, Callable[..., Any]]:
    """``{output name: callable}`` from a dict of callables or names, or from a list of names."""
    if isinstance(metrics, str):
        raise TypeError(
            "metrics must be a dict or a list of names, got a single string; wrap it in a list"
        )
    items = metrics.items() if isinstance(metrics, Mapping) else ((name, name) for name in metrics)
    resolved = {}
    for key, fn in items:
        if isinstance(fn, str):
            fn = resolve_metric(fn, kind)
        if not callable(fn):
            raise TypeError(f"metric {key!r} must be a callable or a metric name, got {fn!r}")
        resolved[str(key)] = fn
    return resolved


class Evaluator:
    """Evaluate a model on a dataset: ``sampler.score(sampler.embed(dataset, model), metrics)``.

    Args:
        metrics: ``{output name: metric callable or metric name}``, or a list of metric names.
        sampler: A :class:`~simtune.eval.samplers.PairSampler`, ``GroupSampler`` or
            ``PairClassificationSampler`` (anything with ``embed`` and ``score``; its
            ``metric_kind``, "retrieval" or "pair", says how metric names are resolved).
    """

    def __init__(self, metrics: MetricSpec, sampler: Any) -> None:
        kind = getattr(sampler, "metric_kind", "retrieval")  # how the sampler calls its metrics
        self.metrics = resolve_metrics(metrics, kind)  # fail on bad names now, not after embedding
        if not self.metrics:
            raise ValueError("Evaluator needs at least one metric")
        self.sampler = sampler

    def evaluate(self, dataset: Iterable[Any], model: Any) -> dict[str, float]:
        """Embed ``dataset`` with ``model.encode`` and return ``{metric name: value}``."""
        return self.sampler.score(self.sampler.embed(dataset, model), self.metrics)

    def __repr__(self) -> str:
        return f"Evaluator(metrics={list(self.metrics)}, sampler={self.sampler!r})"
