"""Training throughput and quality: simtune (TrainableModel + LoraEncoder, Lightning) vs
sentence-transformers (SentenceTransformerTrainer + peft LoRA adapter).

Both sides get the same model, LoRA (r=8, alpha=16, dropout 0.1 on query/key/value), data (the
cloud-FAQ train split: 6,373 question-answer pairs), batch size, max length, loss (in-batch
negatives, scale 20), optimizer (AdamW, constant learning rate, weight decay 0.01, no gradient
clipping, no warm-up), random batch order, and precision (fp32, or bf16 autocast: Lightning
"bf16-mixed" vs ``bf16=True`` in the training arguments).

Each run is a subprocess (its own peak RSS); the runs are interleaved (simtune, ST, simtune,
ST, ...) so that the noise of a shared machine falls on both sides alike.

Reported per run: steady pairs/s (the step-end timestamps after ``--warmup`` steps: loading,
collating, forward, backward and optimizer, as seen by each trainer's step callback), the
wall time of ``fit``/``train`` as a whole, the peak RSS at the end of training, and after
training precision@1 and MRR on the 2,125 validation pairs (simtune's two-way PairSampler, fp32
for both models).

    python -m bench.bench_train [--quick] [--steps N] [--batch-size 64] [--max-length 64] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import faq_split, machine, median, minilm_path, peak_rss_mb, run_worker, write_json

FRAMEWORKS = ("simtune", "st")
VARIANTS = (*FRAMEWORKS, "simtune_one_block")  # simtune_one_block: bucket_size=None, padding 2n texts as one


def _steady(stamps: list[float], sizes: list[int], warmup: int) -> float:
    """Pairs per second between the end of step ``warmup`` and the end of the last step."""
    if len(stamps) <= warmup + 1:
        warmup = 0
    start = stamps[warmup - 1] if warmup > 0 else stamps[0]
    first = warmup if warmup > 0 else 1
    return sum(sizes[first:]) / (stamps[-1] - start)


def _batch_sizes(n: int, batch: int, steps: int) -> list[int]:
    sizes = [batch] * (n // batch) + ([n % batch] if n % batch else [])
    return (sizes * (steps // max(len(sizes), 1) + 1))[:steps] if steps > 0 else sizes


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


class _StSimilarity:
    """``encode(texts, batch_size, to_numpy)`` over a SentenceTransformer, for simtune's samplers."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def encode(self, texts: list[str], batch_size: int = 32, to_numpy: bool = True) -> Any:
        emb = self.model.encode(texts, batch_size=batch_size, convert_to_tensor=True).float().cpu()
        return emb.numpy() if to_numpy else emb


def _evaluate(val: list[tuple[str, str]], model: Any) -> dict[str, float]:
    from simtune.eval import Evaluator, PairSampler
    from simtune.samples import SimilarityPairSample

    samples = [SimilarityPairSample(q, a) for q, a in val]
    return Evaluator(["precision@1", "mrr"], PairSampler(batch_size=64)).evaluate(samples, model)


def train_simtune(opts: argparse.Namespace, train: list, stamps: list, cpu_stamps: list) -> tuple[Any, float]:
    import pytorch_lightning as pl

    from bench.models import FaqRankingModel
    from simtune.data import PairsSimilarityDataLoader
    from simtune.samples import SimilarityPairSample

    class StepTimer(pl.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):  # noqa: ANN001
            _sync(opts.device)
            stamps.append(time.perf_counter())
            cpu_stamps.append(time.process_time())

    pl.seed_everything(opts.seed, verbose=False)
    model = FaqRankingModel(opts.model, lora=True, max_length=opts.max_length, lr=opts.lr)
    samples = [SimilarityPairSample(q, a) for q, a in train]
    collator = model.collator(bucket_size=None) if opts.framework == "simtune_one_block" else model.collator()
    loader = PairsSimilarityDataLoader(samples, collator=collator, batch_size=opts.batch_size, shuffle=True)
    trainer = pl.Trainer(
        max_steps=opts.steps if opts.steps > 0 else -1, max_epochs=None if opts.steps > 0 else 1,
        accelerator=opts.device, devices=1,
        precision="bf16-mixed" if opts.precision == "bf16" else "32-true",
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[StepTimer()],
    )  # fmt: skip
    start = time.perf_counter()
    trainer.fit(model, loader)
    _sync(opts.device)
    return model.model.eval(), time.perf_counter() - start


def train_st(opts: argparse.Namespace, train: list, stamps: list, cpu_stamps: list) -> tuple[Any, float]:
    from datasets import Dataset
    from peft import LoraConfig, TaskType
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    from transformers import TrainerCallback, set_seed

    class StepTimer(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
            _sync(opts.device)
            stamps.append(time.perf_counter())
            cpu_stamps.append(time.process_time())

    set_seed(opts.seed)
    model = SentenceTransformer(opts.model, device=opts.device)
    model.max_seq_length = opts.max_length
    model.add_adapter(LoraConfig(
        task_type=TaskType.FEATURE_EXTRACTION, r=8, lora_alpha=16, lora_dropout=0.1,
        target_modules=["query", "key", "value"],
    ))  # fmt: skip
    data = Dataset.from_dict({"anchor": [q for q, _ in train], "positive": [a for _, a in train]})
    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp, per_device_train_batch_size=opts.batch_size,
            max_steps=opts.steps if opts.steps > 0 else -1, num_train_epochs=1,
            learning_rate=opts.lr, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.01,
            max_grad_norm=0.0, bf16=opts.precision == "bf16", use_cpu=opts.device == "cpu",
            save_strategy="no", logging_strategy="no", report_to="none", seed=opts.seed,
            dataloader_num_workers=0, disable_tqdm=True,
        )  # fmt: skip
        trainer = SentenceTransformerTrainer(
            model=model, args=args, train_dataset=data,
            loss=MultipleNegativesRankingLoss(model, scale=20.0), callbacks=[StepTimer()],
        )  # fmt: skip
        start = time.perf_counter()
        trainer.train()
        _sync(opts.device)
        elapsed = time.perf_counter() - start
    model.eval()
    return _StSimilarity(model), elapsed


