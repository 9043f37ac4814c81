"""``fit``: fill the embedding cache when there is one, then ``trainer.fit``; Quaterion's entry point."""

from __future__ import annotations

from typing import Any


def fit(
    trainable_model: Any, trainer: Any, train_dataloader: Any, val_dataloader: Any = None, ckpt_path: str | None = None
) -> None:
    """Train ``trainable_model`` with ``trainer``.

    The only thing added to ``trainer.fit`` is the explicit cache fill: when the model's
    ``configure_caches()`` returned a config, the frozen encoders embed every object of the
    train and validation loaders once, before the first step. Nothing else about the user's
    trainer or loaders is changed.
    """
    if trainable_model.cache is not None and not trainable_model.cache.is_filled:
        loaders = [train_dataloader] + ([] if val_dataloader is None else [val_dataloader])
        trainable_model.fill_cache(*loaders)
    trainer.fit(trainable_model, train_dataloader, val_dataloader, ckpt_path=ckpt_path)


class Quaterion:
    """Quaterion's name for the entry point: ``Quaterion.fit(model, trainer, train_dl, val_dl)``."""

    fit = staticmethod(fit)
