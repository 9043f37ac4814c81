"""``python -m esci.demo`` (``make demo``): train on the demo set, index the catalogue, search.

A short run (two epochs of LoRA on 274 judged pairs, bf16 on CPU), so it finishes in a few
minutes on a laptop-class CPU. Everything lands where the other commands look by default:
the servable in servable/esci, the Qdrant collection in servable/esci_qdrant, so
``python -m esci.search "your query"`` works afterwards.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

DEMO_QUERIES = ("learn to code in python", "waterproof speaker for the shower")


def main(argv: Sequence[str] | None = None) -> dict:
    """Run train -> index -> search; ``argv`` are extra esci.train options (e.g. --output_dir)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from esci import index as esci_index
    from esci import search as esci_search
    from esci import train as esci_train
    from esci.serving import DEFAULT_COLLECTION, DEFAULT_QDRANT_PATH

    start = time.perf_counter()
    options = ["--num_train_epochs", "2", "--learning_rate", "2e-4", "--mixed_precision", "bf16",
               "--per_device_train_batch_size", "32", "--checkpointing_steps", "epoch",
               *(argv or [])]
    config = esci_train.parse_config(esci_train.TrainConfig, options)
    print(f"== 1/3 train ({' '.join(options)})", flush=True)
    report = esci_train.train(config)
    qdrant_path = os.path.join(os.path.dirname(os.path.abspath(config.output_dir)),
                               os.path.basename(DEFAULT_QDRANT_PATH))
    print("== 2/3 index the demo catalogue", flush=True)
    pushed = esci_index.index_catalogue(config.output_dir, None, qdrant_path=qdrant_path,
                                        precision="bf16", show_progress=False)
    print("== 3/3 search", flush=True)
    results = esci_search.search(DEMO_QUERIES, k=5, servable=config.output_dir,
                                 qdrant_path=qdrant_path, precision="bf16")
    for query, hits in zip(DEMO_QUERIES, results, strict=True):
        print(esci_search.format_hits(query, hits))

    before, after = report["pretrained"], report["metrics"]
    print("\n== summary")
    print(f"ROC-AUC  (validation pairs):   pre-trained {before['roc_auc']:.4f} -> trained "
          f"{after['roc_auc']:.4f}")
    print(f"nDCG@10  (validation queries): pre-trained {before['ndcg@10']:.4f} -> trained "
          f"{after['ndcg@10']:.4f}")
    print(f"servable: {report['servable']}   adapter: {report['adapter']}")
    print(f"metrics:  {os.path.join(config.output_dir, 'metrics.json')}   ROC curve: "
          f"{os.path.join(config.output_dir, 'roc.png')}")
    print(f"qdrant:   {pushed.points} products in collection {DEFAULT_COLLECTION!r} at {qdrant_path}")
    print("try:      python -m esci.search \"deep learning books\" -k 10 --threshold 0.3")
    print(f"demo took {time.perf_counter() - start:.0f} s")
    return {"train": report, "index": pushed, "search": results}


if __name__ == "__main__":
    main()
