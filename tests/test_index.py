"""simtune.index on both backends: the embedded engine and qdrant-client over gRPC to a test double.

The gRPC runs go through a real socket to ``tests/qdrant_grpc_double.py`` (a test double backed by
the embedded engine, not a Qdrant server). ``test_index_live.py`` runs against a real server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simtune.index import Hit, IndexMismatchError, IndexRecord, QdrantIndex, ServerOptions, point_id

_TOPICS = "aws azure gcp lambda storage database laptop phone coffee shoes".split()


@pytest.fixture(scope="module")
def model(tiny_bert_dir):
    from simtune.encoders import TransformerEncoder
    from simtune.model import SimilarityModel

    return SimilarityModel(TransformerEncoder(str(tiny_bert_dir)))


@pytest.fixture(scope="module")
def records() -> list[IndexRecord]:
    """40 short distinct texts with a keyword ``topic`` and an integer ``rank`` payload."""
    rng = np.random.default_rng(7)
    from conftest import _WORDS

    out = []
    for i in range(40):
        topic = _TOPICS[i % len(_TOPICS)]
        text = f"{topic} " + " ".join(rng.choice(_WORDS, 5))
        out.append(IndexRecord(f"doc-{i}", text, {"topic": topic, "rank": i % 4}))
    return out


def _server_index(double) -> QdrantIndex:
    return QdrantIndex.server(
        "http://127.0.0.1:6333",
        grpc_port=double.port,
        check_compatibility=False,  # the double speaks gRPC only; the check would use REST
        options=ServerOptions(shard_number=2, replication_factor=2, write_consistency_factor=2),
    )


@pytest.fixture(params=["embedded", "grpc"])
def index(request, tmp_path):
    """The same interface on the embedded engine and over gRPC (real socket) to the test double."""
    if request.param == "embedded":
        with QdrantIndex.embedded(tmp_path / "index") as idx:
            yield idx
        return
    from qdrant_grpc_double import QdrantGrpcDouble

    with QdrantGrpcDouble() as double, _server_index(double) as idx:
        yield idx


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return a @ b.T


def test_push_then_search_returns_ids_and_model_cosine_scores(index, model, records):
    report = index.push(model, records, "faq", batch_size=16, show_progress=False)
    assert (report.points, report.count, report.target) == (40, 40, "faq_v1")
    texts = [r.text for r in records]
    hits = index.search(model, texts, "faq", k=5)
    assert [h[0].id for h in hits] == [r.id for r in records]  # each text finds itself first
    emb = model.encode(texts)  # (40, d)
    sims = _cosine(emb, emb)  # (40, 40)
    by_id = {r.id: i for i, r in enumerate(records)}
    for q, row in enumerate(hits):
        assert len(row) == 5
        expected = np.sort(sims[q])[::-1][:5]
        np.testing.assert_allclose([h.score for h in row], expected, atol=1e-4)
        for h in row:
            assert abs(h.score - sims[q, by_id[h.id]]) < 1e-4
    first = hits[0][0]
    assert first.payload == {"topic": records[0].payload["topic"], "rank": 0, "text": texts[0]}


def test_single_query_filters_and_threshold(index, model, records):
    index.push(model, records, "faq", payload_indexes={"topic": "keyword", "rank": "integer"}, show_progress=False)
    query = records[3].text
    single = index.search(model, query, "faq", k=3)
    assert isinstance(single[0], Hit) and single[0].id == "doc-3"
    hits = index.search(model, query, "faq", k=40, filter={"topic": "azure"})
    assert {h.id for h in hits} == {r.id for r in records if r.payload["topic"] == "azure"}
    hits = index.search(model, query, "faq", k=40, filter={"rank": [1, 2], "topic": ["aws", "gcp"]})
    expected = {r.id for r in records if r.payload["rank"] in (1, 2) and r.payload["topic"] in ("aws", "gcp")}
    assert {h.id for h in hits} == expected and expected
    all_hits = index.search(model, query, "faq", k=40)
    cut = (all_hits[10].score + all_hits[11].score) / 2  # not on a hit: no float ties at the edge
    above = index.search(model, query, "faq", k=40, score_threshold=cut)
    assert [h.id for h in above] == [h.id for h in all_hits[:11]]
    with pytest.raises(ValueError, match="filter key 'rank'"):
        index.search(model, query, "faq", filter={"rank": 1.5})


def test_pushing_twice_keeps_count_and_updates_payload(index, model, records):
    index.push(model, records, "faq", show_progress=False)
    changed = [IndexRecord(r.id, r.text, {**r.payload, "rank": 99}) for r in records[:10]]
    report = index.push(model, changed, "faq", show_progress=False)
    assert (report.reindexed, report.count, index.count("faq")) == (False, 40, 40)
    hit = index.search(model, records[0].text, "faq", k=1)[0]
    assert (hit.id, hit.payload["rank"]) == ("doc-0", 99)
    assert point_id("doc-0") == point_id("doc-0") != point_id(0)


def test_model_of_another_size_or_servable_is_refused(index, model, records, tmp_path_factory):
    from conftest import build_tiny_bert

    from simtune.encoders import TransformerEncoder
    from simtune.model import SimilarityModel

    index.push(model, records, "faq", show_progress=False)
    wider = SimilarityModel(TransformerEncoder(str(build_tiny_bert(tmp_path_factory.mktemp("b48"), hidden=48))))
    with pytest.raises(IndexMismatchError, match="holds 32-d embeddings but the model produces 48-d"):
        index.push(wider, records, "faq", show_progress=False)
    with pytest.raises(IndexMismatchError, match="32-d"):
        index.search(wider, "aws", "faq")
    other = SimilarityModel(TransformerEncoder(str(build_tiny_bert(tmp_path_factory.mktemp("s1"), seed=1))))
    with pytest.raises(IndexMismatchError, match="built by servable"):
        index.push(other, records, "faq", show_progress=False)
    assert index.count("faq") == 40
    report = index.push(wider, records[:5], "faq", reindex=True, show_progress=False)  # the way out
    assert (report.target, index.count("faq")) == ("faq_v2", 5)


def test_reindex_switches_alias_and_drops_old_version(index, model, records):
    assert not index.exists("faq")
    index.push(model, records[:20], "faq", show_progress=False)
    assert index.exists("faq") and index.exists("faq_v1") and not index.exists("faq_v2")
    assert index.target("faq") == "faq_v1"
    report = index.push(model, records[20:], "faq", reindex=True, show_progress=False)
    assert (report.target, index.target("faq"), index.count("faq")) == ("faq_v2", "faq_v2", 20)
    assert index.search(model, records[0].text, "faq", k=1)[0].id != "doc-0"  # old points gone
    assert not index.exists("faq_v1")
    index.push(model, records, "faq", reindex=True, keep_old=True, show_progress=False)
    assert index.target("faq") == "faq_v3" and index.exists("faq_v2")  # kept for rollback


def test_failed_push_leaves_alias_on_old_version(index, model, records):
    index.push(model, records[:10], "faq", show_progress=False)
    bad = [*records[10:20], ("doc-10", "a repeated id", {})]
    with pytest.raises(ValueError, match=r"record 10: id 'doc-10' repeats record 0"):
        index.push(model, bad, "faq", reindex=True, batch_size=4, show_progress=False)
    assert (index.target("faq"), index.count("faq")) == ("faq_v1", 10)
    with pytest.raises(ValueError, match=r"record 1: expected IndexRecord"):
        index.push(model, [("x", "ok"), 42], "faq", show_progress=False)
    report = index.push(model, records, "faq", reindex=True, show_progress=False)  # replaces the leftover
    assert (report.target, report.count) == ("faq_v2", 40)


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")  # the double has no TLS
def test_cluster_options_and_api_key_reach_the_server(model, records, monkeypatch):
    from qdrant_grpc_double import QdrantGrpcDouble

    monkeypatch.setenv("QDRANT_API_KEY", "test-key")
    with QdrantGrpcDouble() as double, _server_index(double) as index:
        index.push(model, records[:3], "faq", show_progress=False)
    assert double.state.api_keys == {"test-key"}
    sent = double.created["faq_v1"]
    assert sent.optimizers_config.indexing_threshold == 0  # bulk load without HNSW...
    assert [u.optimizers_config.indexing_threshold for u in double.state.updated["faq_v1"]] == [10_000]  # ...then on
    assert (sent.shard_number, sent.replication_factor, sent.write_consistency_factor) == (2, 2, 2)
    assert sent.vectors_config.params.size == 32
    assert sent.metadata["fingerprint"].string_value == model.fingerprint()


_REOPEN = """
import json, sys
from simtune.encoders import TransformerEncoder
from simtune.model import SimilarityModel
from simtune.index import QdrantIndex
model = SimilarityModel(TransformerEncoder(sys.argv[2]))
with QdrantIndex.embedded(sys.argv[1]) as index:
    hits = index.search(model, json.loads(sys.argv[3]), "faq", k=3)
    print(json.dumps({"count": index.count("faq"), "hits": [[[h.id, h.score] for h in row] for row in hits]}))
