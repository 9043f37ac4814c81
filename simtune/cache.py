"""Quaterion's embedding cache: frozen encoders run once per distinct object, before training.

``TrainableModel.configure_caches()`` returns a ``CacheConfig``; ``simtune.fit`` (or
``TrainableModel.fill_cache``) computes, under ``torch.no_grad()``, the frozen encoders'
embeddings of every distinct object in the given loaders' datasets. Training steps then look
them up by object and run only what learns (the head, and any trainable encoder).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from simtune.data import apply_features
from simtune.samples import SimilarityGroupSample, SimilarityPairSample

WHERE = ("auto", "cpu", "gpu")


@dataclass
class CacheConfig:
    """Where and how the embedding cache is kept.

    Args:
        where: "cpu", "gpu" (the training device), or "auto" (the training device).
        batch_size: Objects per encoder pass while filling.
        save_dir: Optional folder that keeps the embeddings between runs, keyed by the
            encoders' fingerprint, the set of objects and the autocast dtype of the fill.
        show_progress: Show a progress bar while filling.
    """

    where: str = "auto"
    batch_size: int = 64
    save_dir: str | None = None
    show_progress: bool = True

    def __post_init__(self) -> None:
        if self.where not in WHERE:
            raise ValueError(f"CacheConfig.where must be one of {WHERE}, got {self.where!r}")
        if self.batch_size <= 0:
            raise ValueError(f"CacheConfig.batch_size must be positive, got {self.batch_size}")


class EmbeddingCache:
    """Embeddings of the frozen encoders, looked up by object.

    Attributes:
        config: The ``CacheConfig``.
        cached: Names of the encoders served from the cache (the frozen ones).
    """

    def __init__(self, config: CacheConfig, model: Any) -> None:
        self.config = config
        self._encoder_names = list(model.encoders)
        self.cached = [name for name, enc in model.encoders.items() if not enc.trainable]
        if not self.cached:
            raise ValueError("configure_caches() was given, but every encoder is trainable: nothing to cache")
        self.index: dict[str, int] = {}
        self.vectors: dict[str, Tensor] = {}  # encoder name -> (n_objects, encoder dim)

    @property
    def serves_all(self) -> bool:
        """Whether every encoder is cached (batches then need no tokenizing)."""
        return len(self.cached) == len(self._encoder_names)

    @property
    def is_filled(self) -> bool:
        return bool(self.index)

    def fill(self, model: Any, loaders: Iterable[Any]) -> None:
        """Encode every distinct object of the loaders' datasets with the cached encoders."""
        objects = list(dict.fromkeys(obj for loader in loaders for obj in _objects(loader.dataset)))
        path = self._file(model, objects)
        if path is not None and path.is_file():
            self._load(path, objects)
            return
        vectors = {name: [] for name in self.cached}
        order = sorted(range(len(objects)), key=lambda i: -len(objects[i]))
        starts = range(0, len(objects), self.config.batch_size)
        if self.config.show_progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="filling embedding cache", unit="batch")
        device = next(model.parameters()).device
        with torch.no_grad():
            for start in starts:
                batch = [objects[i] for i in order[start : start + self.config.batch_size]]
                for name in self.cached:
                    encoder = model.encoders[name]
                    features = {k: v.to(device) for k, v in encoder.get_collate_fn()(batch).items()}
                    vectors[name].append(encoder(features).float().cpu())
        inverse = torch.empty(len(objects), dtype=torch.long)
        inverse[torch.tensor(order, dtype=torch.long)] = torch.arange(len(objects))
        self.vectors = {name: torch.cat(chunks)[inverse] for name, chunks in vectors.items()}
        self.index = {obj: i for i, obj in enumerate(objects)}
        if path is not None:
            self._save(path, objects)

    def embed(self, model: Any, batch: Any) -> Tensor:
        """A batch's embeddings through the head: cached rows for frozen encoders, a forward
        pass for trainable ones -> (len(batch.texts), embedding_size)."""
        try:
            rows = torch.tensor([self.index[obj] for obj in batch.texts], dtype=torch.long)
        except KeyError as err:
            raise KeyError(
                f"object {err.args[0]!r} is not in the embedding cache: fill it with every loader "
                "used in training and validation (simtune.fit(model, trainer, train, val) does)"
            ) from None
        device = next(model.head.parameters(), torch.empty(0)).device
        parts = []
        for name, encoder in model.encoders.items():
            if name in self.vectors:
                if self.config.where != "cpu" and self.vectors[name].device != device:
                    self.vectors[name] = self.vectors[name].to(device)
                parts.append(self.vectors[name][rows.to(self.vectors[name].device)].to(device))
            else:
                parts.append(apply_features(batch.features, lambda f, enc=encoder, key=name: enc(f[key])))
        return model.head(parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1))

    def _file(self, model: Any, objects: Sequence[str]) -> Path | None:
        if self.config.save_dir is None:
            return None
        digest = hashlib.sha256()
        for name in self.cached:
            for key, tensor in sorted(model.encoders[name].state_dict().items()):
                digest.update(key.encode())
                digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
            digest.update(json.dumps(model.encoders[name].get_config_dict(), sort_keys=True, default=str).encode())
        digest.update("\x00".join(objects).encode())
        # bf16 and fp32 fills differ (~1e-3): a cache filled under one must not serve the other
        device = next(model.parameters()).device.type
        if torch.is_autocast_enabled(device):
            digest.update(f"autocast:{torch.get_autocast_dtype(device)}".encode())
        return Path(self.config.save_dir) / f"cache-{digest.hexdigest()[:24]}.safetensors"

    def _save(self, path: Path, objects: Sequence[str]) -> None:
        from safetensors.torch import save_file

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        save_file(
            {name: v.contiguous() for name, v in self.vectors.items()}, str(tmp), metadata={"count": str(len(objects))}
        )
        tmp.replace(path)

    def _load(self, path: Path, objects: Sequence[str]) -> None:
        from safetensors.torch import load_file

        try:
            vectors = load_file(str(path))
        except Exception as err:
            raise ValueError(f"corrupted embedding cache file {path}: {err}; delete it to rebuild") from err
        if set(vectors) != set(self.cached) or any(v.shape[0] != len(objects) for v in vectors.values()):
            raise ValueError(f"embedding cache file {path} does not match the encoders or objects; delete it")
        self.vectors = vectors
        self.index = {obj: i for i, obj in enumerate(objects)}


def _objects(dataset: Iterable[Any]) -> Iterable[str]:
    for sample in dataset:
        if isinstance(sample, SimilarityPairSample):
            yield sample.obj_a
            yield sample.obj_b
        elif isinstance(sample, SimilarityGroupSample):
            yield sample.obj
        else:
            raise TypeError(
                f"cannot cache {type(sample).__name__}: expected SimilarityPairSample or SimilarityGroupSample"
            )
