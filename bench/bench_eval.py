"""Benchmark retrieval evaluation: PairSampler over random 384-d embeddings, time and peak memory.

Main run: ``--pairs`` pairs (default 100k, i.e. 200k objects), two-way PairSampler (every object
retrieves among the 2n - 1 others), precision@1 / MRR / nDCG@10 at depth ``--k``. Embeddings are
random unit vectors; each obj_b is its obj_a plus noise, so the metrics are neither 0 nor 1.

Memory is the growth of the process's peak resident set (``resource.getrusage`` ru_maxrss) from just
after the embeddings exist to the end of the evaluation: memory used above the embeddings
themselves. (tracemalloc cannot be used: it does not see torch's allocator.) The embeddings are
written into preallocated tensors chunk by chunk so that building them leaves no higher earlier peak.

Baselines, on ``--baseline-pairs`` pairs (default 5k, i.e. 10k objects, where an N x N matrix fits):

* ``full_matrix``: the naive exact method - the whole similarity matrix, then each partner's rank
  as 1 + the number of objects scoring higher. Also checks our values equal it at full depth.
* ``torchmetrics``: torchmetrics' RetrievalPrecision(top_k=1) and RetrievalMRR over the flattened
  matrix (preds, target, indexes), on ``--tm-pairs`` pairs (default 1k: it is slow).

Prints a table and writes bench/out/eval.json. Timings are wall-clock on this machine's CPU.

    python -m bench.bench_eval [--pairs 100000] [--k 100] [--baseline-pairs 5000] [--tm-pairs 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from simtune.eval import EmbeddedPairs, PairSampler
from simtune.eval.report import write_json_atomic

OUT = Path(__file__).resolve().parent / "out"
METRICS = ["precision@1", "mrr", "ndcg@10"]
COLUMNS = ("method", "objects", "depth", "seconds", "peak_extra_mb", "metrics")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def random_pairs(
    n: int, dim: int = 384, noise: float = 5.0, seed: int = 0, chunk: int = 8192
) -> EmbeddedPairs:
    """n pairs of unit vectors; obj_b = normalise(obj_a + noise * gaussian). Built in place, chunk by chunk."""
    g = torch.Generator().manual_seed(seed)
    a, b = torch.empty(n, dim), torch.empty(n, dim)
    for s in range(0, n, chunk):
        x = F.normalize(torch.randn(min(chunk, n - s), dim, generator=g), dim=1)
        a[s : s + len(x)] = x
        b[s : s + len(x)] = F.normalize(
            x + noise / dim**0.5 * torch.randn(x.shape, generator=g), dim=1
        )
    return EmbeddedPairs(emb_a=a, emb_b=b, scores=torch.ones(n))


def full_matrix(pairs: EmbeddedPairs) -> dict[str, float]:
    """Naive exact evaluation over the whole (2n, 2n) similarity matrix."""
    n = len(pairs.scores)
    x = F.normalize(torch.cat([pairs.emb_a, pairs.emb_b]), dim=1)
    sim = x @ x.T  # (2n, 2n)
    sim.fill_diagonal_(float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    rank = (sim > sim.gather(1, partner[:, None])).sum(1) + 1
    return {
        "precision@1": (rank == 1).float().mean().item(),
        "mrr": (1 / rank.float()).mean().item(),
    }


def torchmetrics_flat(pairs: EmbeddedPairs) -> dict[str, float]:
    """torchmetrics retrieval metrics over the flattened matrix, self-similarities removed."""
    from torchmetrics.retrieval import RetrievalMRR, RetrievalPrecision

    n = len(pairs.scores)
    x = F.normalize(torch.cat([pairs.emb_a, pairs.emb_b]), dim=1)
    keep = ~torch.eye(2 * n, dtype=torch.bool)
    preds = (x @ x.T)[keep]
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    target = (torch.arange(2 * n)[None, :] == partner[:, None])[keep]
    indexes = torch.arange(2 * n)[:, None].expand(2 * n, 2 * n)[keep]
    return {
        "precision@1": RetrievalPrecision(top_k=1)(preds, target, indexes=indexes).item(),
        "mrr": RetrievalMRR()(preds, target, indexes=indexes).item(),
    }


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pairs", type=int, default=100_000, help="pairs in the main run (objects = 2x)"
    )
    parser.add_argument("--dim", type=int, default=384, help="embedding dimension")
    parser.add_argument("--k", type=int, default=100, help="ranked-list depth of the sampler")
    parser.add_argument(
        "--query-chunk", type=int, default=1024, help="queries per similarity block"
    )
    parser.add_argument(
        "--doc-chunk", type=int, default=16384, help="documents per similarity block"
    )
    parser.add_argument(
        "--baseline-pairs", type=int, default=5_000, help="pairs for the full-matrix comparison"
    )
    parser.add_argument(
        "--tm-pairs", type=int, default=1_000, help="pairs for the torchmetrics comparison"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rows = []

    def sampler(k: int) -> PairSampler:
        return PairSampler(k=k, query_chunk=args.query_chunk, doc_chunk=args.doc_chunk)

    # Main run first, so that no earlier step has pushed the process's peak above its start.
    pairs = random_pairs(args.pairs, args.dim, seed=args.seed)
    emb_mb = (pairs.emb_a.nbytes + pairs.emb_b.nbytes) / 2**20
    before = _peak_mb()
    result, seconds = _timed(sampler(args.k).score, pairs, METRICS)
    extra = _peak_mb() - before
    rows.append(("chunked top-k", 2 * args.pairs, args.k, seconds, extra, result))
    del pairs

    # Baselines on small N.
    small = random_pairs(args.baseline_pairs, args.dim, seed=args.seed + 1)
    ours_small, t_ours_small = _timed(sampler(args.k).score, small, METRICS)
    exact_small, t_exact_small = _timed(
        sampler(2 * args.baseline_pairs - 1).score, small, ["precision@1", "mrr"]
    )
    naive, t_naive = _timed(full_matrix, small)
    for name in ("precision@1", "mrr"):
        if abs(exact_small[name] - naive[name]) > 1e-6:
            raise SystemExit(
                f"mismatch with the full-matrix baseline on {name}: {exact_small[name]} vs {naive[name]}"
            )
    rows.append(("chunked top-k", 2 * args.baseline_pairs, args.k, t_ours_small, None, ours_small))
    rows.append(
        (
            "chunked, full depth",
            2 * args.baseline_pairs,
            2 * args.baseline_pairs - 1,
            t_exact_small,
            None,
            exact_small,
        )
    )
    rows.append(("naive full matrix", 2 * args.baseline_pairs, "all", t_naive, None, naive))
    tiny = random_pairs(args.tm_pairs, args.dim, seed=args.seed + 2)
    tm, t_tm = _timed(torchmetrics_flat, tiny)
    ours_tiny, t_ours_tiny = _timed(sampler(args.k).score, tiny, ["precision@1", "mrr"])
    rows.append(("torchmetrics flat", 2 * args.tm_pairs, "all", t_tm, None, tm))
    rows.append(("chunked top-k", 2 * args.tm_pairs, args.k, t_ours_tiny, None, ours_tiny))

    report = {
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "platform": platform.platform(), "torch": torch.__version__,
                    "load_average_1_5_15": os.getloadavg()},  # the CPU may be shared
        "config": vars(args),
        "memory_method": "ru_maxrss growth (MiB) from after the embeddings exist to after the evaluation",
        "embeddings_mb": emb_mb,
        "main": {"objects": 2 * args.pairs, "seconds": seconds, "peak_extra_mb": extra, "metrics": result},
        "baselines": {
            "objects": 2 * args.baseline_pairs,
            "chunked_topk_seconds": t_ours_small, "chunked_full_depth_seconds": t_exact_small,
            "full_matrix_seconds": t_naive, "full_matrix_over_chunked_topk": t_naive / t_ours_small,
            "torchmetrics_objects": 2 * args.tm_pairs, "torchmetrics_seconds": t_tm,
            "chunked_topk_seconds_same_n": t_ours_tiny, "torchmetrics_over_chunked_topk": t_tm / t_ours_tiny,
        },
        "rows": [dict(zip(COLUMNS, r, strict=True)) for r in rows],
    }  # fmt: skip
    write_json_atomic(OUT / "eval.json", report)

    print(f"{'method':<22}{'objects':>9}{'depth':>7}{'seconds':>10}{'extra MiB':>11}  metrics")
    for method, n, depth, sec, mb, metrics in rows:
        shown = " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
        print(
            f"{method:<22}{n:>9}{depth!s:>7}{sec:>10.2f}{'' if mb is None else f'{mb:.0f}':>11}  {shown}"
        )
    print(f"embeddings: {emb_mb:.0f} MiB")
    print(f"naive/ours at {2 * args.baseline_pairs} objects: {t_naive / t_ours_small:.2f}x")
    print(f"torchmetrics/ours at {2 * args.tm_pairs} objects: {t_tm / t_ours_tiny:.1f}x")
    print(f"wrote {OUT / 'eval.json'}")


if __name__ == "__main__":
    main()