def worker(opts: argparse.Namespace) -> dict[str, Any]:
    import torch

    train, val = faq_split()
    stamps: list[float] = []
    cpu_stamps: list[float] = []  # process CPU time (all threads): less sensitive to other jobs than wall time
    fit = train_st if opts.framework == "st" else train_simtune
    model, fit_s = fit(opts, train, stamps, cpu_stamps)
    sizes = _batch_sizes(len(train), opts.batch_size, len(stamps))
    result = {
        "framework": opts.framework, "precision": opts.precision, "device": opts.device,
        "steps": len(stamps), "pairs": sum(sizes), "fit_s": fit_s,
        "pairs_per_s": _steady(stamps, sizes, opts.warmup),
        "pairs_per_cpu_s": _steady(cpu_stamps, sizes, opts.warmup),
        "pairs_per_s_fit": sum(sizes) / fit_s,
        "peak_rss_mb": peak_rss_mb(),
    }  # fmt: skip
    if opts.device == "cuda":
        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    if opts.eval:
        result.update(_evaluate(val, model))
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per precision: each side's medians, and pairs/s ratios against sentence-transformers."""
    summary = {}
    for precision in dict.fromkeys(r["precision"] for r in runs):
        sides: dict[str, list[dict[str, Any]]] = {}
        for r in runs:
            if r["precision"] == precision and "error" not in r:
                sides.setdefault(r["framework"], []).append(r)
        if "st" not in sides or not ({"simtune", "simtune_one_block"} & sides.keys()):
            continue
        row: dict[str, Any] = {
            fw: {key: median([r[key] for r in rs]) for key in rs[0] if isinstance(rs[0][key], float)}
            for fw, rs in sides.items()
        }
        for fw in ("simtune", "simtune_one_block"):
            if fw in row:
                name = "throughput_ratio" if fw == "simtune" else "one_block_throughput_ratio"
                row[name] = row[fw]["pairs_per_s"] / row["st"]["pairs_per_s"]
                if "pairs_per_cpu_s" in row[fw] and "pairs_per_cpu_s" in row["st"]:
                    cpu_ratio = row[fw]["pairs_per_cpu_s"] / row["st"]["pairs_per_cpu_s"]
                    row[name.replace("throughput", "cpu_time")] = cpu_ratio
        summary[precision] = row
    return summary


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 steps per run (2 of them warm-up) instead of one epoch")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (0: one epoch)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--warmup", type=int, default=2, help="steps left out of the steady throughput")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds; each seed is one run per side")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS), help=f"sides to run, of {VARIANTS}")
    parser.add_argument("--parallel", action="store_true", help="run the sides concurrently (a busy machine)")
    parser.add_argument("--repeats", type=int, default=1, help="interleaved repeats of each pair of runs")
    parser.add_argument("--model", default=None, help="model folder (default: the bundled MiniLM)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--eval", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--name", default="train", help="output name: bench/out/<name>.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--framework", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--precision", choices=("fp32", "bf16"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--from-runs", help="rebuild the output from a log of an interrupted run's JSON lines")
    opts = parser.parse_args(argv)
    opts.steps = opts.steps if opts.steps is not None else (8 if opts.quick else 0)
    opts.model = opts.model or minilm_path()
    if opts.worker:
        result = worker(opts)
        Path(opts.result).write_text(json.dumps(result))
        return result

    common = ["--steps", str(opts.steps), "--batch-size", str(opts.batch_size), "--max-length", str(opts.max_length),
              "--lr", str(opts.lr), "--warmup", str(opts.warmup), "--model", opts.model, "--device", opts.device,
              "--eval" if opts.eval else "--no-eval"]  # fmt: skip
    frameworks = tuple(opts.frameworks.split(","))
    runs = []
    if opts.from_runs:  # rebuild the output from the JSON lines printed by an interrupted run
        lines = Path(opts.from_runs).read_text().splitlines()
        runs = [json.loads(line) for line in lines if line.startswith("{")]
    seeds = [int(seed) for seed in opts.seeds.split(",")]
    rounds = [(r, seed) for r in range(0 if opts.from_runs else opts.repeats) for seed in seeds]
    for turn, (repeat, seed) in enumerate(rounds):
        for precision in opts.precisions.split(","):
            # Alternate which side goes first, so neither always gets the cooler machine.
            order = frameworks if turn % 2 == 0 else frameworks[::-1]
            run_args = [*common, "--precision", precision, "--seed", str(seed)]
            if opts.parallel:  # all sides at once: each sees the same load from other jobs
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(len(order)) as pool:
                    args = [[*run_args, "--framework", fw] for fw in order]
                    results = list(pool.map(lambda a: run_worker("bench.bench_train", a), args))
            else:
                results = [run_worker("bench.bench_train", [*run_args, "--framework", fw]) for fw in order]
            for framework, res in zip(order, results, strict=True):
                res.update(framework=framework, precision=precision, repeat=repeat, seed=seed,
                           parallel=opts.parallel)  # fmt: skip
                print(json.dumps(res), flush=True)
                runs.append(res)
    summary = summarize(runs)
    payload = {"machine": machine(), "settings": {k: v for k, v in vars(opts).items() if k not in ("worker", "result")},
               "runs": runs, "summary": summary}  # fmt: skip
    write_json(opts.name, payload)
    return payload


if __name__ == "__main__":
    main()
