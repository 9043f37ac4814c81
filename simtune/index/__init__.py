"""Serve a ``SimilarityModel`` with Qdrant: embedded (``qdrant-edge-py``, default) or a server (gRPC).

>>> from simtune.index import QdrantIndex                        # doctest: +SKIP
>>> with QdrantIndex.embedded("index/") as index:                # doctest: +SKIP
...     index.push(model, [("faq-1", "how do I back up a VM?", {"source": "aws"})], "faq")
...     index.search(model, "vm backup", "faq", k=5, filter={"source": "aws"})

``qdrant_client`` and ``qdrant_edge`` are imported only when a backend is built.
"""

from simtune.index.base import Hit, IndexMismatchError, IndexRecord, PayloadFilter, point_id
from simtune.index.embedded import EdgeTuning
from simtune.index.index import EncodesText, PushReport, QdrantIndex
from simtune.index.server import ServerOptions

__all__ = [
    "EdgeTuning",
    "EncodesText",
    "Hit",
    "IndexMismatchError",
    "IndexRecord",
    "PayloadFilter",
    "PushReport",
    "QdrantIndex",
    "ServerOptions",
    "point_id",
]
