"""Chunked nearest-neighbour ranking with a running top-k: relevance lists without an N x N matrix.

Memory is O(query_chunk * doc_chunk + n_queries * k): one block of similarities at a time, and for
each query the best ``k`` (similarity, index) pairs seen so far.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

Similarity = Callable[[Tensor, Tensor], Tensor]


def cosine_prepare(x: Tensor) -> Tensor:
    """L2-normalise rows once, so each block's cosine similarity is a plain matmul."""
    return F.normalize(x.float(), dim=-1)


def dot_similarity(q: Tensor, d: Tensor) -> Tensor:
    """q (m, dim), d (n, dim) -> (m, n) dot products."""
    return q @ d.T


def count_relevant(query_labels: Tensor, doc_labels: Tensor, same_set: bool) -> Tensor:
    """How many documents share each query's label (minus the query itself when ``same_set``).

    Args:
        query_labels: (n_queries,) integer labels.
        doc_labels: (n_docs,) integer labels.
        same_set: Queries are the documents (query i is document i) and must not count themselves.

    Returns:
        (n_queries,) long counts.
    """
    ordered = torch.sort(doc_labels).values
    counts = torch.searchsorted(ordered, query_labels, right=True) - torch.searchsorted(
        ordered, query_labels
    )
    return counts - 1 if same_set else counts


def ranked_relevance(
    queries: Tensor,
    docs: Tensor,
    query_labels: Tensor,
    doc_labels: Tensor,
    k: int,
    *,
    same_set: bool,
    similarity: Similarity = dot_similarity,
    query_chunk: int = 1024,
    doc_chunk: int = 16384,
) -> tuple[Tensor, Tensor]:
    """Rank documents for each query and return the relevance of the top ``k`` and the relevant counts.

    A document is relevant to a query when their labels are equal. When ``same_set`` the queries are
    the documents themselves and a query never retrieves itself.

    Ties: within the returned list, items with exactly equal similarity are ordered non-relevant
    first (pessimistic), so a collapsed model whose embeddings are all equal cannot score by luck of
    the index order. Which of several tied items enter the list at position ``k`` is unspecified.

    Args:
        queries: (n_queries, dim) query embeddings, already prepared for ``similarity``.
        docs: (n_docs, dim) document embeddings; the same tensor as ``queries`` when ``same_set``.
        query_labels: (n_queries,) integer labels.
        doc_labels: (n_docs,) integer labels.
        k: List depth. If fewer than ``k`` documents can be retrieved, the list is padded with
            relevance 0 (so precision@k still divides by k).
        same_set: Queries are the documents; exclude each query from its own list.
        similarity: (m, dim), (n, dim) -> (m, n), larger is closer.
        query_chunk: Queries per block.
        doc_chunk: Documents per block.

    Returns:
        relevance (n_queries, k) float32 in {0, 1}, best first; n_relevant (n_queries,) long.
    """
    n_q, n_d = queries.shape[0], docs.shape[0]
    if query_labels.shape != (n_q,) or doc_labels.shape != (n_d,):
        raise ValueError(
            f"labels must be ({n_q},) and ({n_d},), got {tuple(query_labels.shape)} and {tuple(doc_labels.shape)}"
        )
    if same_set and n_q != n_d:
        raise ValueError(f"same_set needs as many queries as documents, got {n_q} and {n_d}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    depth = min(k, n_d - 1 if same_set else n_d)  # how many documents a query can retrieve
    relevance = torch.zeros(n_q, k)
    n_relevant = count_relevant(query_labels, doc_labels, same_set)
    if depth < 1 or n_q == 0:
        return relevance, n_relevant

    for qs in range(0, n_q, query_chunk):
        q = queries[qs : qs + query_chunk]
        rows = torch.arange(q.shape[0])
        best_v = torch.empty(q.shape[0], 0)
        best_i = torch.empty(q.shape[0], 0, dtype=torch.long)
        for ds in range(0, n_d, doc_chunk):
            sim = similarity(q, docs[ds : ds + doc_chunk]).float()  # (bq, bd)
            if same_set:
                # The query's own column, where it falls inside this block of documents.
                col = rows + qs - ds
                inside = (col >= 0) & (col < sim.shape[1])
                sim[rows[inside], col[inside]] = float("-inf")
            v, i = sim.topk(min(depth, sim.shape[1]), dim=1)  # (bq, <=depth)
            v, i = torch.cat([best_v, v], 1), torch.cat([best_i, i + ds], 1)
            if v.shape[1] > depth:
                v, sel = v.topk(depth, dim=1)
                i = i.gather(1, sel)
            best_v, best_i = v, i
        rel = (
            doc_labels[best_i] == query_labels[qs : qs + query_chunk, None]
        ).float()  # (bq, depth)
        # Pessimistic ties: stable sort by relevance ascending, then stably by similarity descending.
        o1 = torch.argsort(rel, dim=1, stable=True)
        v1, r1 = best_v.gather(1, o1), rel.gather(1, o1)
        o2 = torch.argsort(v1, dim=1, descending=True, stable=True)
        relevance[qs : qs + q.shape[0], :depth] = r1.gather(1, o2)
    return relevance, n_relevant
