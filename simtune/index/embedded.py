"""Embedded backend: Qdrant's engine in-process through ``qdrant-edge-py``.

Layout under the root folder::

    root/collections/<name>/shard/         the EdgeShard (segments, WAL, payload indexes)
    root/collections/<name>/simtune.json   metadata recorded at creation
    root/aliases/<alias>.json              {"collection": "<name>"}, swapped with os.replace

``qdrant_edge`` is imported here only, when a backend is built.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simtune.index.base import Backend, Hit, PayloadFilter, to_hit

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class _SharedLock:
    """Many users or one closer: a shard is never closed while another thread still queries it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._users = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._users += 1
        try:
            yield
        finally:
            with self._cond:
                self._users -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:  # held throughout, so no new user starts meanwhile
            self._cond.wait_for(lambda: self._users == 0)
            yield


@dataclass
class EdgeTuning:
    """HNSW and storage settings of embedded collections (see bench/bench_qdrant.py for measurements).

    Attributes:
        m: HNSW edges per node; 16 is Qdrant's default and gave recall@10 >= 0.95 in the bench.
        ef_construct: Candidates while building the graph; build time grows about linearly with it
            (100k x 384-d on 2 cores, unloaded: 28 s at 64, 60 s at 100).
        hnsw_ef: Candidates at query time (None: the engine's default); 128 gave recall@10 0.97 at
            100k synthetic and 0.998 on the cloud-FAQ MiniLM embeddings.
        full_scan_threshold_kb: Segments below this size are searched exactly, without HNSW.
        indexing_threshold_kb: Segments above this size get an HNSW graph on ``optimize()``.
        segments: Target number of segments; fewer, larger graphs search faster, more build in parallel.
        max_indexing_threads: Threads per graph build (0: all cores).
        on_disk: Keep original vectors memory-mapped rather than in RAM.
        wal: Write-ahead log (crash safety). With it a folder is locked while open.
    """

    m: int = 16
    ef_construct: int = 64
    hnsw_ef: int | None = 128
    full_scan_threshold_kb: int = 10_000
    indexing_threshold_kb: int = 10_000
    segments: int = 2
    max_indexing_threads: int = 0
    on_disk: bool = False
    wal: bool = True


