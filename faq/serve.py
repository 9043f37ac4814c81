"""Answer cloud-FAQ questions with a trained servable and Qdrant.

    python -m faq.serve "can i run a cluster or job for a long time?"
    echo "what is omsa?" | python -m faq.serve --servable servable/faq_lora

The answers of the data file (all of them, or one split's) are pushed into a Qdrant collection,
embedded under ``--index`` by default or on a server with ``--url``; the push is skipped when the
collection already holds this servable's embeddings. Each question prints its best answers.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from faq.cli import field, parse_config

SPLITS = ("all", "train", "val")


@dataclass
class ServeConfig:
    """Answer questions from the cloud-FAQ answers indexed in Qdrant."""

    questions: list[str] = field([], "questions to answer; none: read one question per stdin line", positional=True)
    servable: str = field("servable/faq", "servable folder saved by faq.train")
    data: str | None = field(
        None, "JSON-lines file whose answers are indexed; default data/cloud_faq_dataset.jsonl (fetched if missing)"
    )
    split: str = field("all", "which answers to index: all, or the tutorial split's train or val part", choices=SPLITS)
    index: str = field("index/faq", "folder of the embedded Qdrant index")
    url: str | None = field(None, "Qdrant server URL (gRPC, port --grpc-port) instead of the embedded index")
    grpc_port: int = field(6334, "Qdrant server gRPC port")
    collection: str = field("faq", "collection (alias) name")
    reindex: bool = field(False, "rebuild the collection even if it holds this servable's embeddings")
    k: int = field(1, "answers per question")
    precision: str = field("32", "encoding precision: '32' or 'bf16'", choices=("32", "bf16"))

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")
        if self.precision not in ("32", "bf16"):
            raise ValueError(f"precision must be '32' or 'bf16', got {self.precision!r}")


class EncodeAt:
    """A model whose ``encode`` runs in a given precision (what ``QdrantIndex`` calls)."""

    def __init__(self, model: Any, precision: str) -> None:
        self.model, self.precision = model, "bf16" if precision == "bf16" else "fp32"
        self.embedding_size = model.embedding_size

    def encode(self, texts: list[str], batch_size: int = 32, to_numpy: bool = True) -> Any:
        return self.model.encode(texts, batch_size=batch_size, to_numpy=to_numpy, precision=self.precision)

    def fingerprint(self) -> str:
        return self.model.fingerprint()


def answer_records(rows: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """One ``(id, answer, payload)`` record per distinct answer, in first-seen order; the payload
    keeps the first question it answers and its source."""
    records: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for row in rows:
        if row["answer"] not in records:
            payload = {"question": row["question"], "source": row.get("source")}
            records[row["answer"]] = (f"answer-{len(records)}", row["answer"], payload)
    return list(records.values())


def open_index(config: ServeConfig) -> Any:
    from simtune.index import QdrantIndex

    if config.url:
        return QdrantIndex.server(config.url, grpc_port=config.grpc_port)
    return QdrantIndex.embedded(config.index)


def ensure_pushed(index: Any, model: Any, rows: list[dict[str, Any]], collection: str, reindex: bool = False,
                  show_progress: bool = True) -> bool:  # fmt: skip
    """Push the answers of ``rows`` unless ``collection`` already holds them for this model.
    Returns whether it pushed."""
    from simtune.index import IndexMismatchError

    records = answer_records(rows)
    if not reindex and index.exists(collection):
        try:
            index.search(model, records[0][1], collection, k=1)  # raises if built by another model
            if index.count(collection) == len(records):
                return False
        except IndexMismatchError:
            pass
    index.push(model, records, collection, reindex=True, show_progress=show_progress)
    return True


def answer(index: Any, model: Any, questions: list[str], collection: str, k: int = 1) -> list[list[Any]]:
    """The ``k`` best ``Hit``s (payload "text" is the answer) for each question."""
    return index.search(model, list(questions), collection, k=k)


def main(argv: list[str] | None = None) -> list[list[Any]]:
    import os

    from faq.data import ensure_data, read_faq, split
    from simtune.model import SimilarityModel

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    config = parse_config(ServeConfig, argv)
    model = EncodeAt(SimilarityModel.load(config.servable), config.precision)
    rows = read_faq(ensure_data(config.data))
    if config.split != "all":
        train, val = split(rows)
        rows = train if config.split == "train" else val
    questions = config.questions or [line.strip() for line in sys.stdin if line.strip()]
    with open_index(config) as index:
        if ensure_pushed(index, model, rows, config.collection, config.reindex):
            print(f"indexed {index.count(config.collection)} answers into {config.collection!r}", file=sys.stderr)
        results = answer(index, model, questions, config.collection, config.k)
    for question, hits in zip(questions, results, strict=True):
        print(f"Q: {question}")
        for hit in hits:
            print(f"A: {hit.payload['text']}  [{hit.score:.3f}]")
        print()
    return results


if __name__ == "__main__":
    main()
