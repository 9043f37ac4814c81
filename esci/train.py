"""``python -m esci.train``: fine-tune an encoder on ESCI judgments and save a servable.

Writes to ``--output_dir``: ``servable/`` (LoRA merged; what esci.index loads), ``adapter/``
(LoRA weights alone), ``metrics.json`` (pre-trained and per-epoch validation metrics, the kept
epoch), ``roc.png``, ``config.json`` (the resolved options), ``checkpoints/`` (resumable) and
``best/`` (the best epoch by ``--selection_metric``).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from esci.cli import parse_config
from esci.config import TrainConfig
from esci.data import load_esci, split_by_query, to_pair_samples
from esci.model import EsciModel
from simtune.data import PairsSimilarityDataLoader
from simtune.samples import SimilarityPairSample

CHECKPOINTS, BEST, SERVABLE, ADAPTER = "checkpoints", "best", "servable", "adapter"


class EpochHistory(pl.Callback):
    """Validation metrics after each training epoch; kept in checkpoints, so a resumed run
    still reports the epochs before the interruption."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []
        self._fitting = False

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._fitting = True

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._fitting = False

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._fitting or trainer.sanity_checking:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val_")}
        self.epochs.append({"epoch": trainer.current_epoch + 1, "step": trainer.global_step, **metrics})
        shown = ", ".join(f"{k[4:]} {v:.4f}" for k, v in metrics.items() if k != "val_loss")
        print(f"\nepoch {trainer.current_epoch + 1} (step {trainer.global_step}): {shown}", flush=True)

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.epochs = list(state_dict.get("epochs", []))


