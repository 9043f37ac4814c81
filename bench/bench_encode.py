"""Encoding throughput: ``SimilarityModel.encode`` vs ``SentenceTransformer.encode``.

Same model folder, texts (the cloud-FAQ answers), batch size, max length (the folder's, 256 for
MiniLM) and device. Both sort texts by length and pad each batch to its longest text.

Precisions:
* fp32: plain float32 for both; the embeddings are compared (max abs difference).
* bf16: ``encode(precision="bf16")`` (bfloat16 autocast) for simtune; for sentence-transformers the
  same ``torch.autocast(device, torch.bfloat16)`` around ``encode`` - the fair equivalent, as ST's
  ``encode`` has no precision switch for the forward pass. (Casting ST's weights to bfloat16 with
  ``model.to(torch.bfloat16)`` is reported as a third column, ``st_bf16_weights``.)

Both models live in one process and every measurement alternates simtune / ST, repeated
``--repeats`` times, median kept: the noise of a shared machine falls on both alike.

    python -m bench.bench_encode [--quick] [--batch-sizes 32,128] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time
from contextlib import nullcontext
from functools import partial
from typing import Any

from bench.common import faq_answers, machine, median, minilm_path, write_json


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def _timed(fn: Any, device: str) -> tuple[float, float, Any]:
    """(wall seconds, process CPU seconds, result): CPU time is less sensitive to other jobs."""
    _sync(device)
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    _sync(device)
    return time.perf_counter() - start, time.process_time() - cpu, out


def run(opts: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from simtune import SimilarityModel, TransformerEncoder

    texts = faq_answers()
    if opts.limit:
        texts = texts[: opts.limit]
    ours = SimilarityModel(TransformerEncoder(opts.model)).to(opts.device).eval()
    theirs = SentenceTransformer(opts.model, device=opts.device).eval()
    if opts.max_length:
        ours.encoders["default"].max_length = opts.max_length
        theirs.max_seq_length = opts.max_length

    def simtune_encode(bs: int, precision: str) -> Any:
        return ours.encode(texts, batch_size=bs, precision=precision)

    def st_encode(bs: int, precision: str) -> Any:
        ctx = torch.autocast(opts.device, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()
        with ctx:
            return theirs.encode(texts, batch_size=bs, convert_to_numpy=True)

    # Warm-up (allocator, kernels, tokenizer caches) on a slice, both sides.
    warm = texts[: min(256, len(texts))]
    ours.encode(warm, batch_size=32)
    theirs.encode(warm, batch_size=32)

    results: dict[str, Any] = {}
    for bs in opts.batch_sizes:
        for precision in opts.precisions:
            times: dict[str, list[float]] = {"simtune": [], "st": []}
            cpu_times: dict[str, list[float]] = {"simtune": [], "st": []}
            for repeat in range(opts.repeats):
                order = [("simtune", simtune_encode), ("st", st_encode)]
                for name, fn in order if repeat % 2 == 0 else order[::-1]:
                    seconds, cpu_seconds, emb = _timed(partial(fn, bs, precision), opts.device)
                    times[name].append(seconds)
                    cpu_times[name].append(cpu_seconds)
                    if precision == "fp32" and repeat == 0:
                        results.setdefault("embeddings", {})[name] = emb
            row = {
                name: {
                    "texts_per_s": len(texts) / median(ts),
                    "texts_per_cpu_s": len(texts) / median(cpu_times[name]),
                    "seconds": ts,
                    "cpu_seconds": cpu_times[name],
                }
                for name, ts in times.items()
            }
            row["ratio"] = row["simtune"]["texts_per_s"] / row["st"]["texts_per_s"]
            row["cpu_ratio"] = row["simtune"]["texts_per_cpu_s"] / row["st"]["texts_per_cpu_s"]
            results[f"bs{bs}_{precision}"] = row
            print(f"bs={bs} {precision}: simtune {row['simtune']['texts_per_s']:.1f}/s  "
                  f"st {row['st']['texts_per_s']:.1f}/s  ratio {row['ratio']:.2f}  "
                  f"CPU-time ratio {row['cpu_ratio']:.2f}",
                  flush=True)  # fmt: skip
    emb = results.pop("embeddings", {})
    if "simtune" in emb and "st" in emb:
        results["fp32_max_abs_diff"] = float(np.abs(emb["simtune"] - emb["st"]).max())
    if opts.st_bf16_weights and "bf16" in opts.precisions:
        theirs.to(torch.bfloat16)
        bs = opts.batch_sizes[-1]
        seconds, _, _ = _timed(lambda: theirs.encode(texts, batch_size=bs, convert_to_numpy=True), opts.device)
        results[f"st_bf16_weights_bs{bs}"] = {"texts_per_s": len(texts) / seconds, "seconds": [seconds]}
    return {"n_texts": len(texts), **results}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the first 400 answers, two repeats (alternating order)")
    parser.add_argument("--batch-sizes", default="32,128")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="encode only the first N answers (0: all 8,498)")
    parser.add_argument("--max-length", type=int, default=0, help="token cap (0: the folder's)")
    parser.add_argument("--model", default=None, help="model folder (default: the bundled MiniLM)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--st-bf16-weights", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--name", default="encode", help="output name: bench/out/<name>.json")
    opts = parser.parse_args(argv)
    opts.batch_sizes = [int(b) for b in opts.batch_sizes.split(",")]
    opts.precisions = opts.precisions.split(",")
    if opts.quick:
        opts.limit = opts.limit or 400
        opts.repeats = 2
    opts.model = opts.model or minilm_path()
    import torch

    torch.manual_seed(0)
    payload = {"machine": machine(), "settings": vars(opts), "results": run(opts)}
    write_json(opts.name, payload)
    return payload


if __name__ == "__main__":
    main()
