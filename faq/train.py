"""Train the FAQ model: ``python -m faq.train [--data FILE] [--lora] [--precision bf16]``.

Prints the pre-trained baseline on the validation split, trains with a Lightning ``Trainer``,
evaluates the validation split with the ``Evaluator`` and saves a servable (``servable/faq`` or,
with ``--lora``, ``servable/faq_lora``).
"""

from __future__ import annotations

import json
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from faq.cli import field, parse_config
from simtune.encoders import DEFAULT_MODEL

PRECISIONS = {"32": "32-true", "bf16": "bf16-mixed"}
# Per-mode defaults, used where a field is left at None. Head: the cache makes an epoch cost
# milliseconds, so many large-batch epochs; LoRA: the encoder runs every step, so few epochs.
HEAD_DEFAULTS = {"epochs": 30, "batch_size": 1024, "lr": 3e-3}
LORA_DEFAULTS = {"epochs": 2, "batch_size": 256, "lr": 2e-3}
H, L = HEAD_DEFAULTS, LORA_DEFAULTS


@dataclass
class TrainConfig:
    """Train the cloud-FAQ question-answering model (Quaterion's tutorial on simtune)."""

    data: str | None = field(
        None, "JSON-lines file of question/answer pairs; default data/cloud_faq_dataset.jsonl, downloaded when missing"
    )
    lora: bool = field(False, "train LoRA adapters (r=8, alpha=16 on query/key/value) instead of a head")
    output: str | None = field(None, "servable folder; default servable/faq, or servable/faq_lora with --lora")
    model: str = field(DEFAULT_MODEL, "encoder: hub id or local folder (the default is bundled, offline)")
    epochs: int | None = field(None, f"training epochs; default {H['epochs']} (head), {L['epochs']} (LoRA)")
    batch_size: int | None = field(None, f"pairs per batch; default {H['batch_size']} (head), {L['batch_size']} (LoRA)")
    lr: float | None = field(None, f"learning rate; default {H['lr']} (head), {L['lr']} (LoRA)")
    max_length: int = field(128, "token cap per text (the longest cloud-FAQ answer has 106 tokens)")
    precision: str = field(
        "bf16", "'bf16' (bfloat16 autocast, Lightning 'bf16-mixed') or '32'", choices=tuple(PRECISIONS)
    )
    warmup_ratio: float = field(0.1, "LoRA: fraction of steps with linear warm-up, then linear decay")
    cache_dir: str | None = field(None, "head mode: keep the embedding cache in this folder between runs")
    baseline: bool = field(True, "evaluate the pre-trained model first")
    seed: int = field(42, "random seed")
    threads: int | None = field(None, "torch CPU threads (default: torch's choice)")
    progress: bool = field(True, "show progress bars")

    def __post_init__(self) -> None:
        defaults = LORA_DEFAULTS if self.lora else HEAD_DEFAULTS
        for name, value in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        if self.output is None:
            self.output = "servable/faq_lora" if self.lora else "servable/faq"
        for name in ("epochs", "batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {tuple(PRECISIONS)}, got {self.precision!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")


def autocast(precision: str) -> Any:
    """bfloat16 autocast on the CPU for "bf16", nothing for "32"."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else nullcontext()


class CachedServable:
    """``encode`` through the filled embedding cache and the head: the same vectors as the
    servable's ``encode`` with the frozen encoder, without running the encoder again."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def encode(self, texts: list[str], batch_size: int = 32, to_numpy: bool = True) -> Any:
        cache, sim = self.model.cache, self.model.model
        rows = torch.tensor([cache.index[t] for t in texts], dtype=torch.long)
        was_training = sim.training
        sim.eval()
        try:
            with torch.inference_mode():
                emb = sim.head(cache.vectors["default"][rows]).float().cpu()  # (n, 384)
        finally:
            sim.train(was_training)
        return emb.numpy() if to_numpy else emb


def build(config: TrainConfig, total_steps: int | None = None) -> Any:
    """The ``FAQModel`` (head) or ``FAQLoraModel`` that ``config`` describes."""
    from faq.model import FAQLoraModel, FAQModel

    if config.lora:
        warmup = int(config.warmup_ratio * (total_steps or 0))
        return FAQLoraModel(lr=config.lr, model_name=config.model, max_length=config.max_length,
                            total_steps=total_steps, warmup_steps=warmup)  # fmt: skip
    cache_dir = None if config.cache_dir is None else str(Path(config.cache_dir) / config.precision)
    return FAQModel(lr=config.lr, model_name=config.model, max_length=config.max_length, cache_dir=cache_dir)