def resolve_resume(cfg: TrainConfig) -> str | None:
    """The checkpoint to resume from: the given file, or the newest loadable one for 'latest'."""
    if cfg.resume_from_checkpoint is None:
        return None
    if cfg.resume_from_checkpoint != "latest":
        path = Path(cfg.resume_from_checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"--resume_from_checkpoint {path}: no such checkpoint file")
        return str(path)
    folder = Path(cfg.output_dir) / CHECKPOINTS
    candidates = sorted(folder.glob("*.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in candidates:
        try:  # a run killed while writing leaves a truncated newest file: fall back to the one before
            torch.load(path, map_location="cpu", weights_only=False)
            return str(path)
        except Exception as error:  # noqa: BLE001 - any unreadable file is skipped, and said so
            print(f"skipping unreadable checkpoint {path}: {error}", file=sys.stderr)
    print(f"--resume_from_checkpoint latest: no checkpoint in {folder}; starting fresh",
          file=sys.stderr)
    return None


def make_logger(cfg: TrainConfig) -> Any:
    """The Lightning logger for --with_tracking (wandb is imported only when chosen)."""
    if not cfg.with_tracking:
        return False
    from pytorch_lightning import loggers

    if cfg.report_to == "csv":
        return loggers.CSVLogger(cfg.output_dir, name="logs")
    if cfg.report_to == "tensorboard":
        return loggers.TensorBoardLogger(cfg.output_dir, name="logs")
    return loggers.WandbLogger(project="simtune-esci", save_dir=cfg.output_dir)


def make_callbacks(cfg: TrainConfig) -> tuple[Any, Any, EpochHistory]:
    """(resumable checkpoints, best-epoch checkpoint, epoch history)."""
    from pytorch_lightning.callbacks import ModelCheckpoint

    out = Path(cfg.output_dir)
    every = ({"every_n_epochs": 1, "save_on_train_epoch_end": True}
             if cfg.checkpointing_steps == "epoch"
             else {"every_n_train_steps": int(cfg.checkpointing_steps)})
    # monitor=None with save_top_k=1 keeps only the newest: enough to resume, little disk.
    resumable = ModelCheckpoint(dirpath=out / CHECKPOINTS, filename="{epoch}-{step}",
                                save_top_k=1, **every)
    best = ModelCheckpoint(dirpath=out / BEST, filename="best-{epoch}-{step}",
                           monitor=f"val_{cfg.selection_metric}", mode="max", save_top_k=1,
                           save_weights_only=True)
    return resumable, best, EpochHistory()


def validation_pair_scores(model: EsciModel, samples: list[SimilarityPairSample],
                           cfg: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine (n,) of each validation pair and its 0/1 label (n,), for the ROC curve."""
    kwargs = {"batch_size": cfg.per_device_eval_batch_size, "to_numpy": False,
              "precision": cfg.encode_precision}
    emb_a = model.model.encode([s.obj_a for s in samples], **kwargs)  # (n, d)
    emb_b = model.model.encode([s.obj_b for s in samples], **kwargs)  # (n, d)
    cos = torch.nn.functional.cosine_similarity(emb_a, emb_b, dim=-1)  # (n,)
    return cos, torch.tensor([int(s.score >= 0.5) for s in samples])


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Run training as configured; return what metrics.json holds."""
    from esci.retrieval import build_probe
    from simtune.eval import write_json_atomic, write_report

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = resolve_resume(cfg)

    table = load_esci(cfg.dataset_name)
    train_df, val_df = split_by_query(table, cfg.val_fraction, cfg.split_seed)
    train_samples, val_samples = to_pair_samples(train_df), to_pair_samples(val_df)
    print(f"data: {len(train_samples)} training pairs ({train_df['query_id'].nunique()} queries), "
          f"{len(val_samples)} validation pairs ({val_df['query_id'].nunique()} queries)")

    model = EsciModel(
        cfg.model_name_or_path, cfg.max_length, cfg.use_peft, cfg.lora_r, cfg.lora_alpha,
        cfg.lora_dropout, cfg.lora_target_modules, cfg.learning_rate, cfg.weight_decay,
        cfg.ranking_weight, cfg.ranking_scale, cfg.encode_precision)
    # Validation nDCG ranks the validation queries against the validation products (cheap
    # enough to run every epoch); esci.evaluate uses the whole catalogue through Qdrant.
    model.probe = build_probe(val_df, val_df, k=10)
    collator = model.collator()
    loader_kwargs = {"num_workers": cfg.num_workers, "persistent_workers": cfg.num_workers > 0}
    train_loader = PairsSimilarityDataLoader(train_samples, collator=collator, shuffle=True,
                                             batch_size=cfg.per_device_train_batch_size,
                                             **loader_kwargs)
    val_loader = PairsSimilarityDataLoader(val_samples, collator=collator, shuffle=False,
                                           batch_size=cfg.per_device_eval_batch_size,
                                           **loader_kwargs)
    resumable, best, history = make_callbacks(cfg)
    trainer = pl.Trainer(
        accelerator="auto", devices=1, precision=cfg.lightning_precision,
        max_epochs=cfg.num_train_epochs, max_steps=cfg.max_train_steps or -1,
        accumulate_grad_batches=cfg.gradient_accumulation_steps,
        callbacks=[resumable, best, history], logger=make_logger(cfg),
        default_root_dir=out, num_sanity_val_steps=0, enable_model_summary=False,
        log_every_n_steps=max(1, min(10, len(train_loader))))

    pretrained = {k[4:]: float(v) for k, v in
                  trainer.validate(model, val_loader, verbose=False)[0].items()}
    print(f"pre-trained: ROC-AUC {pretrained['roc_auc']:.4f}, nDCG@10 {pretrained['ndcg@10']:.4f}",
          flush=True)
    start = time.perf_counter()
    trainer.fit(model, train_loader, val_loader, ckpt_path=ckpt_path)
    train_seconds = time.perf_counter() - start

    kept = best.best_model_path
    if kept:  # restore the best epoch's weights and measure them again (they are what we save)
        final = trainer.validate(model, val_loader, ckpt_path=kept, verbose=False)[0]
    else:  # no validation ran during fit (e.g. max_train_steps within the first epoch)
        final = trainer.validate(model, val_loader, verbose=False)[0]
    final = {k[4:]: float(v) for k, v in final.items()}

    if cfg.use_peft:
        model.model.encoders["default"].save(out / ADAPTER)
    model.save_servable(out / SERVABLE)
    report = {
        "pretrained": pretrained,
        "epochs": history.epochs,
        "kept_checkpoint": kept or None,
        "selection_metric": cfg.selection_metric,
        "global_step": trainer.global_step,
        "train_seconds": round(train_seconds, 1),
        "resumed_from": ckpt_path,
        "servable": str(out / SERVABLE),
        "adapter": str(out / ADAPTER) if cfg.use_peft else None,
        "recipe": ("clamped cosine" if cfg.ranking_weight == 0 else
                   f"clamped cosine + {cfg.ranking_weight} x in-batch ranking "
                   f"(scale {cfg.ranking_scale})"),
    }
    write_report(out, final, validation_pair_scores(model, val_samples, cfg), extra=report)
    write_json_atomic(out / "config.json", dataclasses.asdict(cfg))
    print(f"trained:     ROC-AUC {final['roc_auc']:.4f}, nDCG@10 {final['ndcg@10']:.4f} "
          f"(kept {Path(kept).name if kept else 'the last step'}; {trainer.global_step} steps, "
          f"{train_seconds:.0f} s)")
    print(f"saved: servable {out / SERVABLE}, metrics {out / 'metrics.json'}, ROC {out / 'roc.png'}")
    return {"metrics": final, **report}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse the command line and train."""
    return train(parse_config(TrainConfig, argv, prog="python -m esci.train"))


if __name__ == "__main__":
    main()
