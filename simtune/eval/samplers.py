"""Samplers: turn a dataset and a model into the tensors the metrics take.

Each sampler has two steps, so training can embed once and score many metric sets:

* ``embed(dataset, model)`` -> :class:`EmbeddedPairs` or :class:`EmbeddedGroups`, via
  ``model.encode(texts, batch_size=..., to_numpy=False)``;
* ``score(embedded, metrics)`` -> ``{name: float}``.

How metrics are called:

* :class:`PairSampler` and :class:`GroupSampler` call ``metric(relevance, n_relevant)`` with
  relevance (n_queries, k) and n_relevant (n_queries,), see :mod:`simtune.eval.metrics`;
* :class:`PairClassificationSampler` calls ``metric(scores, labels)`` with the pairs' similarities
  (n,) and 0/1 labels (n,), see :mod:`simtune.eval.pair_metrics`.

``metrics`` maps an output name to a callable or to a metric name such as "precision@1" or "mrr"
(see :func:`simtune.eval.evaluator.resolve_metric`).

Example:
    >>> from functools import partial
    >>> from simtune.eval.metrics import precision_at_k, reciprocal_rank
    >>> emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.2, 0.8]])
    >>> pairs = EmbeddedPairs(emb_a=emb[:2], emb_b=emb[2:], scores=torch.ones(2))
    >>> PairSampler(k=3).score(pairs, {"precision@1": partial(precision_at_k, k=1), "mrr": reciprocal_rank})
    {'precision@1': 1.0, 'mrr': 1.0}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from simtune.eval.evaluator import resolve_metrics
from simtune.eval.topk import Similarity, cosine_prepare, dot_similarity, ranked_relevance

__all__ = [
    "EmbeddedGroups",
    "EmbeddedPairs",
    "GroupSampler",
    "PairClassificationSampler",
    "PairSampler",
]


@dataclass
class EmbeddedPairs:
    """Embedded pairs: emb_a (n, d), emb_b (n, d), scores (n,) - the pairs' labels from the dataset."""

    emb_a: Tensor
    emb_b: Tensor
    scores: Tensor


@dataclass
class EmbeddedGroups:
    """Embedded objects: embeddings (n, d) and their integer groups (n,)."""

    embeddings: Tensor
    groups: Tensor


def _field(sample: Any, name: str, row: int, kind: str) -> Any:
    if not hasattr(sample, name):
        raise TypeError(
            f"dataset row {row}: expected a {kind} with field {name!r}, got {type(sample).__name__}"
        )
    return getattr(sample, name)


def _encode(model: Any, texts: list[Any], batch_size: int) -> Tensor:
    """model.encode -> CPU float32 tensor (n, d); accepts models that return numpy anyway."""
    emb = torch.as_tensor(model.encode(texts, batch_size=batch_size, to_numpy=False)).float().cpu()
    if emb.dim() != 2 or emb.shape[0] != len(texts):
        raise ValueError(f"model.encode returned shape {tuple(emb.shape)} for {len(texts)} texts")
    return emb


def _similarity(
    distance: Any,
) -> tuple[Callable[[Tensor], Tensor], Similarity, Callable[[Tensor, Tensor], Tensor]]:
    """(prepare rows, block similarity matrix, row-wise pair similarity) for a distance (None = cosine)."""
    if distance is None or str(getattr(distance, "value", distance)) == "cosine":
        return cosine_prepare, dot_similarity, lambda a, b: (a * b).sum(-1)
    from simtune.distances import Distance

    dist = Distance(distance)
    return (lambda x: x.float()), dist.similarity_matrix, dist.similarity


def _embed_pairs(dataset: Iterable[Any], model: Any, batch_size: int) -> EmbeddedPairs:
    a, b, scores = [], [], []
    for row, sample in enumerate(dataset):
        a.append(_field(sample, "obj_a", row, "SimilarityPairSample"))
        b.append(_field(sample, "obj_b", row, "SimilarityPairSample"))
        scores.append(float(_field(sample, "score", row, "SimilarityPairSample")))
    if not a:
        raise ValueError("cannot evaluate an empty dataset")
    emb = _encode(model, a + b, batch_size)  # one call: longest-first batching across both sides
    return EmbeddedPairs(emb_a=emb[: len(a)], emb_b=emb[len(a) :], scores=torch.tensor(scores))


def _check_finite(*tensors: Tensor) -> None:
    for t in tensors:
        if not bool(torch.isfinite(t).all()):
            raise ValueError(
                "embeddings contain NaN or inf; the model diverged or the inputs are broken"
            )


