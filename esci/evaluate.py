"""``python -m esci.evaluate --servable DIR --data DIR``: how well a servable serves ESCI search.

Two numbers on the validation queries of ``--data`` (the same split by query as esci.train):

* ROC-AUC: each judged pair's cosine as a classifier of relevant (E, S) against not (C, I);
* nDCG@10: each validation query searched in Qdrant over the whole catalogue of ``--data``
  (every distinct product), graded E=3, S=2, C=1, I=0 (``esci.data.to_qrels``).

``--pretrained NAME`` scores a base model as it is, for the before-training numbers.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from typing import Any

import torch

from esci.data import load_esci, split_by_query, to_catalogue, to_qrels
from esci.retrieval import ndcg_of_rankings
from esci.serving import PrecisionEncoder, load_servable, open_index


def pretrained_model(name: str, max_length: int = 70) -> Any:
    """A servable ``SimilarityModel`` of a base encoder, untrained."""
    from simtune.encoders import TransformerEncoder
    from simtune.model import SimilarityModel

    return SimilarityModel(TransformerEncoder(name, max_length=max_length)).eval()


def evaluate(model: Any, data: str | None, val_fraction: float = 0.2, split_seed: int = 0,
             qdrant_path: str | None = None, precision: str = "fp32", k: int = 10) -> dict[str, Any]:
    """ROC-AUC of the validation pairs and nDCG@k of Qdrant search over the whole catalogue.

    Args:
        model: A ``SimilarityModel`` (servable).
        data: ESCI source (see ``load_esci``); None = the demo set.
        val_fraction, split_seed: The split by query (esci.train's defaults).
        qdrant_path: Embedded Qdrant folder to build the evaluation collection in (default: a
            temporary folder, removed afterwards).
        precision: "fp32" or "bf16" embeddings.
        k: nDCG cut-off.
    """
    from simtune.eval import roc_auc

    table = load_esci(data)
    _, val = split_by_query(table, val_fraction, split_seed)
    encoder = PrecisionEncoder(model, precision)
    emb_q = torch.as_tensor(encoder.encode(list(val["query"]), to_numpy=True))  # (n, d)
    emb_p = torch.as_tensor(encoder.encode(list(val["product_title"]), to_numpy=True))  # (n, d)
    cos = torch.nn.functional.cosine_similarity(emb_q, emb_p, dim=-1)  # (n,)
    labels = torch.as_tensor(val["score"].to_numpy() >= 0.5).long()
    catalogue = to_catalogue(table)
    qrels = to_qrels(val)
    first = val.drop_duplicates("query_id")
    queries = dict(zip(first["query_id"].astype(int), first["query"], strict=True))
    with tempfile.TemporaryDirectory(prefix="esci_eval_") as tmp:
        with open_index(qdrant_path or tmp) as index:
            index.push(encoder, [(p.product_id, p.title, p.payload) for p in catalogue],
                       "esci_eval", reindex=True, show_progress=False)
            hits = index.search(encoder, [queries[q] for q in qrels], "esci_eval", k=k)
    rankings = [[hit.id for hit in row] for row in hits]
    return {"roc_auc": float(roc_auc(cos, labels)),
            f"ndcg@{k}": ndcg_of_rankings(rankings, list(qrels), qrels, k),
            "val_queries": len(qrels), "val_pairs": len(val), "catalogue": len(catalogue)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="ROC-AUC and Qdrant nDCG@10 of an ESCI servable.")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--servable", help="servable folder or esci.train output folder")
    which.add_argument("--pretrained", help="a base model name or folder, scored untrained")
    parser.add_argument("--data", default=None, help="ESCI data (default: the demo set)")
    parser.add_argument("--val-fraction", type=float, default=0.2, help="as in esci.train")
    parser.add_argument("--split-seed", type=int, default=0, help="as in esci.train")
    parser.add_argument("--max-length", type=int, default=70, help="token cap for --pretrained")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--qdrant-path", default=None, help="embedded Qdrant folder (default: temporary)")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    model = (load_servable(args.servable) if args.servable
             else pretrained_model(args.pretrained, args.max_length))
    result = evaluate(model, args.data, args.val_fraction, args.split_seed, args.qdrant_path,
                      args.precision)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