def trainer_for(config: TrainConfig, **overrides: Any) -> Any:
    """The Lightning Trainer: CPU, no checkpoints or logger files, ``config``'s precision."""
    import pytorch_lightning as pl

    kwargs = dict(
        max_epochs=config.epochs, accelerator="cpu", devices=1, precision=PRECISIONS[config.precision],
        logger=False, enable_checkpointing=False, enable_model_summary=False,
        enable_progress_bar=config.progress, num_sanity_val_steps=0, log_every_n_steps=5,
    )  # fmt: skip
    kwargs.update(overrides)
    return pl.Trainer(**kwargs)


def run(config: TrainConfig) -> dict[str, Any]:
    """Load, split, baseline, train, evaluate, save. Returns the numbers it printed."""
    import pytorch_lightning as pl

    from faq.data import ensure_data, read_faq, split, to_pairs
    from faq.model import faq_evaluator
    from simtune.data import PairsSimilarityDataLoader
    from simtune.encoders import TransformerEncoder
    from simtune.fit import fit
    from simtune.model import SimilarityModel

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if config.threads:
        torch.set_num_threads(config.threads)
    pl.seed_everything(config.seed, workers=True, verbose=False)
    path = ensure_data(config.data)
    train_rows, val_rows = split(read_faq(path))
    train_pairs, val_pairs = to_pairs(train_rows), to_pairs(val_rows)
    print(f"data {path}: {len(train_pairs)} training pairs, {len(val_pairs)} validation pairs")
    result: dict[str, Any] = {"config": asdict(config), "train_pairs": len(train_pairs), "val_pairs": len(val_pairs)}
    evaluator = faq_evaluator()

    steps_per_epoch = -(-len(train_pairs) // config.batch_size)
    model = build(config, total_steps=steps_per_epoch * config.epochs)
    loader = PairsSimilarityDataLoader(train_pairs, collator=model.collator(), batch_size=config.batch_size,
                                       shuffle=True, drop_last=len(train_pairs) > config.batch_size)  # fmt: skip
    val_loader = None
    if not config.lora:
        val_loader = PairsSimilarityDataLoader(val_pairs, collator=model.collator(), batch_size=config.batch_size)
        start = time.perf_counter()
        with autocast(config.precision):
            model.fill_cache(loader, val_loader)
        result["cache_fill_s"] = time.perf_counter() - start
        print(f"embedding cache: {len(model.cache.index)} texts in {result['cache_fill_s']:.1f} s")
    if config.baseline:
        if config.lora:  # the pre-trained encoder alone (the adapters start as the identity too)
            with autocast(config.precision):
                pretrained = SimilarityModel(TransformerEncoder(config.model, max_length=config.max_length))
                result["baseline"] = evaluator.evaluate(val_pairs, pretrained)
        else:  # the head starts as the identity: the cache holds the pre-trained embeddings
            result["baseline"] = evaluator.evaluate(val_pairs, CachedServable(model))
        print(f"pre-trained baseline: {_fmt(result['baseline'])}")

    trainer = trainer_for(config)
    start = time.perf_counter()
    fit(model, trainer, loader, val_loader)
    result["train_s"] = time.perf_counter() - start
    print(f"trained {config.epochs} epochs in {result['train_s']:.1f} s")

    start = time.perf_counter()
    if config.lora:
        with autocast(config.precision):
            result["val"] = evaluator.evaluate(val_pairs, model.servable())
    else:
        result["val"] = evaluator.evaluate(val_pairs, CachedServable(model))
    result["eval_s"] = time.perf_counter() - start
    print(f"validation ({len(val_pairs)} pairs): {_fmt(result['val'])}")
    model.save_servable(config.output)
    print(f"servable saved to {config.output}")
    return result


def _fmt(metrics: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.4f}" for name, value in metrics.items())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    config = parse_config(TrainConfig, argv)
    result = run(config)
    print(json.dumps({k: v for k, v in result.items() if k != "config"}, indent=1))
    return result


if __name__ == "__main__":
    main()
