"""Graded nDCG of product search: each query ranked against a whole catalogue.

Two ways to rank, one way to score: ``exact_ndcg`` embeds in memory and ranks by exact cosine
(validation during training), ``esci.evaluate`` ranks with a Qdrant search; both hand their
ranked product ids to ``ndcg_of_rankings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch

from esci.data import to_catalogue, to_qrels
from esci.model import RetrievalProbe
from simtune.eval import ndcg_at_k


def build_probe(judged: pd.DataFrame, catalogue: pd.DataFrame, k: int = 10) -> RetrievalProbe:
    """A probe ranking the queries of ``judged`` against the products of ``catalogue``.

    Args:
        judged: Normalised ESCI rows whose queries are scored (usually the validation split).
        catalogue: Normalised rows whose distinct products form the catalogue.
        k: nDCG cut-off.
    """
    qrels = to_qrels(judged)
    first = judged.drop_duplicates("query_id")
    texts = dict(zip(first["query_id"].astype(int), first["query"], strict=True))
    products = to_catalogue(catalogue)
    return RetrievalProbe(
        queries=[texts[q] for q in qrels], query_ids=list(qrels),
        product_ids=[p.product_id for p in products], titles=[p.title for p in products],
        qrels=qrels, k=k)


def ndcg_of_rankings(rankings: Sequence[Sequence[str]], query_ids: Sequence[int],
                     qrels: dict[int, dict[str, float]], k: int = 10) -> float:
    """Mean graded nDCG@k of ranked product ids, one list per query (best first).

    The ideal list of a query is its judged gains sorted, so a catalogue that lacks a judged
    product costs what it should. Queries with no positive gain are left out.

    Example:
        >>> qrels = {1: {"a": 3.0, "b": 1.0}}
        >>> round(ndcg_of_rankings([["b", "a", "x"]], [1], qrels, k=3), 4)
        0.7967
    """
    if len(rankings) != len(query_ids):
        raise ValueError(f"{len(rankings)} rankings for {len(query_ids)} queries")
    relevance = torch.zeros(len(query_ids), k)  # (q, k)
    depth = max((len(g) for g in qrels.values()), default=1)
    ideal = torch.zeros(len(query_ids), max(depth, 1))  # (q, m)
    n_relevant = torch.zeros(len(query_ids))
    for row, (qid, ranked) in enumerate(zip(query_ids, rankings, strict=True)):
        gains = qrels.get(int(qid), {})
        for col, pid in enumerate(list(ranked)[:k]):
            relevance[row, col] = gains.get(pid, 0.0)
        grades = sorted(gains.values(), reverse=True)
        ideal[row, : len(grades)] = torch.tensor(grades)
        n_relevant[row] = sum(g > 0 for g in grades)
    return float(ndcg_at_k(relevance, n_relevant, k=k, ideal=ideal))


def exact_rankings(model: Any, probe: RetrievalProbe, precision: str = "fp32",
                   batch_size: int = 64) -> list[list[str]]:
    """Top-k product ids per probe query by exact cosine (embeddings are L2-normalised here)."""
    queries = model.encode(probe.queries, batch_size=batch_size, to_numpy=False, precision=precision)
    docs = model.encode(probe.titles, batch_size=batch_size, to_numpy=False, precision=precision)
    queries = torch.nn.functional.normalize(queries, dim=-1)  # (q, d)
    docs = torch.nn.functional.normalize(docs, dim=-1)  # (p, d)
    top = (queries @ docs.T).topk(min(probe.k, len(probe.titles)), dim=1).indices  # (q, k)
    return [[probe.product_ids[i] for i in row] for row in top.tolist()]


def exact_ndcg(model: Any, probe: RetrievalProbe, precision: str = "fp32") -> float:
    """Mean graded nDCG@k of exact search of the probe's queries over its catalogue."""
    return ndcg_of_rankings(exact_rankings(model, probe, precision), probe.query_ids,
                            probe.qrels, probe.k)
