"""Benchmark the embedded Qdrant backend: ingest, HNSW build, query latency and recall@10.

Two workloads, both through ``simtune.index.QdrantIndex``:

* synthetic: 100k clustered 384-d unit vectors (200 centres plus a shared 32-d latent subspace and
  small isotropic noise, so the intrinsic dimension is far below 384, as with real sentence
  embeddings); queries are fresh draws from the same generator, not indexed points.
* cloud_faq: all-MiniLM-L6-v2 embeddings of the 8,498 answers in ../shared/data/cloud_faq (the real
  size: it is not padded to 100k); queries are embeddings of the FAQ questions. The indexing
  threshold is lowered so this small collection gets an HNSW graph instead of exact search.

Ingest is ``QdrantIndex.push`` with a stand-in model that returns precomputed vectors (so model
time is excluded; it is reported separately for MiniLM), minus the HNSW build
(``PushReport.finish_seconds``, reported as optimize_s). Latency is one query per call through
``search_vectors`` (k=10); recall@10 is against
``exact=True``. Prints a table and writes bench/out/qdrant.json.

    python -m bench.bench_qdrant [--n 100000] [--m 16] [--ef-construct 64] [--hnsw-ef 128]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"
FAQ = Path(__file__).resolve().parents[2] / "shared" / "data" / "cloud_faq" / "cloud_faq_dataset.jsonl"


@dataclass
class BenchConfig:
    """Benchmark settings; every field is also a command-line flag."""

    n: int = field(default=100_000, metadata={"help": "synthetic points"})
    dim: int = field(default=384, metadata={"help": "synthetic dimension"})
    queries: int = field(default=300, metadata={"help": "queries per workload"})
    m: int = field(default=16, metadata={"help": "HNSW edges per node"})
    ef_construct: int = field(default=64, metadata={"help": "HNSW build candidates"})
    hnsw_ef: int = field(default=128, metadata={"help": "HNSW query candidates"})
    segments: int = field(default=2, metadata={"help": "target segments (one graph each)"})
    wal: bool = field(default=True, metadata={"help": "write-ahead log on"})
    faq: bool = field(default=True, metadata={"help": "also run the cloud-FAQ MiniLM workload"})
    seed: int = field(default=0, metadata={"help": "random seed"})
    out: str = field(default="qdrant.json", metadata={"help": "result file name under bench/out"})


class _Precomputed:
    """A stand-in model: text ``str(i)`` encodes to row ``i`` of ``vectors`` (no model time)."""

    def __init__(self, vectors: np.ndarray, name: str):
        self.vectors, self.embedding_size, self._fp = vectors, vectors.shape[1], name

    def encode(self, texts, batch_size=32, to_numpy=True):
        return self.vectors[[int(t) for t in texts]]

    def fingerprint(self) -> str:
        return self._fp


def synthetic(n: int, dim: int, n_queries: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, dim) points, (n_queries, dim) queries, (n,) cluster labels; unit-norm float32."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(200, dim))
    basis = rng.normal(size=(32, dim)) / np.sqrt(32)  # shared latent directions

    def draw(k: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, len(centres), k)
        x = 0.25 * centres[labels] + rng.normal(size=(k, 32)) @ basis + 0.05 * rng.normal(size=(k, dim))
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels

    points, labels = draw(n)
    queries, _ = draw(n_queries)
    return points, queries, labels


def faq_embeddings(n_queries: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """MiniLM embeddings of the FAQ answers (cached in bench/out) and of sampled questions."""
    from simtune.encoders import TransformerEncoder
    from simtune.model import SimilarityModel

    rows = [json.loads(line) for line in FAQ.read_text().splitlines() if line.strip()]
    answers = [r["answer"] for r in rows]
    questions = [rows[i]["question"] for i in np.random.default_rng(seed).choice(len(rows), n_queries, replace=False)]
    model = SimilarityModel(TransformerEncoder())
    cache = OUT / f"cloud_faq_answers_{model.fingerprint()[:12]}.npy"
    info = {"answers": len(answers), "model": "all-MiniLM-L6-v2"}
    if cache.exists():
        docs = np.load(cache)
        info.update(json.loads(cache.with_suffix(".json").read_text()))  # speed measured at caching time
    else:
        start = time.perf_counter()
        docs = model.encode(answers, batch_size=64)
        encode = {
            "encode_answers_per_s": len(answers) / (time.perf_counter() - start),
            "encode_loadavg": os.getloadavg(),
        }
        np.save(cache, docs)
        cache.with_suffix(".json").write_text(json.dumps(encode))
        info.update(encode)
    start = time.perf_counter()
    for q in questions[:50]:
        model.encode([q])
    info["encode_one_query_ms"] = (time.perf_counter() - start) / 50 * 1e3
    return docs, model.encode(questions, batch_size=64), info


def run_workload(name: str, points: np.ndarray, queries: np.ndarray, cfg: BenchConfig, small: bool, payload) -> dict:
    """Push ``points`` into a fresh embedded index, build HNSW, time queries, measure recall."""
    from simtune.index import EdgeTuning, QdrantIndex

    threshold = 1_000 if small else 10_000  # KB; below it a segment is searched exactly
    tuning = EdgeTuning(
        m=cfg.m,
        ef_construct=cfg.ef_construct,
        hnsw_ef=cfg.hnsw_ef,
        segments=cfg.segments,
        indexing_threshold_kb=threshold,
        full_scan_threshold_kb=threshold,
        wal=cfg.wal,
    )
    root = Path(tempfile.mkdtemp(prefix=f"bench_qdrant_{name}_"))
    try:
        with QdrantIndex.embedded(root, tuning) as index:
            records = ((str(i), str(i), payload(i)) for i in range(len(points)))
            report = index.push(_Precomputed(points, name), records, name, batch_size=256, show_progress=False)
            ingest_s = report.seconds - report.finish_seconds
            info = index.backend.info(name)
            lat, recalls = [], []
            for q in queries:
                start = time.perf_counter()
                hits = index.search_vectors(q[None], name, k=10)[0]
                lat.append(time.perf_counter() - start)
                exact = index.search_vectors(q[None], name, k=10, exact=True)[0]
                recalls.append(len({h.id for h in hits} & {h.id for h in exact}) / 10)
            exact_lat = []
            for q in queries[:50]:
                start = time.perf_counter()
                index.search_vectors(q[None], name, k=10, exact=True)
                exact_lat.append(time.perf_counter() - start)
            sweep = {}
            for ef in (32, 64, 128, 256):
                r = [
                    len(
                        {h.id for h in index.search_vectors(q[None], name, k=10, hnsw_ef=ef)[0]}
                        & {h.id for h in index.search_vectors(q[None], name, k=10, exact=True)[0]}
                    )
                    / 10
                    for q in queries[:100]
                ]
                sweep[ef] = float(np.mean(r))
            start = time.perf_counter()
            index.search_vectors(queries, name, k=10)
            batch_qps = len(queries) / (time.perf_counter() - start)
        return {
            "points": int(report.count),
            "dim": int(points.shape[1]),
            "ingest_points_per_s": len(points) / ingest_s,
            "ingest_s": ingest_s,
            "optimize_s": report.finish_seconds,
            "segments": info.segments_count,
            "indexed_vectors": info.indexed_vectors_count,
            "p50_ms": float(np.percentile(lat, 50) * 1e3),
            "p99_ms": float(np.percentile(lat, 99) * 1e3),
            "exact_p50_ms": float(np.percentile(exact_lat, 50) * 1e3),
            "recall_at_10": float(np.mean(recalls)),
            "recall_at_10_by_hnsw_ef": sweep,
            "batch_queries_per_s": batch_qps,
            "disk_mb": _du(root) / 1e6,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for f in fields(BenchConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default, help=f.metadata["help"])
        else:
            parser.add_argument(flag, type=type(f.default), default=f.default, help=f.metadata["help"])
    cfg = BenchConfig(**vars(parser.parse_args(argv)))
    OUT.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "loadavg_start": os.getloadavg()}
    results = {"config": asdict(cfg), "machine": machine}
    points, queries, labels = synthetic(cfg.n, cfg.dim, cfg.queries, cfg.seed)
    results["synthetic"] = run_workload(
        "synthetic", points, queries, cfg, small=False, payload=lambda i: {"cluster": int(labels[i])}
    )
    if cfg.faq and FAQ.is_file():
        docs, questions, info = faq_embeddings(cfg.queries, cfg.seed)
        results["cloud_faq"] = {
            **run_workload("cloud_faq", docs, questions, cfg, small=True, payload=lambda i: {}),
            **info,
        }
    elif cfg.faq:
        results["cloud_faq"] = {"skipped": f"{FAQ} not found"}
    machine["loadavg_end"] = os.getloadavg()  # other jobs on the same cores inflate every timing
    (OUT / cfg.out).write_text(json.dumps(results, indent=1))
    _print_table(results, OUT / cfg.out)
    return results


def _print_table(results: dict, path: Path) -> None:
    cols = [
        ("points", "{:,}"),
        ("ingest_points_per_s", "{:,.0f}"),
        ("optimize_s", "{:.1f}"),
        ("p50_ms", "{:.2f}"),
        ("p99_ms", "{:.2f}"),
        ("exact_p50_ms", "{:.2f}"),
        ("recall_at_10", "{:.3f}"),
    ]
    print(f"{'workload':<10} " + " ".join(f"{c:>20}" for c, _ in cols))
    for name in ("synthetic", "cloud_faq"):
        r = results.get(name, {})
        if "points" in r:
            print(f"{name:<10} " + " ".join(f"{fmt.format(r[c]):>20}" for c, fmt in cols))
            print(f"{'':<10} recall@10 by hnsw_ef: {r['recall_at_10_by_hnsw_ef']}")
    m = results["machine"]
    print(f"{m['cpus']} CPUs, load average {m['loadavg_start'][0]:.1f} at start, {m['loadavg_end'][0]:.1f} at end")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
