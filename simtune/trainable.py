"""``TrainableModel``: a LightningModule assembled from Quaterion-style ``configure_*`` hooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

from simtune.cache import EmbeddingCache
from simtune.data import GroupBatch, PairBatch, SimilarityCollator, apply_features
from simtune.encoders.base import Encoder
from simtune.encoders.lora import LoraEncoder
from simtune.heads import EmptyHead, EncoderHead
from simtune.losses.base import GroupLoss, PairwiseLoss, SimilarityLoss
from simtune.model import SimilarityModel
from simtune.training_utils import gather_rows


class TrainableModel(pl.LightningModule):
    """Override ``configure_encoders`` and ``configure_loss`` (and optionally the head,
    optimizers, metrics and caches); train with a plain ``pl.Trainer(...).fit(model, ...)``.

    ``self.model`` is the ``SimilarityModel`` being trained; ``save_servable`` writes it with
    LoRA adapters merged in. The default optimizer is AdamW over the parameters that require
    gradients, with learning rate ``self.lr`` (class attribute, 1e-4 unless set).
    """

    lr: float = 1e-4

    def __init__(self) -> None:
        super().__init__()
        encoders = self.configure_encoders()
        named = {"default": encoders} if isinstance(encoders, Encoder) else dict(encoders)
        input_size = sum(encoder.embedding_size for encoder in named.values())
        self.model = SimilarityModel(named, self.configure_head(input_size))
        self.loss = self.configure_loss()
        if not isinstance(self.loss, SimilarityLoss):
            raise TypeError(f"configure_loss must return a SimilarityLoss, got {type(self.loss).__name__}")
        metrics = self.configure_metrics()
        self.evaluators = (
            [] if metrics is None else (list(metrics) if isinstance(metrics, (list, tuple)) else [metrics])
        )
        cache_config = self.configure_caches()
        self.cache = EmbeddingCache(cache_config, self.model) if cache_config is not None else None
        self._val_outputs: list[tuple[Tensor, ...]] = []

    # --- hooks -------------------------------------------------------------------------
    def configure_encoders(self) -> Encoder | dict[str, Encoder]:
        """Return the encoder, or a dict of named encoders (required)."""
        raise NotImplementedError("override configure_encoders() to return an Encoder or dict of them")

    def configure_head(self, input_embedding_size: int) -> EncoderHead:
        """Return the head over the concatenated encoder outputs (default: ``EmptyHead``)."""
        return EmptyHead(input_embedding_size)

    def configure_loss(self) -> SimilarityLoss:
        """Return a ``PairwiseLoss`` or ``GroupLoss`` (required)."""
        raise NotImplementedError("override configure_loss() to return a SimilarityLoss")

    def configure_optimizers(self) -> Any:
        """AdamW over the parameters that require gradients, learning rate ``self.lr``."""
        params = [p for p in self.parameters() if p.requires_grad]
        if not params:
            raise ValueError("nothing to train: no parameter requires gradients (frozen encoders and an EmptyHead?)")
        return torch.optim.AdamW(params, lr=self.lr)

    def configure_metrics(self) -> Any:
        """Return an ``Evaluator`` (or a list of them) whose metrics are computed over the
        whole validation set at the end of each validation epoch, or None."""
        return None

    def configure_caches(self) -> Any:
        """Return a ``CacheConfig`` to serve frozen encoders' embeddings from a cache, or None."""
        return None

    # --- training ----------------------------------------------------------------------
    def fill_cache(self, *loaders: Any) -> None:
        """Compute the frozen encoders' embeddings of every object in ``loaders`` (once, no grad)."""
        if self.cache is None:
            raise ValueError("fill_cache() needs configure_caches() to return a CacheConfig")
        self.cache.fill(self.model, loaders)

    def collator(self, tokenize: bool | None = None, bucket_size: int | None = 32) -> SimilarityCollator:
        """The collator for this model's loaders; skips tokenizing when the cache serves every encoder.
        ``bucket_size``: see ``SimilarityCollator`` (runs of similar length, less padding)."""
        if tokenize is None:
            tokenize = not (self.cache is not None and self.cache.serves_all)
        return SimilarityCollator(self.model, tokenize=tokenize, bucket_size=bucket_size)

    def embed(self, batch: PairBatch | GroupBatch) -> Tensor:
        """Embeddings of a batch's objects: (2n, d) for pairs (a then b), (n, d) for groups."""
        if self.cache is not None and self.cache.is_filled:
            return self.cache.embed(self.model, batch)
        if batch.features is None:
            raise ValueError("the batch was collated without tokenizing, but no filled cache serves it")
        return apply_features(batch.features, self.model)

    def _step(self, batch: PairBatch | GroupBatch) -> tuple[Tensor, Tensor]:
        embeddings = self.embed(batch)
        if isinstance(batch, PairBatch):
            if not isinstance(self.loss, PairwiseLoss):
                raise TypeError(f"{type(self.loss).__name__} is not a pairwise loss but the batch holds pairs")
            n = batch.size
            loss = self.loss(embeddings[:n], embeddings[n:], batch.scores, batch.subgroups)
        else:
            if not isinstance(self.loss, GroupLoss):
                raise TypeError(f"{type(self.loss).__name__} is not a group loss but the batch holds groups")
            loss = self.loss(embeddings, batch.groups)
        return loss, embeddings

    def training_step(self, batch: PairBatch | GroupBatch, batch_idx: int) -> Tensor:
        loss, _ = self._step(batch)
        self.log("train_loss", loss, batch_size=batch.size, prog_bar=True)
        return loss

    def validation_step(self, batch: PairBatch | GroupBatch, batch_idx: int) -> Tensor:
        loss, embeddings = self._step(batch)
        self.log("val_loss", loss, batch_size=batch.size, prog_bar=True, sync_dist=True)
        if self.evaluators:
            embeddings = embeddings.detach().float()
            if isinstance(batch, PairBatch):
                n = batch.size
                self._val_outputs.append((embeddings[:n], embeddings[n:], batch.scores))
            else:
                self._val_outputs.append((embeddings, batch.groups))
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val_outputs = []

    def on_validation_epoch_end(self) -> None:
        if not self.evaluators or not self._val_outputs:
            return
        from simtune.eval.samplers import EmbeddedGroups, EmbeddedPairs

        columns = [torch.cat(column) for column in zip(*self._val_outputs, strict=True)]
        self._val_outputs = []
        if self.trainer is not None and self.trainer.world_size > 1:
            columns = [gather_rows(self, column) for column in columns]
        embedded = EmbeddedPairs(*columns) if len(columns) == 3 else EmbeddedGroups(*columns)
        for evaluator in self.evaluators:
            # Every rank holds the same gathered set, so each computes the same values.
            for name, value in evaluator.sampler.score(embedded, evaluator.metrics).items():
                self.log(f"val_{name}", float(value), prog_bar=True, rank_zero_only=False, sync_dist=False)

    # --- serving -----------------------------------------------------------------------
    def servable(self) -> SimilarityModel:
        """The ``SimilarityModel`` for serving: LoRA encoders merged, everything in eval mode."""
        encoders = {
            name: encoder.merged() if isinstance(encoder, LoraEncoder) else encoder
            for name, encoder in self.model.encoders.items()
        }
        return SimilarityModel(encoders, self.model.head).eval()

    def save_servable(self, path: str | Path) -> None:
        """Merge LoRA adapters and save the servable ``SimilarityModel`` to folder ``path``."""
        was_training = self.model.training
        try:
            self.servable().save(path)
        finally:
            self.model.train(was_training)
