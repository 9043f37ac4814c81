"""A test double of Qdrant's gRPC API, backed by the embedded engine. Not a Qdrant server.

It implements only the calls ``simtune.index.ServerBackend`` makes through ``qdrant-client`` with
``prefer_grpc=True`` (Collections: CollectionExists, Create, Get, Update, Delete, UpdateAliases, ListAliases;
Points: Upsert, Query, QueryBatch, Count, Get, CreateFieldIndex; Qdrant: HealthCheck), so tests can
drive the real client, its protobuf conversions and a real socket on 127.0.0.1. Each collection is a
``qdrant_edge.EdgeShard`` in a temporary folder; sharding, replication and consistency options are
recorded (``created``) but mean nothing here. Any other RPC answers UNIMPLEMENTED, as grpcio does.
Filters: ``must`` of ``FieldCondition`` with ``MatchValue``/``MatchAny`` only.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from concurrent import futures
from pathlib import Path

import grpc
import qdrant_edge as qe
from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import GrpcToRest, RestToGrpc
from qdrant_client.http import models as rest

_DISTANCE = {
    pb.Distance.Cosine: qe.Distance.Cosine,
    pb.Distance.Dot: qe.Distance.Dot,
    pb.Distance.Euclid: qe.Distance.Euclid,
}
_SCHEMA = {
    pb.FieldType.FieldTypeKeyword: qe.PayloadSchemaType.Keyword,
    pb.FieldType.FieldTypeInteger: qe.PayloadSchemaType.Integer,
    pb.FieldType.FieldTypeFloat: qe.PayloadSchemaType.Float,
    pb.FieldType.FieldTypeBool: qe.PayloadSchemaType.Bool,
}


class _State:
    """Collections (EdgeShard + the Create request) and aliases, shared by the three services."""

    def __init__(self, root: Path):
        self.root, self.lock = root, threading.RLock()
        self.shards: dict[str, qe.EdgeShard] = {}
        self.created: dict[str, pb.CreateCollection] = {}
        self.aliases: dict[str, str] = {}
        self.updated: dict[str, list[pb.UpdateCollection]] = {}
        self.api_keys: set[str] = set()
        self.folders: dict[str, Path] = {}

    def shard(self, name: str, context) -> qe.EdgeShard:
        with self.lock:
            shard = self.shards.get(self.aliases.get(name, name))
        if shard is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Collection `{name}` doesn't exist!")
        return shard


def _edge_filter(flt: rest.Filter | None, context):
    if flt is None:
        return None
    if flt.should or flt.must_not or flt.min_should:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "test double: only `must` filters")
    conds = []
    for c in flt.must or []:
        if isinstance(c, rest.FieldCondition) and isinstance(c.match, rest.MatchValue):
            conds.append(qe.FieldCondition(key=c.key, match=qe.MatchValue(c.match.value)))
        elif isinstance(c, rest.FieldCondition) and isinstance(c.match, rest.MatchAny):
            conds.append(qe.FieldCondition(key=c.key, match=qe.MatchAny(list(c.match.any))))
        else:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"test double: unsupported condition {c!r}")
    return qe.Filter(must=conds)


class _Collections(pb.CollectionsServicer):
    def __init__(self, state: _State):
        self.s = state

    def CollectionExists(self, request, context):
        with self.s.lock:
            exists = request.collection_name in self.s.shards
        return pb.CollectionExistsResponse(result=pb.CollectionExists(exists=exists))

    def Create(self, request, context):
        name = request.collection_name
        self.s.api_keys.update(v for k, v in context.invocation_metadata() if k == "api-key")
        with self.s.lock:
            if name in self.s.shards or name in self.s.aliases:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"Collection `{name}` already exists!")
            params = request.vectors_config.params
            hnsw = request.hnsw_config
            config = qe.EdgeConfig(
                vectors=qe.EdgeVectorParams(size=params.size, distance=_DISTANCE[params.distance]),
                hnsw_config=qe.HnswIndexConfig(
                    m=hnsw.m or 16, ef_construct=hnsw.ef_construct or 100, full_scan_threshold=10_000
                ),
                wal_enabled=False,
            )
            folder = self.s.root / f"{name}-{uuid.uuid4().hex[:8]}"  # a re-created name gets a fresh folder
            self.s.shards[name] = qe.EdgeShard.create(str(folder), config)
            self.s.folders[name] = folder
            self.s.created[name] = request
        return pb.CollectionOperationResponse(result=True)

    def Update(self, request, context):
        shard = self.s.shard(request.collection_name, context)
        with self.s.lock:
            self.s.updated.setdefault(request.collection_name, []).append(request)
        shard.optimize()  # stands in for the server's background optimizer reacting to new settings
        return pb.CollectionOperationResponse(result=True)

    def Get(self, request, context):
        name = request.collection_name
        shard = self.s.shard(name, context)
        with self.s.lock:
            req = self.s.created[self.s.aliases.get(name, name)]
        info = shard.info()
        config = pb.CollectionConfig(
            params=pb.CollectionParams(
                vectors_config=req.vectors_config,
                shard_number=req.shard_number or 1,
                replication_factor=req.replication_factor or 1,
                write_consistency_factor=req.write_consistency_factor or 1,
                on_disk_payload=True,
            ),
            hnsw_config=pb.HnswConfigDiff(
                m=req.hnsw_config.m or 16, ef_construct=req.hnsw_config.ef_construct or 100, full_scan_threshold=10_000
            ),
            optimizer_config=pb.OptimizersConfigDiff(
                deleted_threshold=0.2, vacuum_min_vector_number=1000, default_segment_number=0, flush_interval_sec=5
            ),
            wal_config=pb.WalConfigDiff(wal_capacity_mb=32, wal_segments_ahead=0),
            metadata=req.metadata,
        )
        result = pb.CollectionInfo(
            status=pb.CollectionStatus.Green,
            optimizer_status=pb.OptimizerStatus(ok=True),
            segments_count=info.segments_count,
            points_count=info.points_count,
            indexed_vectors_count=info.indexed_vectors_count,
            config=config,
        )
        return pb.GetCollectionInfoResponse(result=result)

    def Delete(self, request, context):
        name = request.collection_name
        with self.s.lock:
            shard = self.s.shards.pop(name, None)
            self.s.created.pop(name, None)
            self.s.aliases = {a: c for a, c in self.s.aliases.items() if c != name}
            folder = self.s.folders.pop(name, None)
        if shard is not None:
            shard.close()
            shutil.rmtree(folder, ignore_errors=True)
        return pb.CollectionOperationResponse(result=shard is not None)

    def UpdateAliases(self, request, context):
        with self.s.lock:  # all actions under one lock: readers see the old or the new mapping
            aliases = dict(self.s.aliases)
            for op in request.actions:
                kind = op.WhichOneof("action")
                if kind == "create_alias":
                    if op.create_alias.collection_name not in self.s.shards:
                        context.abort(
                            grpc.StatusCode.NOT_FOUND, f"Collection `{op.create_alias.collection_name}` doesn't exist!"
                        )
                    aliases[op.create_alias.alias_name] = op.create_alias.collection_name
                elif kind == "delete_alias":
                    aliases.pop(op.delete_alias.alias_name, None)
                else:
                    aliases[op.rename_alias.new_alias_name] = aliases.pop(op.rename_alias.old_alias_name)
            self.s.aliases = aliases
        return pb.CollectionOperationResponse(result=True)

    def ListAliases(self, request, context):
        with self.s.lock:
            items = [pb.AliasDescription(alias_name=a, collection_name=c) for a, c in self.s.aliases.items()]
        return pb.ListAliasesResponse(aliases=items)


class _Points(pb.PointsServicer):
    def __init__(self, state: _State):
        self.s = state

    def Upsert(self, request, context):
        shard = self.s.shard(request.collection_name, context)
        points = []
        for p in request.points:
            r = GrpcToRest.convert_point_struct(p)
            points.append(qe.Point(r.id, r.vector, r.payload or {}))
        shard.update(qe.UpdateOperation.upsert_points(points))  # applied before we answer: wait=True
        return pb.PointsOperationResponse(result=pb.UpdateResult(operation_id=0, status=pb.UpdateStatus.Completed))

    def CreateFieldIndex(self, request, context):
        shard = self.s.shard(request.collection_name, context)
        shard.update(qe.UpdateOperation.create_field_index(request.field_name, _SCHEMA[request.field_type]))
        return pb.PointsOperationResponse(result=pb.UpdateResult(operation_id=0, status=pb.UpdateStatus.Completed))

    def _query(self, request, context) -> list:
        shard = self.s.shard(request.collection_name, context)
        q = GrpcToRest.convert_query_points(request)
        vector = q.query.nearest if isinstance(q.query, rest.NearestQuery) else q.query
        if not isinstance(vector, list) or q.prefetch:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "test double: only nearest-vector queries")
        params = qe.SearchParams(hnsw_ef=q.params.hnsw_ef, exact=bool(q.params.exact)) if q.params else None
        hits = shard.query(
            qe.QueryRequest(
                limit=q.limit or 10,
                query=qe.Query.Nearest(vector),
                filter=_edge_filter(q.filter, context),
                score_threshold=q.score_threshold,
                params=params,
                with_payload=bool(q.with_payload),
            )
        )
        return [
            RestToGrpc.convert_scored_point(
                rest.ScoredPoint(id=h.id, version=h.version, score=h.score, payload=h.payload)
            )
            for h in hits
        ]

    def Query(self, request, context):
        return pb.QueryResponse(result=self._query(request, context))

    def QueryBatch(self, request, context):
        results = [pb.BatchResult(result=self._query(q, context)) for q in request.query_points]
        return pb.QueryBatchResponse(result=results)

    def Count(self, request, context):
        shard = self.s.shard(request.collection_name, context)
        flt = _edge_filter(GrpcToRest.convert_filter(request.filter), context) if request.HasField("filter") else None
        return pb.CountResponse(result=pb.CountResult(count=shard.count(qe.CountRequest(exact=True, filter=flt))))

    def Get(self, request, context):
        shard = self.s.shard(request.collection_name, context)
        ids = [GrpcToRest.convert_point_id(i) for i in request.ids]
        records = shard.retrieve(ids, with_payload=True, with_vector=False)
        out = [RestToGrpc.convert_record(rest.Record(id=r.id, payload=r.payload)) for r in records]
        return pb.GetResponse(result=out)


class _Qdrant(pb.QdrantServicer):
    def HealthCheck(self, request, context):
        return pb.HealthCheckReply(title="simtune gRPC test double (not Qdrant)", version="0.0.0-double")


class QdrantGrpcDouble:
    """Serve the double on 127.0.0.1 (a free port); ``with QdrantGrpcDouble() as d: d.port``."""

    def __init__(self, max_message_mb: int = 64):
        self._tmp = tempfile.TemporaryDirectory(prefix="qdrant_double_")
        self.state = _State(Path(self._tmp.name))
        limit = max_message_mb * 1024 * 1024  # above gRPC's 4 MB default, as a real server allows
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4),
            options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)],
        )
        pb.add_CollectionsServicer_to_server(_Collections(self.state), self.server)
        pb.add_PointsServicer_to_server(_Points(self.state), self.server)
        pb.add_QdrantServicer_to_server(_Qdrant(), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    @property
    def created(self) -> dict[str, pb.CreateCollection]:
        """The Create request of each live collection (to check the options a client sent)."""
        return self.state.created

    def __enter__(self) -> QdrantGrpcDouble:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop(grace=None)
        for shard in self.state.shards.values():
            shard.close()
        self._tmp.cleanup()
