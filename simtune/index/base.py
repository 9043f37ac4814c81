"""Backend-neutral pieces of the index: records, hits, point ids, filters and the backend contract.

Nothing here imports ``qdrant_client`` or ``qdrant_edge``; each backend translates these plain
Python values into its own request types.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Namespace of the UUIDv5 point ids. Changing it would orphan every point already pushed.
ID_NAMESPACE = uuid.UUID("5b0b7f4e-2f8c-5d7a-9a57-3f1d6c1e9a10")
#: Payload key holding the caller's external id (keyword-indexed, so hits can report it).
ID_KEY = "_simtune_id"
#: Payload key holding the pushed text, so a hit can show what matched.
TEXT_KEY = "text"
#: Keys of the collection metadata written at creation and checked on every push and search.
META_SIZE, META_FINGERPRINT, META_DISTANCE = "embedding_size", "fingerprint", "distance"

FilterValue = str | int | bool | list | tuple
#: The filter form: payload key -> value (exact match) or list of values (match any); keys are ANDed.
PayloadFilter = dict[str, FilterValue]


class IndexMismatchError(ValueError):
    """Raised when a model does not fit a collection (another embedding size or servable)."""


def point_id(external_id: str | int) -> str:
    """Return the point id of an external id: UUIDv5, so pushing the same id again updates it.

    Ids are compared by their string form: ``1`` and ``"1"`` name the same point.

    >>> point_id("faq-1") == point_id("faq-1") != point_id("faq-2")
    True
    """
    return str(uuid.uuid5(ID_NAMESPACE, str(external_id)))


@dataclass(frozen=True)
class IndexRecord:
    """One object to index.

    Attributes:
        id: The caller's external id (str or int); the point id is ``point_id(id)``.
        text: What the model encodes.
        payload: JSON-serialisable fields stored with the point (filterable).
    """

    id: str | int
    text: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """One search result.

    Attributes:
        id: The external id given at push time.
        score: Cosine similarity between query and point embeddings.
        payload: The stored payload (including ``text`` unless pushed with ``store_text=False``).
    """

    id: str | int
    score: float
    payload: dict[str, Any]


def as_record(item: Any, row: int) -> IndexRecord:
    """Coerce an ``IndexRecord``, ``(id, text[, payload])`` tuple or ``{"id", "text"[, "payload"]}`` dict.

    Raises:
        ValueError: naming the row and what was expected.
    """
    if isinstance(item, IndexRecord):
        rec = item
    elif isinstance(item, dict) and "id" in item and "text" in item:
        rec = IndexRecord(item["id"], item["text"], item.get("payload") or {})
    elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
        rec = IndexRecord(item[0], item[1], item[2] if len(item) == 3 else {})
    else:
        raise ValueError(
            f"record {row}: expected IndexRecord, (id, text[, payload]) or a dict with 'id' and "
            f"'text', got {type(item).__name__}"
        )
    if not isinstance(rec.id, (str, int)) or isinstance(rec.id, bool):
        raise ValueError(f"record {row}: id must be str or int, got {type(rec.id).__name__}")
    if not isinstance(rec.text, str):
        raise ValueError(f"record {row} (id={rec.id!r}): text must be str, got {type(rec.text).__name__}")
    if not isinstance(rec.payload, dict):
        raise ValueError(f"record {row} (id={rec.id!r}): payload must be a dict")
    if ID_KEY in rec.payload:
        raise ValueError(f"record {row} (id={rec.id!r}): payload key {ID_KEY!r} is reserved")
    return rec


def check_filter(flt: PayloadFilter | None) -> PayloadFilter | None:
    """Validate the simple filter form and return it (``None`` and ``{}`` mean no filter)."""
    if not flt:
        return None
    if not isinstance(flt, dict):
        raise ValueError(f"filter must be a dict of payload key -> value, got {type(flt).__name__}")
    for key, value in flt.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if not isinstance(key, str) or not values:
            raise ValueError(f"filter key {key!r}: expected a str key and a value or non-empty list")
        if not all(isinstance(v, (str, int, bool)) for v in values):
            raise ValueError(f"filter key {key!r}: values must be str, int or bool, got {value!r}")
        if isinstance(value, (list, tuple)) and any(isinstance(v, bool) for v in values):
            raise ValueError(f"filter key {key!r}: a list of bools is not supported, use one bool")
    return flt


def to_hit(payload: dict[str, Any] | None, score: float) -> Hit:
    """Build a ``Hit`` from a stored payload, moving the external id out of it."""
    payload = dict(payload or {})
    ext = payload.pop(ID_KEY, None)
    return Hit(id=ext, score=float(score), payload=payload)


class Backend(ABC):
    """What ``QdrantIndex`` needs from a storage engine. Names given to data calls may be aliases.

    Vectors are float32 arrays of shape ``(n, dim)``; ids are UUID strings from ``point_id``.
    """

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether ``name`` is a collection or an alias."""

    @abstractmethod
    def create(self, name: str, dim: int, metadata: dict[str, Any], payload_indexes: dict[str, str]) -> None:
        """Create an empty cosine collection of ``dim``-d vectors recording ``metadata``."""

    @abstractmethod
    def metadata(self, name: str) -> dict[str, Any]:
        """The metadata recorded at creation (resolving aliases)."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Delete a collection (not an alias)."""

    @abstractmethod
    def resolve_alias(self, alias: str) -> str | None:
        """The collection an alias points to, or ``None`` when ``alias`` is no alias."""

    @abstractmethod
    def switch_alias(self, alias: str, collection: str) -> None:
        """Point ``alias`` at ``collection`` atomically (readers see the old or the new one)."""

    @abstractmethod
    def upsert(self, name: str, ids: list[str], vectors: np.ndarray, payloads: list[dict]) -> None:
        """Insert or replace points; returns once they are applied (``wait=True``)."""

    @abstractmethod
    def finish(self, name: str) -> None:
        """Make a freshly loaded collection fast to search (the embedded engine builds HNSW here)."""

    @abstractmethod
    def count(self, name: str) -> int:
        """Exact number of points."""

    @abstractmethod
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
        """Top-``k`` hits for each row of ``vectors`` ``(n_queries, dim)``, best first."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files, locks and channels."""
