"""``python -m esci.index``: push a product catalogue, embedded by a servable, into Qdrant.

    python -m esci.index --servable servable/esci [--products FILE] [--qdrant-path DIR | --qdrant-url URL]

Re-running builds a new version of the collection and switches the alias when it is complete,
so searches never see a half-built index.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from esci.serving import (
    DEFAULT_SERVABLE,
    PrecisionEncoder,
    add_index_arguments,
    load_products,
    load_servable,
    open_index,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].strip("`: "))
    parser.add_argument("--servable", default=DEFAULT_SERVABLE,
                        help="servable folder, or esci.train's output folder "
                             f"(default: {DEFAULT_SERVABLE})")
    parser.add_argument("--products", default=None,
                        help="ESCI data (file or folder) or a products table; its distinct "
                             "products are indexed (default: the demo set)")
    add_index_arguments(parser)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="embedding precision (bf16 is faster on CPUs with AMX)")
    parser.add_argument("--batch-size", type=int, default=256, help="products per push batch")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def index_catalogue(servable: str, products: str | None = None, qdrant_path: str | None = None,
                    qdrant_url: str | None = None, collection: str = "esci_products",
                    precision: str = "fp32", batch_size: int = 256,
                    show_progress: bool = True) -> Any:
    """Embed the catalogue with the servable and push it; returns the index's ``PushReport``."""
    model = PrecisionEncoder(load_servable(servable), precision)
    catalogue = load_products(products)
    records = [(p.product_id, p.title, p.payload) for p in catalogue]
    with open_index(qdrant_path, qdrant_url) as index:
        # reindex: a retrained servable has another fingerprint; rebuild rather than refuse.
        return index.push(model, records, collection, batch_size=batch_size, reindex=True,
                          show_progress=show_progress)


def main(argv: Sequence[str] | None = None) -> Any:
    args = build_parser().parse_args(argv)
    if args.batch_size <= 0:
        build_parser().error(f"--batch-size must be positive, got {args.batch_size}")
    report = index_catalogue(args.servable, args.products, args.qdrant_path, args.qdrant_url,
                             args.collection, args.precision, args.batch_size,
                             not args.no_progress)
    where = args.qdrant_url or args.qdrant_path or "servable/esci_qdrant"
    print(f"indexed {report.points} products into {report.collection!r} "
          f"({report.target}) at {where} in {report.seconds:.1f} s")
    return report


if __name__ == "__main__":
    main()
