"""Benchmark the cloud-FAQ application on this machine's CPU; writes bench/out/faq.json and prints a table.

Parts (each can be skipped):

* ``precision``: MiniLM encoding throughput (texts/s) and LoRA training throughput (pairs/s) in
  float32 and under bfloat16 autocast, on validation texts.
* ``head``: ``faq.train`` head-only with the cache (baseline, precision@1 / MRR after training,
  cache fill time, training time).
* ``cache``: one epoch of head-only training with the cache vs without it (the frozen encoder
  runs at every step), same batch size and precision; their ratio.
* ``lora``: ``faq.train --lora`` (precision@1 / MRR and wall time).

    python -m bench.bench_faq [--data FILE] [--skip precision cache ...] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from bench.common import peak_rss_mb

OUT = Path(__file__).resolve().parent / "out"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "cloud_faq" / "cloud_faq_dataset.jsonl"


def bench_precision(val_pairs, n_texts: int = 512, lora_batches: int = 4, batch_size: int = 64) -> dict:
    """Throughput of encoding and of LoRA training steps, float32 vs bfloat16 autocast."""
    from faq.model import FAQLoraModel
    from faq.train import autocast
    from simtune.data import PairsSimilarityDataLoader
    from simtune.encoders import TransformerEncoder
    from simtune.model import SimilarityModel

    texts = [p.obj_a for p in val_pairs[: n_texts // 2]] + [p.obj_b for p in val_pairs[: n_texts // 2]]
    model = SimilarityModel(TransformerEncoder(max_length=128))
    model.encode(texts[:64])  # warm-up
    out = {}
    ref = None
    for precision in ("32", "bf16"):
        start = time.perf_counter()
        emb = model.encode(texts, batch_size=64, to_numpy=False, precision="bf16" if precision == "bf16" else "fp32")
        out[f"encode_texts_per_s_{precision}"] = len(texts) / (time.perf_counter() - start)
        ref = emb if ref is None else ref
    out["encode_min_cosine_bf16_vs_32"] = float((ref * emb).sum(1).min())
    for precision in ("32", "bf16"):
        torch.manual_seed(0)
        lora = FAQLoraModel(max_length=128)
        opt = torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=1e-4)
        loader = PairsSimilarityDataLoader(val_pairs[: batch_size * (lora_batches + 1)], collator=lora.collator(),
                                           batch_size=batch_size)  # fmt: skip
        batches = list(loader)
        lora.train()
        for i, batch in enumerate(batches):
            if i == 1:
                start = time.perf_counter()  # the first step is a warm-up
            with autocast(precision):
                loss, _ = lora._step(batch)
            loss.backward()
            opt.step()
            opt.zero_grad()
        out[f"lora_train_pairs_per_s_{precision}"] = lora_batches * batch_size / (time.perf_counter() - start)
    return out


def epoch_seconds(model, loader, precision: str, batches: int | None = None) -> float:
    """Wall time of one training epoch (or its first ``batches`` steps), no validation, fresh Trainer."""
    import pytorch_lightning as pl

    from faq.train import TrainConfig, trainer_for

    class EpochTimer(pl.Callback):  # the epoch alone: Trainer.fit's setup is not scaled with the steps
        def on_train_epoch_start(self, trainer, module):
            self.start = time.perf_counter()

        def on_train_epoch_end(self, trainer, module):
            self.seconds = time.perf_counter() - self.start

    timer = EpochTimer()
    limit = {} if batches is None else {"limit_train_batches": batches}
    config = TrainConfig(epochs=1, precision=precision, progress=False)
    trainer_for(config, limit_val_batches=0, callbacks=[timer], **limit).fit(model, loader)
    return timer.seconds


def bench_cache(train_pairs, val_pairs, batch_size: int, precision: str, cache_dir: str | None,
                uncached_batches: int | None = None) -> dict:
    """One head-only epoch with the (filled) cache vs the frozen encoder run at every step.

    With ``uncached_batches`` the uncached epoch is timed over its first that many steps and scaled
    to the epoch's step count (reported as such): on a busy machine a full uncached epoch can take
    half an hour.
    """
    from faq.model import FAQModel
    from faq.train import autocast
    from simtune.data import PairsSimilarityDataLoader

    cached = FAQModel(cache_dir=cache_dir)
    loader = PairsSimilarityDataLoader(train_pairs, collator=cached.collator(), batch_size=batch_size, shuffle=True)
    val_loader = PairsSimilarityDataLoader(val_pairs, collator=cached.collator(), batch_size=batch_size)
    start = time.perf_counter()
    with autocast(precision):
        cached.fill_cache(loader, val_loader)
    fill = time.perf_counter() - start
    with_cache = epoch_seconds(cached, loader, precision)
    plain = FAQModel(use_cache=False)
    plain_loader = PairsSimilarityDataLoader(train_pairs, collator=plain.collator(), batch_size=batch_size,
                                             shuffle=True)  # fmt: skip
    steps = len(plain_loader)
    timed = steps if uncached_batches is None else min(uncached_batches, steps)
    without = epoch_seconds(plain, plain_loader, precision, timed) * steps / timed
    return {"batch_size": batch_size, "precision": precision, "cache_fill_s": fill,
            "cache_fill_from_disk": bool(cache_dir) and fill < 30, "epoch_s_cached": with_cache,
            "epoch_s_uncached": without, "uncached_steps_timed": timed, "steps_per_epoch": steps,
            "speedup": without / with_cache}  # fmt: skip


def main() -> None:
    from faq.data import read_faq, split, to_pairs
    from faq.train import TrainConfig, run

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(SHARED), help="cloud-FAQ JSON-lines file")
    parts = ["precision", "head", "cache", "lora"]
    parser.add_argument("--skip", nargs="*", default=[], choices=parts, help="parts to skip")
    parser.add_argument("--cache-dir", default=None, help="keep/reuse the head's embedding cache here")
    parser.add_argument("--precision", default="bf16", choices=["32", "bf16"], help="of the head, cache and LoRA runs")
    parser.add_argument("--out", default=str(OUT / "faq.json"), help="results file (skipped parts keep old numbers)")
    parser.add_argument("--merge", nargs="*", default=[], help="results files of other runs to merge in")
    parser.add_argument("--precision-texts", type=int, default=512, help="texts encoded per precision")
    parser.add_argument("--precision-lora-batches", type=int, default=4, help="timed LoRA steps per precision")
    parser.add_argument("--cache-batch-size", type=int, default=None, help="batch of the cache timing (default: head)")
    parser.add_argument("--uncached-batches", type=int, default=None,
                        help="time only this many uncached steps and scale to the epoch (default: the whole epoch)")
    parser.add_argument("--lora-batch-size", type=int, default=None, help="default: faq.train's")
    parser.add_argument("--lora-lr", type=float, default=None, help="default: faq.train's")
    parser.add_argument("--lora-epochs", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    OUT.mkdir(parents=True, exist_ok=True)
    path = Path(args.out)
    result = json.loads(path.read_text()) if path.is_file() else {}  # parts skipped now keep old numbers
    for other in args.merge:
        result.update({k: v for k, v in json.loads(Path(other).read_text()).items() if k != "machine"})
    result["machine"] = {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                         "torch": torch.__version__}  # fmt: skip
    train_rows, val_rows = split(read_faq(args.data))
    train_pairs, val_pairs = to_pairs(train_rows), to_pairs(val_rows)

    def save() -> None:
        path.write_text(json.dumps(result, indent=1, default=str))

    save()

    if "precision" not in args.skip:
        result["precision"] = bench_precision(val_pairs, args.precision_texts, args.precision_lora_batches,
                                              args.lora_batch_size or 64)  # fmt: skip
        save()
    head_config = TrainConfig(data=args.data, precision=args.precision, cache_dir=args.cache_dir,
                              output=str(OUT / "servable_faq"), progress=False)  # fmt: skip
    if "head" not in args.skip:
        start = time.perf_counter()
        r = run(head_config)
        result["head"] = {k: r.get(k) for k in ("baseline", "val", "cache_fill_s", "train_s", "eval_s")}
        result["head"]["total_s"] = time.perf_counter() - start
        # a cache found on disk under --cache-dir is loaded, not computed: the fill time is then a load time
        result["head"]["cache_fill_from_disk"] = bool(args.cache_dir) and r.get("cache_fill_s", 0) < 30
        result["head"]["config"] = r["config"]
        save()
    if "cache" not in args.skip:
        cache_dir = None if args.cache_dir is None else str(Path(args.cache_dir) / args.precision)
        batch_size = args.cache_batch_size or head_config.batch_size
        result["cache"] = bench_cache(train_pairs, val_pairs, batch_size, args.precision, cache_dir,
                                      args.uncached_batches)  # fmt: skip
        save()
    if "lora" not in args.skip:
        config = TrainConfig(data=args.data, lora=True, precision=args.precision, baseline=False,
                             batch_size=args.lora_batch_size, lr=args.lora_lr, epochs=args.lora_epochs,
                             output=str(OUT / "servable_faq_lora"), progress=False)  # fmt: skip
        start = time.perf_counter()
        r = run(config)
        result["lora"] = {"val": r["val"], "train_s": r["train_s"], "eval_s": r["eval_s"],
                          "total_s": time.perf_counter() - start, "config": r["config"],
                          "peak_rss_mb_process": peak_rss_mb()}  # fmt: skip
        save()
    print_table(result)
    print(f"wrote {path}")


def print_table(result: dict) -> None:
    rows = []
    if "head" in result:
        h = result["head"]
        if h.get("baseline"):
            rows.append(("pre-trained baseline", h["baseline"]["precision@1"], h["baseline"]["mrr"], ""))
        rows.append(("head-only + cache", h["val"]["precision@1"], h["val"]["mrr"],
                     f"fill {h.get('cache_fill_s', 0):.0f} s, train {h['train_s']:.0f} s"))  # fmt: skip
    if "lora" in result:
        lo = result["lora"]
        rows.append(("LoRA r=8", lo["val"]["precision@1"], lo["val"]["mrr"],
                     f"train {lo['train_s']:.0f} s ({lo['config']['epochs']} epochs, "
                     f"batch {lo['config']['batch_size']})"))
    print(f"{'model':<22} {'p@1':>7} {'MRR':>7}  time")
    for name, p1, mrr, note in rows:
        print(f"{name:<22} {p1:7.4f} {mrr:7.4f}  {note}")
    if "cache" in result:
        c = result["cache"]
        scaled = c.get("uncached_steps_timed", 0) < c.get("steps_per_epoch", 0)
        note = f" (scaled from {c['uncached_steps_timed']} of {c['steps_per_epoch']} steps)" if scaled else ""
        print(f"head epoch (batch {c['batch_size']}, {c['precision']}): cached {c['epoch_s_cached']:.2f} s, "
              f"uncached {c['epoch_s_uncached']:.1f} s{note} -> {c['speedup']:.0f}x; "
              f"cache fill {c['cache_fill_s']:.1f} s")
    if "precision" in result:
        p = result["precision"]
        print(f"encode texts/s: fp32 {p['encode_texts_per_s_32']:.1f}, bf16 {p['encode_texts_per_s_bf16']:.1f}; "
              f"LoRA train pairs/s: fp32 {p['lora_train_pairs_per_s_32']:.1f}, "
              f"bf16 {p['lora_train_pairs_per_s_bf16']:.1f}")


if __name__ == "__main__":
    main()
