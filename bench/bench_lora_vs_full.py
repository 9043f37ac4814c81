"""LoRA vs full fine-tuning with simtune: step time, peak memory, largest batch under a memory cap.

Same model (the bundled MiniLM), data (cloud-FAQ train pairs), max length, loss (in-batch
negatives) and optimizer (AdamW); LoRA is r=8, alpha=16, dropout 0.1 on query/key/value, full
fine-tuning trains every weight. Each (mode, batch) is a subprocess training ``--steps`` steps
with Lightning; peak memory is that process's peak RSS (``ru_maxrss``) - model, optimizer state,
activations and allocator slack together, as a user's process would see it.

The largest batch under the cap is searched by doubling from ``--min-batch``: the first batch
whose peak RSS exceeds ``--cap-gb`` stops the search (the previous one is reported).

The PEFT guide's claim (LoRA fits about twice the batch and trains ~1.35x faster per epoch) was
made on GPUs, where optimizer state and weight gradients are a large share of memory and
matrix units are not the bottleneck. On a CPU with a small model, activations dominate memory and
the backward pass through the frozen base is still needed, so the gap is expected to be smaller.

    python -m bench.bench_lora_vs_full [--quick] [--cap-gb 4] [--batch 64]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.common import faq_split, machine, median, minilm_path, peak_rss_mb, run_worker, write_json

MODES = ("lora", "full", "lora_nodrop")  # lora_nodrop: LoRA with lora_dropout=0


def worker(opts: argparse.Namespace) -> dict[str, Any]:
    import pytorch_lightning as pl

    from bench.models import FaqRankingModel
    from simtune.data import PairsSimilarityDataLoader
    from simtune.samples import SimilarityPairSample

    stamps: list[float] = []

    class StepTimer(pl.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):  # noqa: ANN001
            stamps.append(time.perf_counter())

    pl.seed_everything(0, verbose=False)
    train, _ = faq_split()
    model = FaqRankingModel(opts.model, lora=opts.mode != "full", max_length=opts.max_length, lr=2e-4,
                            lora_dropout=0.0 if opts.mode == "lora_nodrop" else 0.1)  # fmt: skip
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    samples = [SimilarityPairSample(q, a) for q, a in train]
    loader = PairsSimilarityDataLoader(samples, collator=model.collator(), batch_size=opts.batch, shuffle=True)
    rss_loaded = peak_rss_mb()
    trainer = pl.Trainer(max_steps=opts.steps, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[StepTimer()])  # fmt: skip
    start = time.perf_counter()
    trainer.fit(model, loader)
    stamps.insert(0, start)
    steps = [b - a for a, b in zip(stamps[:-1], stamps[1:], strict=True)]
    steady = steps[1:] or steps  # the first step allocates the optimizer state
    return {
        "mode": opts.mode, "batch": opts.batch, "trainable_params": trainable,
        "step_s": median(steady), "pairs_per_s": opts.batch / median(steady),
        "peak_rss_mb": peak_rss_mb(), "rss_after_load_mb": rss_loaded,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 steps per run, batches up to 128")
    parser.add_argument("--batch", type=int, default=64, help="batch of the step-time comparison")
    parser.add_argument("--steps", type=int, default=4, help="steps per run (the first is left out of the time)")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--cap-gb", type=float, default=4.0, help="peak-RSS cap of the largest-batch search")
    parser.add_argument("--min-batch", type=int, default=16)
    parser.add_argument("--max-batch", type=int, default=256)
    parser.add_argument("--model", default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--modes", default="lora,full", help=f"modes compared, of {MODES}")
    parser.add_argument("--name", default="lora_vs_full", help="output name: bench/out/<name>.json")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.steps, opts.max_batch = 2, min(opts.max_batch, 128)
    opts.model = opts.model or minilm_path()
    if opts.worker:
        result = worker(opts)
        Path(opts.result).write_text(json.dumps(result))
        return result

    def run(mode: str, batch: int) -> dict[str, Any]:
        args = ["--mode", mode, "--batch", str(batch), "--steps", str(opts.steps), "--max-length", str(opts.max_length)]
        res = run_worker("bench.bench_lora_vs_full", [*args, "--model", opts.model])
        res.update(mode=mode, batch=batch)
        print(json.dumps(res), flush=True)
        return res

    # Same-batch comparison, interleaved.
    modes = opts.modes.split(",")
    same = [run(mode, opts.batch) for mode in modes]
    runs = list(same)
    largest: dict[str, int | None] = {}
    for mode in modes:
        largest[mode] = None
        batch = opts.min_batch
        while batch <= opts.max_batch:
            res = next((r for r in runs if r["mode"] == mode and r["batch"] == batch and "error" not in r), None)
            if res is None:
                res = run(mode, batch)
                runs.append(res)
            if "error" in res or res["peak_rss_mb"] > opts.cap_gb * 1024:
                break
            largest[mode] = batch
            batch *= 2
    by_mode = {r["mode"]: r for r in same if "error" not in r}
    summary: dict[str, Any] = {"largest_batch_under_cap": largest, "cap_gb": opts.cap_gb}
    if {"lora", "full"} <= by_mode.keys():
        summary["full_over_lora_step_time"] = by_mode["full"]["step_s"] / by_mode["lora"]["step_s"]
        summary["full_over_lora_peak_rss"] = by_mode["full"]["peak_rss_mb"] / by_mode["lora"]["peak_rss_mb"]
    payload = {"machine": machine(), "settings": {k: v for k, v in vars(opts).items() if k not in ("worker", "result")},
               "same_batch": same, "runs": runs, "summary": summary}  # fmt: skip
    write_json(opts.name, payload)
    return payload


if __name__ == "__main__":
    main()
