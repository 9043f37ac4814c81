"""What esci.index, esci.search and esci.evaluate share: default paths, finding the servable,
opening the Qdrant index and reading a product catalogue."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from esci.data import DEMO_DATA, Product, load_esci, to_catalogue

DEFAULT_SERVABLE = "servable/esci"  # esci.train's default --output_dir
DEFAULT_QDRANT_PATH = "servable/esci_qdrant"
DEFAULT_COLLECTION = "esci_products"


def resolve_servable(path: str | os.PathLike) -> Path:
    """The servable folder: ``path`` itself, or ``path/servable`` for a training output folder.

    Raises:
        FileNotFoundError: Neither holds a saved ``SimilarityModel`` (simtune.json).
    """
    path = Path(path)
    for candidate in (path, path / "servable"):
        if (candidate / "simtune.json").is_file():
            return candidate
    raise FileNotFoundError(f"no servable at {path} (nor {path / 'servable'}): expected a folder "
                            "with simtune.json written by `python -m esci.train`")


def load_servable(path: str | os.PathLike) -> Any:
    """``SimilarityModel.load`` of :func:`resolve_servable` ``(path)``."""
    from simtune.model import SimilarityModel

    return SimilarityModel.load(resolve_servable(path))


def open_index(qdrant_path: str | None = None, qdrant_url: str | None = None) -> Any:
    """A ``QdrantIndex``: a server at ``qdrant_url`` if given, else embedded under ``qdrant_path``."""
    from simtune.index import QdrantIndex

    if qdrant_url:
        return QdrantIndex.server(qdrant_url)
    return QdrantIndex.embedded(qdrant_path or DEFAULT_QDRANT_PATH)


def add_index_arguments(parser: Any) -> None:
    """--qdrant-path / --qdrant-url (mutually exclusive) and --collection."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--qdrant-path", default=None,
                       help=f"embedded Qdrant folder (default: {DEFAULT_QDRANT_PATH})")
    where.add_argument("--qdrant-url", default=None,
                       help="Qdrant server URL (gRPC on port 6334), instead of the embedded engine")
    parser.add_argument("--collection", default=DEFAULT_COLLECTION,
                        help=f"collection (alias) name (default: {DEFAULT_COLLECTION})")


def load_products(source: str | os.PathLike | None = None) -> list[Product]:
    """The catalogue to index: distinct products of any ESCI source (see ``load_esci``), or of a
    products table (product_id, product_title[, product_description]) without judgments.

    Args:
        source: File or folder; None = the demo set.
    """
    path = Path(source) if source is not None else DEMO_DATA
    if path.is_file():
        from esci.tables import TABLE_SUFFIXES, read_table

        if path.suffix.lower() in TABLE_SUFFIXES:
            table = read_table(path)
            if "product_title" in table.frame.columns and "query" not in table.frame.columns:
                return _products_table(table)
    return to_catalogue(load_esci(source))


def _products_table(table: Any) -> list[Product]:
    table.require("product_id", "product_title")
    ids, titles = table.text("product_id"), table.text("product_title")
    descriptions = table.text("product_description")
    table.fail(ids == "", "product_id", "is empty; every product needs an id")
    table.fail(titles == "", "product_title", "is empty; a product is indexed by its title")
    table.fail(ids.duplicated(), "product_id", "{value!r} appears on an earlier row too")
    products = []
    for pid, title, description in zip(ids, titles, descriptions, strict=True):
        payload = {"product_id": pid, "product_title": title}
        if description:
            payload["product_description"] = description
        products.append(Product(pid, title, payload))
    return products


class PrecisionEncoder:
    """A servable whose ``encode`` runs at a chosen precision ("bf16" is ~2.5x faster on CPUs
    with AMX); the index sees the same size and fingerprint as the servable's."""

    def __init__(self, model: Any, precision: str = "fp32") -> None:
        self.model = model
        self.precision = precision
        self.embedding_size = model.embedding_size

    def encode(self, texts: list[str], batch_size: int = 32, to_numpy: bool = True, **kwargs: Any) -> Any:
        return self.model.encode(texts, batch_size=min(batch_size, 64), to_numpy=to_numpy,
                                 precision=self.precision)

    def fingerprint(self) -> str:
        return self.model.fingerprint()