@dataclass
class _RetrievalSampler:
    metric_kind: ClassVar[str] = "retrieval"  # metrics are called as metric(relevance, n_relevant)
    k: int = 100
    distance: Any = None
    batch_size: int = 32
    query_chunk: int = 1024
    doc_chunk: int = 16384

    def __post_init__(self) -> None:
        for name in ("k", "batch_size", "query_chunk", "doc_chunk"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(
                    f"{type(self).__name__}.{name} must be a positive int, got {getattr(self, name)!r}"
                )

    def _rank(
        self, queries: Tensor, docs: Tensor | None, q_labels: Tensor, d_labels: Tensor
    ) -> tuple[Tensor, Tensor]:
        prepare, sim, _ = _similarity(self.distance)
        q = prepare(queries)
        d = q if docs is None else prepare(docs)
        return ranked_relevance(
            q, d, q_labels, d_labels, self.k, same_set=docs is None, similarity=sim,
            query_chunk=self.query_chunk, doc_chunk=self.doc_chunk,
        )  # fmt: skip

    @staticmethod
    def _apply(metrics: Mapping[str, Any], *args: Tensor) -> dict[str, float]:
        return {
            name: float(fn(*args)) for name, fn in resolve_metrics(metrics, "retrieval").items()
        }


@dataclass
class PairSampler(_RetrievalSampler):
    """Retrieval over pairs, Quaterion's protocol.

    Two-way (default): all 2n objects (every obj_a and obj_b) are queries; each retrieves among the
    other 2n - 1 and its partner is the one relevant item. One-way (``one_way=True``): the n obj_a
    are queries, the n obj_b documents, and document i is relevant to query i.

    A pair whose score is <= ``negative_below`` is a negative pair: its objects still serve as
    distractors but have no relevant item, so they are excluded from the means. Graded scores
    above it count as plain relevant (binary). ``subgroup`` is not used.

    Args:
        k: Ranked-list depth; MRR and MAP are truncated at k (MRR@k, AP@k).
        one_way: Queries obj_a against documents obj_b.
        negative_below: Pairs with score <= this are negatives.
        distance: None or "cosine" (default), or a :class:`simtune.distances.Distance`.
        batch_size: Texts per ``model.encode`` batch.
        query_chunk: Queries per similarity block.
        doc_chunk: Documents per similarity block.
    """

    one_way: bool = False
    negative_below: float = 0.0

    def embed(self, dataset: Iterable[Any], model: Any) -> EmbeddedPairs:
        """Embed a dataset of SimilarityPairSample with ``model.encode``."""
        return _embed_pairs(dataset, model, self.batch_size)

    def rank(self, embedded: EmbeddedPairs) -> tuple[Tensor, Tensor]:
        """Relevance (n_queries, k) and n_relevant (n_queries,); n_queries = 2n (n if one-way)."""
        _check_finite(embedded.emb_a, embedded.emb_b)
        n = embedded.emb_a.shape[0]
        ids = torch.arange(n)
        # Negative pairs give obj_b a label no query has, so nothing is relevant to them.
        b_ids = torch.where(embedded.scores > self.negative_below, ids, ids + n)
        if self.one_way:
            return self._rank(embedded.emb_a, embedded.emb_b, ids, b_ids)
        labels = torch.cat([ids, b_ids])  # (2n,)
        return self._rank(torch.cat([embedded.emb_a, embedded.emb_b]), None, labels, labels)

    def score(self, embedded: EmbeddedPairs, metrics: Mapping[str, Any]) -> dict[str, float]:
        """Call every ``metric(relevance, n_relevant)``; return ``{name: float}``."""
        return self._apply(metrics, *self.rank(embedded))


@dataclass
class GroupSampler(_RetrievalSampler):
    """Retrieval over groups: every object queries all others; those of its group are relevant.

    Args: as :class:`PairSampler` without ``one_way``. With groups larger than ``k``, R-precision and
    recall@k are truncated at k (see :mod:`simtune.eval.metrics`).
    """

    def embed(self, dataset: Iterable[Any], model: Any) -> EmbeddedGroups:
        """Embed a dataset of SimilarityGroupSample with ``model.encode``."""
        objs, groups = [], []
        for row, sample in enumerate(dataset):
            objs.append(_field(sample, "obj", row, "SimilarityGroupSample"))
            group = _field(sample, "group", row, "SimilarityGroupSample")
            if not isinstance(group, int) and not (
                isinstance(group, Tensor) and group.numel() == 1
            ):
                raise TypeError(f"dataset row {row}: group must be an int, got {group!r}")
            groups.append(int(group))
        if not objs:
            raise ValueError("cannot evaluate an empty dataset")
        return EmbeddedGroups(
            embeddings=_encode(model, objs, self.batch_size), groups=torch.tensor(groups)
        )

    def rank(self, embedded: EmbeddedGroups) -> tuple[Tensor, Tensor]:
        """Relevance (n, k) and n_relevant (n,) (group size - 1)."""
        _check_finite(embedded.embeddings)
        groups = embedded.groups.long()
        return self._rank(embedded.embeddings, None, groups, groups)

    def score(self, embedded: EmbeddedGroups, metrics: Mapping[str, Any]) -> dict[str, float]:
        """Call every ``metric(relevance, n_relevant)``; return ``{name: float}``."""
        return self._apply(metrics, *self.rank(embedded))


@dataclass
class PairClassificationSampler:
    """Each pair's similarity as a classifier score, and its label, for ROC-style metrics.

    Args:
        positive_from: A pair is labelled 1 when its score >= this, else 0.
        distance: None or "cosine" (default), or a :class:`simtune.distances.Distance`.
        batch_size: Texts per ``model.encode`` batch.
    """

    metric_kind: ClassVar[str] = "pair"  # metrics are called as metric(scores, labels)
    positive_from: float = 0.5
    distance: Any = None
    batch_size: int = 32

    def embed(self, dataset: Iterable[Any], model: Any) -> EmbeddedPairs:
        """Embed a dataset of SimilarityPairSample with ``model.encode``."""
        return _embed_pairs(dataset, model, self.batch_size)

    def pair_scores(self, embedded: EmbeddedPairs) -> tuple[Tensor, Tensor]:
        """Similarities (n,) of each pair and labels (n,) in {0, 1}."""
        _check_finite(embedded.emb_a, embedded.emb_b)
        prepare, _, pair_sim = _similarity(self.distance)
        sims = pair_sim(prepare(embedded.emb_a), prepare(embedded.emb_b))
        return sims, (embedded.scores >= self.positive_from).long()

    def score(self, embedded: EmbeddedPairs, metrics: Mapping[str, Any]) -> dict[str, float]:
        """Call every ``metric(scores, labels)``; return ``{name: float}``."""
        sims, labels = self.pair_scores(embedded)
        return {
            name: float(fn(sims, labels)) for name, fn in resolve_metrics(metrics, "pair").items()
        }
