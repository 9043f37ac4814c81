"""``QdrantIndex``: push a ``SimilarityModel``'s embeddings into Qdrant and search them.

The same calls work on both backends: the embedded engine (``qdrant-edge-py``, the default) and a
Qdrant server over gRPC. A user-facing collection name is an alias to a versioned collection
(``<name>_v<N>``), so a re-index builds ``<name>_v<N+1>`` and switches the alias in one atomic step.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from simtune.index.base import (
    ID_KEY,
    META_DISTANCE,
    META_FINGERPRINT,
    META_SIZE,
    TEXT_KEY,
    Backend,
    Hit,
    IndexMismatchError,
    PayloadFilter,
    as_record,
    check_filter,
    point_id,
)


class EncodesText(Protocol):
    """What the index needs from a model; ``simtune.model.SimilarityModel`` provides it."""

    embedding_size: int

    def encode(self, texts: list[str], batch_size: int = 32, to_numpy: bool = True) -> np.ndarray: ...

    def fingerprint(self) -> str: ...


@dataclass(frozen=True)
class PushReport:
    """What a push did: ``points`` distinct ids pushed into ``target``, now reached as ``collection``.

    ``seconds`` is the whole push; ``finish_seconds`` the part spent making the index searchable
    (the HNSW build of the embedded engine, waiting for green on a server).
    """

    collection: str
    target: str
    points: int
    count: int
    seconds: float
    finish_seconds: float
    reindexed: bool


class QdrantIndex:
    """One interface over an embedded Qdrant engine or a Qdrant server.

    Build it with ``QdrantIndex.embedded(path)`` or ``QdrantIndex.server(url, ...)``; use it as a
    context manager (or call ``close()``) to release locks and channels.
    """

    def __init__(self, backend: Backend):
        self.backend = backend

    @classmethod
    def embedded(cls, path: str | os.PathLike, tuning=None) -> QdrantIndex:
        """An index stored under folder ``path`` (created if missing), searched in-process.

        Args:
            path: Root folder of collections and aliases.
            tuning: ``simtune.index.EdgeTuning`` (HNSW m, ef, thresholds, WAL, on-disk vectors).
        """
        from simtune.index.embedded import EmbeddedBackend

        return cls(EmbeddedBackend(path, tuning))

    @classmethod
    def server(cls, url: str, grpc_port: int = 6334, api_key: str | None = None, **kwargs: Any) -> QdrantIndex:
        """An index on a Qdrant server, over gRPC. ``api_key`` defaults to ``$QDRANT_API_KEY``.

        Other keyword arguments go to ``ServerBackend`` (``https``, ``options=ServerOptions(...)`` with
        ``shard_number``, ``replication_factor``, ``write_consistency_factor``, ``on_disk``;
        ``check_compatibility``, ``timeout``).
        """
        from simtune.index.server import ServerBackend

        return cls(ServerBackend(url, grpc_port=grpc_port, api_key=api_key, **kwargs))

    def __enter__(self) -> QdrantIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the backend (file locks of the embedded engine, gRPC channels of a server)."""
        self.backend.close()

    # -- inspection ----------------------------------------------------------------------------
    def count(self, collection: str) -> int:
        """Exact number of points reached through ``collection`` (an alias or a collection)."""
        return self.backend.count(collection)

    def exists(self, collection: str) -> bool:
        """Whether ``collection`` (an alias or a collection) exists."""
        return self.backend.exists(collection)

    def target(self, collection: str) -> str:
        """The versioned collection that the alias ``collection`` points to now."""
        return self.backend.resolve_alias(collection) or collection

    def _check_model(self, model: EncodesText, collection: str, strict_fingerprint: bool) -> dict:
        meta = self.backend.metadata(collection)
        size, fp = int(model.embedding_size), model.fingerprint()
        if META_SIZE not in meta:
            raise IndexMismatchError(
                f"collection {collection!r} was not created by simtune (no {META_SIZE!r} in its metadata); "
                "push with reindex=True to build a simtune collection behind this name"
            )
        if meta.get(META_SIZE) != size:
            raise IndexMismatchError(
                f"collection {collection!r} holds {meta.get(META_SIZE)}-d embeddings but the model "
                f"produces {size}-d ones; push with reindex=True to rebuild it for this model"
            )
        if strict_fingerprint and meta.get(META_FINGERPRINT) != fp:
            raise IndexMismatchError(
                f"collection {collection!r} was built by servable {meta.get(META_FINGERPRINT)} but this "
                f"model is {fp}; mixing embedding spaces gives meaningless scores. Push with "
                "reindex=True, or pass strict_fingerprint=False if the weights are known to match"
            )
        return meta

    # -- push ----------------------------------------------------------------------------------
    def push(
        self,
        model: EncodesText,
        records: Iterable[Any],
        collection: str,
        batch_size: int = 256,
        reindex: bool = False,
        keep_old: bool = False,
        payload_indexes: dict[str, str] | None = None,
        store_text: bool = True,
        strict_fingerprint: bool = True,
        show_progress: bool = True,
    ) -> PushReport:
        """Encode ``records`` with ``model`` in batches and upsert them into ``collection``.

        Point ids are UUIDv5 of the external ids, so pushing a record again replaces it. A new
        collection (or ``reindex=True``) is built as ``<collection>_v<N>`` and published by switching
        the alias ``collection`` only once every point is in and the count is checked, so searches
        never see a half-built index.

        Args:
            model: Has ``encode(texts, batch_size, to_numpy=True) -> (n, embedding_size)``,
                ``embedding_size`` and ``fingerprint()``.
            records: ``IndexRecord``s, ``(id, text[, payload])`` tuples or ``{"id", "text"[, "payload"]}``
                dicts; streamed, never materialised.
            collection: The alias searches use.
            batch_size: Records per encode call and per upsert.
            reindex: Build a fresh versioned collection even if ``collection`` exists.
            keep_old: After a re-index keep the previous version (for rollback) instead of deleting it.
            payload_indexes: Payload key -> ``"keyword"``/``"integer"``/``"float"``/``"bool"``, created
                with a new collection, before any point.
            store_text: Keep each record's text in the payload under ``"text"``.
            strict_fingerprint: Refuse a model whose servable fingerprint differs from the collection's.
            show_progress: tqdm progress bar.

        Returns:
            A ``PushReport``.

        Raises:
            IndexMismatchError: the model does not fit the existing collection.
            ValueError: a malformed record or an external id repeated within this push (names the row).
            RuntimeError: the point count after the push is not what was pushed.
        """
        from tqdm.auto import tqdm

        start = time.perf_counter()
        dim, fp = int(model.embedding_size), model.fingerprint()
        current = self.backend.resolve_alias(collection)
        fresh = reindex or not self.backend.exists(collection)
        if fresh and current is None and self.backend.exists(collection):
            raise ValueError(
                f"{collection!r} is a collection, not an alias, so it cannot be re-indexed behind its name; "
                "push under another name (or delete it first)"
            )
        if fresh:
            target = _next_version(collection, current)
            if self.backend.exists(target):  # leftover of a push that failed before its switch
                self.backend.delete(target)
            meta = {META_SIZE: dim, META_FINGERPRINT: fp, META_DISTANCE: "cosine"}
            self.backend.create(target, dim, meta, {ID_KEY: "keyword", **(payload_indexes or {})})
            before = 0
        else:
            self._check_model(model, collection, strict_fingerprint)
            target = current or collection
            before = self.backend.count(target)

        seen: dict[str, int] = {}  # point id -> row, to name both rows of a repeated id
        total = len(records) if isinstance(records, Sequence) else None
        rows = enumerate(records)
        with tqdm(total=total, desc=f"push {collection}", unit="rec", disable=not show_progress) as bar:
            while chunk := list(itertools.islice(rows, batch_size)):
                recs = [as_record(item, row) for row, item in chunk]
                ids = [point_id(r.id) for r in recs]
                for (row, _), pid, rec in zip(chunk, ids, recs, strict=True):
                    if pid in seen:
                        raise ValueError(f"record {row}: id {rec.id!r} repeats record {seen[pid]}")
                    seen[pid] = row
                vectors = np.asarray(model.encode([r.text for r in recs], batch_size=batch_size, to_numpy=True))
                if vectors.shape != (len(recs), dim):
                    raise IndexMismatchError(
                        f"model.encode returned shape {vectors.shape} for {len(recs)} texts, "
                        f"expected ({len(recs)}, {dim})"
                    )
                payloads = [{**r.payload, ID_KEY: r.id, **({TEXT_KEY: r.text} if store_text else {})} for r in recs]
                self.backend.upsert(target, ids, vectors.astype(np.float32, copy=False), payloads)
                bar.update(len(recs))

        finish_start = time.perf_counter()
        self.backend.finish(target)
        finish_seconds = time.perf_counter() - finish_start
        count = self.backend.count(target)
        expected_ok = count == len(seen) if fresh else len(seen) <= count <= before + len(seen)
        if not expected_ok:
            raise RuntimeError(
                f"collection {target!r} holds {count} points after pushing {len(seen)} distinct ids "
                f"(had {before}); the alias was not switched"
            )
        if fresh:
            self.backend.switch_alias(collection, target)
            if current is not None and current != target and not keep_old:
                self.backend.delete(current)
        return PushReport(collection, target, len(seen), count, time.perf_counter() - start, finish_seconds, fresh)

    # -- search --------------------------------------------------------------------------------
    def search(
        self,
        model: EncodesText,
        queries: str | Sequence[str],
        collection: str,
        k: int = 10,
        score_threshold: float | None = None,
        filter: PayloadFilter | None = None,  # noqa: A002 - the word users expect
        batch_size: int = 256,
        exact: bool = False,
        hnsw_ef: int | None = None,
        strict_fingerprint: bool = True,
    ) -> list[list[Hit]] | list[Hit]:
        """Top-``k`` hits per query, best first; scores are cosine similarities.

        Args:
            model: The model whose embeddings were pushed (size and fingerprint are checked).
            queries: One text (returns ``list[Hit]``) or many (returns one list per query).
            collection: Alias or collection name.
            k: Hits per query.
            score_threshold: Drop hits scoring below it.
            filter: ``{key: value}`` exact match or ``{key: [v1, v2]}`` any-of; keys are ANDed.
            batch_size: Queries per encode call and per backend batch.
            exact: Brute-force search (ground truth for recall), bypassing HNSW.
            hnsw_ef: Query-time HNSW candidates (default: recorded with the collection).
            strict_fingerprint: Refuse a model whose fingerprint differs from the collection's.
        """
        flt = check_filter(filter)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        single = isinstance(queries, str)
        texts = [queries] if single else list(queries)
        meta = self._check_model(model, collection, strict_fingerprint)
        ef = hnsw_ef if hnsw_ef is not None else meta.get("hnsw_ef")
        hits: list[list[Hit]] = []
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            vectors = np.asarray(model.encode(batch, batch_size=batch_size, to_numpy=True), dtype=np.float32)
            hits.extend(self.backend.query(collection, vectors, k, score_threshold, flt, exact, ef))
        return hits[0] if single else hits

    def search_vectors(
        self,
        vectors: np.ndarray,
        collection: str,
        k: int = 10,
        score_threshold: float | None = None,
        filter: PayloadFilter | None = None,  # noqa: A002
        exact: bool = False,
        hnsw_ef: int | None = None,
    ) -> list[list[Hit]]:
        """Like ``search`` for precomputed query embeddings ``(n_queries, dim)`` (no model checks)."""
        ef = hnsw_ef if hnsw_ef is not None else self.backend.metadata(collection).get("hnsw_ef")
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, np.shape(vectors)[-1])
        return self.backend.query(collection, vectors, k, score_threshold, check_filter(filter), exact, ef)


def _next_version(alias: str, current: str | None) -> str:
    """``<alias>_v<N+1>`` after ``current`` (``<alias>_v1`` when there is none)."""
    match = re.fullmatch(re.escape(alias) + r"_v(\d+)", current or "")
    return f"{alias}_v{int(match.group(1)) + 1 if match else 1}"
