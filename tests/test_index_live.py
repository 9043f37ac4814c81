"""simtune.index against a real Qdrant server: runs only when ``QDRANT_URL`` is set.

    QDRANT_URL=http://localhost:6333 [QDRANT_GRPC_PORT=6334] [QDRANT_API_KEY=...] pytest tests/test_index_live.py

Collections are named ``simtune_test_<random>`` and deleted afterwards.
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest

from simtune.index import IndexMismatchError, IndexRecord, QdrantIndex

pytestmark = pytest.mark.skipif(
    not os.environ.get("QDRANT_URL"),
    reason="QDRANT_URL is not set: no real Qdrant server to test against (the gRPC path is covered "
    "by tests/test_index.py through tests/qdrant_grpc_double.py)",
)


@pytest.fixture
def live_index():
    index = QdrantIndex.server(os.environ["QDRANT_URL"], grpc_port=int(os.environ.get("QDRANT_GRPC_PORT", "6334")))
    name = f"simtune_test_{uuid.uuid4().hex[:8]}"
    yield index, name
    for collection in (index.target(name), f"{name}_v1", f"{name}_v2"):
        if index.backend.client.collection_exists(collection):
            index.backend.delete(collection)
    index.close()


def test_live_push_search_reindex(live_index, tiny_bert_dir, tmp_path):
    from conftest import build_tiny_bert

    from simtune.encoders import TransformerEncoder
    from simtune.model import SimilarityModel

    index, name = live_index
    model = SimilarityModel(TransformerEncoder(str(tiny_bert_dir)))
    texts = [f"{w} cloud storage price question {i}" for i, w in enumerate("aws azure gcp lambda bag".split())]
    records = [IndexRecord(f"d{i}", t, {"n": i}) for i, t in enumerate(texts)]
    report = index.push(model, records, name, payload_indexes={"n": "integer"}, show_progress=False)
    assert (report.count, index.target(name)) == (5, f"{name}_v1")
    emb = model.encode(texts)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    hits = index.search(model, texts, name, k=5, exact=True)
    for q, row in enumerate(hits):
        assert row[0].id == f"d{q}"
        for h in row:
            assert abs(h.score - float(emb[q] @ emb[int(h.id[1:])])) < 1e-4
    assert index.push(model, records, name, show_progress=False).count == 5
    index.push(model, records[:2], name, reindex=True, show_progress=False)
    assert (index.target(name), index.count(name)) == (f"{name}_v2", 2)
    other = SimilarityModel(TransformerEncoder(str(build_tiny_bert(tmp_path / "s1", seed=1))))
    with pytest.raises(IndexMismatchError, match="built by servable"):  # same size, other weights
        index.push(other, records, name, show_progress=False)