class EmbeddedBackend(Backend):
    """Collections as folders of ``qdrant_edge.EdgeShard`` under ``root``; aliases as pointer files.

    Args:
        root: Folder holding collections and aliases (created if missing).
        tuning: HNSW and storage settings for collections created from now on.
    """

    def __init__(self, root: str | os.PathLike, tuning: EdgeTuning | None = None):
        import qdrant_edge

        self._q = qdrant_edge
        self.root = Path(root)
        self.tuning = tuning or EdgeTuning()
        (self.root / "collections").mkdir(parents=True, exist_ok=True)
        (self.root / "aliases").mkdir(exist_ok=True)
        self._shards: dict[str, Any] = {}
        self._meta: dict[str, dict[str, Any]] = {}  # metadata never changes after creation
        self._lock, self._load_lock = _SharedLock(), threading.Lock()

    # -- names ---------------------------------------------------------------------------------
    def _check(self, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"collection/alias name {name!r}: expected letters, digits, '_', '.', '-'")
        return name

    def _dir(self, collection: str) -> Path:
        return self.root / "collections" / self._check(collection)

    def _alias_file(self, alias: str) -> Path:
        return self.root / "aliases" / f"{self._check(alias)}.json"

    def resolve_alias(self, alias: str) -> str | None:
        try:
            return json.loads(self._alias_file(alias).read_text())["collection"]
        except FileNotFoundError:
            return None

    def _target(self, name: str) -> str:
        target = self.resolve_alias(name) or name
        if not (self._dir(target) / "simtune.json").is_file():
            raise KeyError(f"no collection or alias named {name!r} under {self.root}")
        return target

    def exists(self, name: str) -> bool:
        return self.resolve_alias(name) is not None or (self._dir(name) / "simtune.json").is_file()

    def switch_alias(self, alias: str, collection: str) -> None:
        if not (self._dir(collection) / "simtune.json").is_file():
            raise KeyError(f"cannot point alias {alias!r} at missing collection {collection!r}")
        if (self._dir(alias) / "simtune.json").is_file():
            raise ValueError(f"alias {alias!r} would shadow a collection of the same name")
        tmp = self._alias_file(alias).with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"collection": collection}))
        os.replace(tmp, self._alias_file(alias))  # atomic on POSIX: readers see old or new

    # -- collections ---------------------------------------------------------------------------
    def _shard(self, collection: str):
        with self._load_lock:  # two threads must not both load (the second would hit the WAL lock)
            shard = self._shards.get(collection)
            if shard is None:
                shard = self._q.EdgeShard.load(str(self._dir(collection) / "shard"))
                self._shards[collection] = shard
        return shard

    @contextmanager
    def _using(self, name: str) -> Iterator[Any]:
        """The shard behind ``name`` (alias resolved now), kept open until the block ends."""
        with self._lock.shared():
            yield self._shard(self._target(name))

    def create(self, name: str, dim: int, metadata: dict[str, Any], payload_indexes: dict[str, str]) -> None:
        q, t = self._q, self.tuning
        folder = self._dir(name)
        if folder.exists():
            raise FileExistsError(f"collection folder {folder} already exists")
        cfg = q.EdgeConfig(
            vectors=q.EdgeVectorParams(size=dim, distance=q.Distance.Cosine, on_disk=t.on_disk),
            hnsw_config=q.HnswIndexConfig(
                m=t.m,
                ef_construct=t.ef_construct,
                full_scan_threshold=t.full_scan_threshold_kb,
                max_indexing_threads=t.max_indexing_threads,
            ),
            optimizers=q.EdgeOptimizersConfig(
                default_segment_number=t.segments, indexing_threshold=t.indexing_threshold_kb
            ),
            wal_enabled=t.wal,
        )
        shard = q.EdgeShard.create(str(folder / "shard"), cfg)
        self._shards[name] = shard
        # Payload indexes are created before any point, as Qdrant recommends for bulk loads.
        for key, kind in payload_indexes.items():
            schema = getattr(q.PayloadSchemaType, kind.capitalize(), None)
            if schema is None:
                raise ValueError(f"payload index {key!r}: unknown type {kind!r} (keyword, integer, ...)")
            shard.update(q.UpdateOperation.create_field_index(key, schema))
        meta = {**metadata, "hnsw_ef": t.hnsw_ef}
        (folder / "simtune.json").write_text(json.dumps(meta, indent=1))

    def metadata(self, name: str) -> dict[str, Any]:
        target = self._target(name)
        if target not in self._meta:
            self._meta[target] = json.loads((self._dir(target) / "simtune.json").read_text())
        return self._meta[target]

    def delete(self, name: str) -> None:
        with self._lock.exclusive():
            self._meta.pop(name, None)
            shard = self._shards.pop(name, None)
            if shard is not None:
                shard.close()
            shutil.rmtree(self._dir(name), ignore_errors=True)

    # -- points --------------------------------------------------------------------------------
    def upsert(self, name: str, ids: list[str], vectors: np.ndarray, payloads: list[dict]) -> None:
        q = self._q
        points = [q.Point(i, v, p) for i, v, p in zip(ids, vectors.tolist(), payloads, strict=True)]
        with self._using(name) as shard:
            shard.update(q.UpdateOperation.upsert_points(points))

    def finish(self, name: str) -> None:
        with self._using(name) as shard:
            shard.optimize()  # blocking: builds the HNSW graph of segments past the indexing threshold
            shard.flush()

    def info(self, name: str):
        """The engine's ``ShardInfo`` (points, indexed vectors, segments, payload schema)."""
        with self._using(name) as shard:
            return shard.info()

    def count(self, name: str) -> int:
        with self._using(name) as shard:
            return shard.count(self._q.CountRequest(exact=True))

    def _filter(self, flt: PayloadFilter | None):
        if not flt:
            return None
        q = self._q
        conds = [
            q.FieldCondition(
                key=key,
                match=q.MatchAny(list(v)) if isinstance(v, (list, tuple)) else q.MatchValue(v),
            )
            for key, v in flt.items()
        ]
        return q.Filter(must=conds)

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
        q = self._q
        params = q.SearchParams(hnsw_ef=hnsw_ef, exact=exact)
        engine_filter = self._filter(flt)
        requests = [
            q.QueryRequest(
                limit=k,
                query=q.Query.Nearest(v),
                filter=engine_filter,
                score_threshold=score_threshold,
                params=params,
                with_payload=True,
            )
            for v in vectors.tolist()
        ]
        with self._using(name) as shard:
            if len(requests) == 1:  # skips the batch wrapper's overhead on the latency-critical path
                results = [shard.query(requests[0])]
            else:
                results = shard.query_batch(q.QueryBatchRequest(requests))
        return [[to_hit(p.payload, p.score) for p in res] for res in results]

    def close(self) -> None:
        with self._lock.exclusive():
            for shard in self._shards.values():
                shard.close()
            self._shards.clear()
