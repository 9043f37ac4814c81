"""Server backend: a Qdrant server or cluster through ``qdrant-client`` over gRPC.

``qdrant_client`` is imported here only, when a backend is built.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from simtune.index.base import Backend, Hit, PayloadFilter, to_hit

#: Queries per QueryBatch call: 64 x 384-d float32 is ~100 KB, far below gRPC's 4 MB default cap.
QUERY_CHUNK = 64


@dataclass
class ServerOptions:
    """Collection options that matter on a cluster, applied when a collection is created.

    Attributes:
        shard_number: Shards per collection (spread over nodes; ~2x the node count is typical).
        replication_factor: Copies of each shard; >= 2 keeps the collection readable when a node dies.
        write_consistency_factor: Replicas that must acknowledge a write before it returns.
        on_disk: Keep original vectors memory-mapped on disk instead of in RAM.
        m: HNSW edges per node.
        ef_construct: HNSW build candidates.
        hnsw_ef: Query-time HNSW candidates (None: the server's default).
        indexing_threshold_kb: Segment size above which the server builds HNSW. A new collection is
            created with indexing off (0), as Qdrant advises for bulk loads, and ``finish`` sets this.
        green_timeout_s: How long ``finish`` waits for the optimizer to report green.
    """

    shard_number: int | None = None
    replication_factor: int | None = None
    write_consistency_factor: int | None = None
    on_disk: bool = False
    m: int = 16
    ef_construct: int = 100
    hnsw_ef: int | None = 128
    indexing_threshold_kb: int = 10_000
    green_timeout_s: float = 600.0


class ServerBackend(Backend):
    """Qdrant collections and aliases on a server, spoken to over gRPC (``prefer_grpc=True``).

    Args:
        url: e.g. ``"http://localhost:6333"`` or ``"https://xyz.cloud.qdrant.io:6333"``; the port in
            it is the REST port, gRPC uses ``grpc_port``.
        grpc_port: The server's gRPC port.
        api_key: Defaults to the ``QDRANT_API_KEY`` environment variable.
        https: Use TLS (None: inferred from the URL scheme).
        options: Collection options for collections created from now on.
        check_compatibility: Ask the server's version over REST first (turn off for gRPC-only servers).
        timeout: Per-call timeout in seconds.
    """

    def __init__(
        self,
        url: str,
        grpc_port: int = 6334,
        api_key: str | None = None,
        https: bool | None = None,
        options: ServerOptions | None = None,
        check_compatibility: bool = True,
        timeout: int | None = None,
    ):
        from qdrant_client import QdrantClient, models

        self._m = models
        self._meta: dict[str, dict[str, Any]] = {}
        self.options = options or ServerOptions()
        self.client = QdrantClient(
            url=url,
            grpc_port=grpc_port,
            prefer_grpc=True,
            api_key=api_key if api_key is not None else os.environ.get("QDRANT_API_KEY"),
            https=https,
            check_compatibility=check_compatibility,
            timeout=timeout,
        )

    def resolve_alias(self, alias: str) -> str | None:
        for a in self.client.get_aliases().aliases:
            if a.alias_name == alias:
                return a.collection_name
        return None

    def exists(self, name: str) -> bool:
        return self.resolve_alias(name) is not None or self.client.collection_exists(name)

    def switch_alias(self, alias: str, collection: str) -> None:
        m = self._m
        ops: list[Any] = []
        if self.resolve_alias(alias) is not None:
            ops.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=alias)))
        ops.append(m.CreateAliasOperation(create_alias=m.CreateAlias(collection_name=collection, alias_name=alias)))
        self.client.update_collection_aliases(change_aliases_operations=ops)  # one atomic call

    def create(self, name: str, dim: int, metadata: dict[str, Any], payload_indexes: dict[str, str]) -> None:
        m, o = self._m, self.options
        self.client.create_collection(
            collection_name=name,
            vectors_config=m.VectorParams(size=dim, distance=m.Distance.COSINE, on_disk=o.on_disk),
            shard_number=o.shard_number,
            replication_factor=o.replication_factor,
            write_consistency_factor=o.write_consistency_factor,
            hnsw_config=m.HnswConfigDiff(m=o.m, ef_construct=o.ef_construct),
            optimizers_config=m.OptimizersConfigDiff(indexing_threshold=0),  # no HNSW while loading
            metadata={**metadata, "hnsw_ef": o.hnsw_ef},
        )
        for key, kind in payload_indexes.items():
            self.client.create_payload_index(name, key, field_schema=m.PayloadSchemaType(kind.lower()), wait=True)

    def metadata(self, name: str) -> dict[str, Any]:
        target = self.resolve_alias(name) or name
        if target not in self._meta:  # written once at creation: one Get per collection, not per search
            self._meta[target] = dict(self.client.get_collection(target).config.metadata or {})
        return self._meta[target]

    def delete(self, name: str) -> None:
        self._meta.pop(name, None)
        self.client.delete_collection(name)

    def upsert(self, name: str, ids: list[str], vectors: np.ndarray, payloads: list[dict]) -> None:
        m = self._m
        points = [
            m.PointStruct(id=i, vector=v, payload=p) for i, v, p in zip(ids, vectors.tolist(), payloads, strict=True)
        ]
        self.client.upsert(collection_name=name, points=points, wait=True)

    def finish(self, name: str) -> None:
        optimizers = self._m.OptimizersConfigDiff(indexing_threshold=self.options.indexing_threshold_kb)
        self.client.update_collection(collection_name=name, optimizers_config=optimizers)
        deadline = time.monotonic() + self.options.green_timeout_s
        while self.client.get_collection(name).status != self._m.CollectionStatus.GREEN:
            if time.monotonic() > deadline:
                raise TimeoutError(f"collection {name!r} not green after {self.options.green_timeout_s} s")
            time.sleep(0.5)

    def count(self, name: str) -> int:
        return self.client.count(collection_name=name, exact=True).count

    def _filter(self, flt: PayloadFilter | None):
        if not flt:
            return None
        m = self._m
        conds = [
            m.FieldCondition(
                key=key,
                match=m.MatchAny(any=list(v)) if isinstance(v, (list, tuple)) else m.MatchValue(value=v),
            )
            for key, v in flt.items()
        ]
        return m.Filter(must=conds)

    def query(
        self,
        name: str,
        vectors: np.ndarray,
        k: int,
        score_threshold: float | None,
        flt: PayloadFilter | None,
        exact: bool = False,
        hnsw_ef: int | None = None,
    ) -> list[list[Hit]]:
        m = self._m
        params = m.SearchParams(hnsw_ef=hnsw_ef, exact=exact)
        server_filter = self._filter(flt)
        requests = [
            m.QueryRequest(
                query=v,
                filter=server_filter,
                limit=k,
                score_threshold=score_threshold,
                params=params,
                with_payload=True,
            )
            for v in vectors.tolist()
        ]
        out: list[list[Hit]] = []
        for start in range(0, len(requests), QUERY_CHUNK):
            chunk = requests[start : start + QUERY_CHUNK]
            if len(chunk) == 1:
                r = chunk[0]
                responses = [
                    self.client.query_points(
                        name,
                        query=r.query,
                        query_filter=r.filter,
                        limit=k,
                        score_threshold=score_threshold,
                        search_params=params,
                        with_payload=True,
                    )
                ]
            else:
                responses = self.client.query_batch_points(name, requests=chunk)
            out.extend([to_hit(p.payload, p.score) for p in resp.points] for resp in responses)
        return out

    def close(self) -> None:
        self.client.close()
