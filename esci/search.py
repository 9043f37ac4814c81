"""``python -m esci.search "deep learning books" -k 10 --threshold 0.7``: ranked product titles.

Prints one line per hit: rank, cosine score and title, best first.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from esci.serving import (
    DEFAULT_SERVABLE,
    PrecisionEncoder,
    add_index_arguments,
    load_servable,
    open_index,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Search the indexed product catalogue.")
    parser.add_argument("query", nargs="+", help="query text (one or more queries)")
    parser.add_argument("-k", type=int, default=10, help="hits per query (default: 10)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="drop hits whose cosine score is below this")
    parser.add_argument("--servable", default=DEFAULT_SERVABLE,
                        help="the servable the catalogue was indexed with "
                             f"(default: {DEFAULT_SERVABLE})")
    add_index_arguments(parser)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="query embedding precision")
    return parser


def search(queries: Sequence[str], k: int = 10, threshold: float | None = None,
           servable: str = DEFAULT_SERVABLE, qdrant_path: str | None = None,
           qdrant_url: str | None = None, collection: str = "esci_products",
           precision: str = "fp32") -> list[list[Any]]:
    """Hits (``simtune.index.Hit``) per query, best first."""
    model = PrecisionEncoder(load_servable(servable), precision)
    with open_index(qdrant_path, qdrant_url) as index:
        return index.search(model, list(queries), collection, k=k, score_threshold=threshold)


def format_hits(query: str, hits: Sequence[Any]) -> str:
    """A printable block: the query, then ``rank. score  title`` lines."""
    lines = [f"query: {query}"]
    for rank, hit in enumerate(hits, 1):
        title = hit.payload.get("product_title", hit.payload.get("text", hit.id))
        lines.append(f"{rank:3d}. {hit.score:.4f}  {title}")
    if not hits:
        lines.append("  (no hit above the threshold)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[list[Any]]:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error(f"-k must be >= 1, got {args.k}")
    if args.threshold is not None and not -1.0 <= args.threshold <= 1.0:
        parser.error(f"--threshold is a cosine score in [-1, 1], got {args.threshold}")
    results = search(args.query, args.k, args.threshold, args.servable, args.qdrant_path,
                     args.qdrant_url, args.collection, args.precision)
    for query, hits in zip(args.query, results, strict=True):
        print(format_hits(query, hits))
    return results


if __name__ == "__main__":
    main()