"""


def test_embedded_index_survives_reopen_in_a_new_process(tmp_path, model, records, tiny_bert_dir):
    path, queries = tmp_path / "index", [r.text for r in records[:4]]
    with QdrantIndex.embedded(path) as index:
        index.push(model, records, "faq", show_progress=False)
        before = index.search(model, queries, "faq", k=3)
    out = subprocess.run(
        [sys.executable, "-c", _REOPEN, str(path), str(tiny_bert_dir), json.dumps(queries)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.returncode == 0, out.stderr[-2000:]
    after = json.loads(out.stdout.strip().splitlines()[-1])
    assert after["count"] == 40
    assert [[h[0] for h in row] for row in after["hits"]] == [[h.id for h in row] for row in before]
    np.testing.assert_allclose(
        [[h[1] for h in row] for row in after["hits"]], [[h.score for h in row] for row in before], atol=1e-6
    )


def test_import_does_not_load_qdrant():
    code = "import sys, simtune.index; print('qdrant_client' in sys.modules or 'qdrant_edge' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_push_streams_a_generator_in_batches(index, model, records):
    sizes = []

    class Counting:
        embedding_size = model.embedding_size
        fingerprint = model.fingerprint

        def encode(self, texts, batch_size=32, to_numpy=True):
            sizes.append(len(texts))
            return model.encode(texts, batch_size=batch_size, to_numpy=to_numpy)

    stream = ((r.id, r.text, r.payload) for r in records)  # no len(): never materialised
    report = index.push(Counting(), stream, "faq", batch_size=16, show_progress=False)
    assert (sizes, report.count) == ([16, 16, 8], 40)
    assert index.search(model, records[5].text, "faq", k=1)[0].id == "doc-5"


def test_searches_during_a_reindex_see_old_or_new_never_partial(index, model, records):
    import threading
    import time

    index.push(model, records, "faq", show_progress=False)
    v2 = [IndexRecord(r.id, r.text, {**r.payload, "version": 2}) for r in records[:30]]

    class Slow:  # encodes slowly, so readers get many looks at the index mid-reindex
        embedding_size = model.embedding_size
        fingerprint = model.fingerprint

        def encode(self, texts, batch_size=32, to_numpy=True):
            time.sleep(0.05)
            return model.encode(texts, batch_size=batch_size, to_numpy=to_numpy)

    worker = threading.Thread(
        target=index.push, args=(Slow(), v2, "faq"), kwargs={"reindex": True, "batch_size": 5, "show_progress": False}
    )
    worker.start()
    seen = set()
    while worker.is_alive():
        hit = index.search(model, records[0].text, "faq", k=1)[0]
        seen.add((index.count("faq"), hit.payload.get("version", 1)))
    worker.join()
    seen.add((index.count("faq"), index.search(model, records[0].text, "faq", k=1)[0].payload.get("version", 1)))
    assert {count for count, _ in seen} == {40, 30}  # the whole old index, then the whole new one
    assert {version for _, version in seen} == {1, 2} and (30, 2) in seen
    assert index.target("faq") == "faq_v2"
