"""``SimilarityModel``: the servable, one or several encoders and a head. No Lightning, no peft."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from simtune.components import class_path, fsync_dir, import_class, read_json, write_json
from simtune.encoders.base import Encoder
from simtune.heads import EmptyHead, EncoderHead
from simtune.st_export import write_sentence_transformers_modules

MODEL_CONFIG = "simtune.json"
DEFAULT_ENCODER = "default"


class ModelCollator:
    """Applies each encoder's collate function: raw objects -> {encoder name: input tensors}.

    Picklable (it holds the encoders' collate functions, not the encoders).
    """

    def __init__(self, collate_fns: Mapping[str, Any]) -> None:
        self.collate_fns = dict(collate_fns)

    def __call__(self, objects: Sequence[Any]) -> dict[str, dict[str, Tensor]]:
        return {name: fn(objects) for name, fn in self.collate_fns.items()}


class SimilarityModel(nn.Module):
    """Encoders plus a head: raw objects -> embeddings (n, embedding_size).

    Every object goes through every encoder; their outputs are concatenated and passed
    through the head (Quaterion's semantics).

    Args:
        encoders: One encoder, or a dict of named encoders.
        head: Head over the concatenated embeddings; None means ``EmptyHead``.
    """

    def __init__(self, encoders: Encoder | Mapping[str, Encoder], head: EncoderHead | None = None) -> None:
        super().__init__()
        if isinstance(encoders, Encoder):
            encoders = {DEFAULT_ENCODER: encoders}
        if not encoders:
            raise ValueError("SimilarityModel needs at least one encoder")
        for name, encoder in encoders.items():
            if not isinstance(encoder, Encoder):
                raise TypeError(f"encoder '{name}' is a {type(encoder).__name__}, expected an Encoder")
        self.encoders = nn.ModuleDict(dict(encoders))
        input_size = sum(encoder.embedding_size for encoder in self.encoders.values())
        self.head = head if head is not None else EmptyHead(input_size)
        if self.head.input_embedding_size != input_size:
            raise ValueError(
                f"head expects input of size {self.head.input_embedding_size}, but the encoders give {input_size}"
            )
        self._fingerprint: str | None = None

    @property
    def embedding_size(self) -> int:
        """Size of the vectors ``encode`` returns."""
        return self.head.output_size

    def get_collate_fn(self) -> ModelCollator:
        """A picklable collate function: raw objects -> {encoder name: input tensors}."""
        return ModelCollator({name: enc.get_collate_fn() for name, enc in self.encoders.items()})

    def encoder_embeddings(self, features: Mapping[str, Mapping[str, Tensor]]) -> Tensor:
        """Encoders only: collated features -> concatenated embeddings (n, sum of encoder sizes)."""
        outputs = [encoder(features[name]) for name, encoder in self.encoders.items()]
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)

    def forward(self, features: Mapping[str, Mapping[str, Tensor]]) -> Tensor:
        """Collated features -> embeddings (n, embedding_size)."""
        return self.head(self.encoder_embeddings(features))

    def encode(
        self,
        texts: Sequence[Any],
        batch_size: int = 32,
        to_numpy: bool = True,
        show_progress: bool = False,
        precision: str = "fp32",
    ) -> np.ndarray | Tensor:
        """Embed objects for serving.

        Texts are batched longest first (little padding), under ``torch.inference_mode()``;
        rows come back in input order.

        Args:
            texts: n objects (strings for the transformer encoders).
            batch_size: Objects per forward pass.
            to_numpy: Return a float32 numpy array; else a CPU float32 tensor.
            show_progress: Show a tqdm progress bar.
            precision: "fp32", or "bf16" for bfloat16 autocast (fast on CPUs with AMX and on GPUs).

        Returns:
            (n, embedding_size) float32 embeddings.
        """
        if isinstance(texts, (str, bytes)):
            raise TypeError("encode expects a list of texts, got a single string; wrap it in a list")
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] is {text!r}: expected a str")
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        collate = self.get_collate_fn()
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        device = next(self.parameters()).device
        autocast = torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()
        starts = range(0, len(texts), batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="encode", unit="batch")
        was_training = self.training
        self.eval()
        chunks = []
        try:
            with torch.inference_mode(), autocast:
                for start in starts:
                    batch = [texts[i] for i in order[start : start + batch_size]]
                    features = _to_device(collate(batch), device)
                    chunks.append(self(features).float().cpu())
        finally:
            self.train(was_training)
        if chunks:
            ordered = torch.cat(chunks)
            result = torch.empty_like(ordered)
            result[torch.tensor(order)] = ordered
        else:
            result = torch.empty(0, self.embedding_size)
        return result.numpy() if to_numpy else result

    def get_config_dict(self) -> dict[str, Any]:
        """What ``save`` writes to simtune.json (class paths of every component)."""
        return {
            "format": "simtune.SimilarityModel/1",
            # A list, not an object: the concatenation order must survive JSON key sorting.
            "encoders": [[name, class_path(enc)] for name, enc in self.encoders.items()],
            "head": class_path(self.head),
            "embedding_size": self.embedding_size,
        }

    def fingerprint(self) -> str:
        """A hex digest of the configuration and every weight: same digest, same embeddings."""
        if self._fingerprint is None:
            digest = hashlib.sha256(json.dumps(self.get_config_dict(), sort_keys=True).encode())
            for name, tensor in sorted(self.state_dict().items()):
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
            self._fingerprint = digest.hexdigest()[:32]
        return self._fingerprint

    def save(self, path: str | Path) -> None:
        """Write the servable to folder ``path`` atomically (a temporary folder, then a rename).

        Layout: simtune.json, encoders/<name>/, head/, and for a single transformer encoder
        with an empty head the sentence-transformers modules, so that
        ``SentenceTransformer(path)`` loads the same model.
        """
        path = Path(path)
        config = self.get_config_dict()  # fails early on classes from __main__
        self._fingerprint = None
        config["fingerprint"] = self.fingerprint()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            for name, encoder in self.encoders.items():
                encoder.save(tmp / "encoders" / name)
            self.head.save(tmp / "head")
            write_json(tmp / MODEL_CONFIG, config)
            write_sentence_transformers_modules(self, tmp)
            _replace_dir(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, path: str | Path) -> SimilarityModel:
        """Rebuild a servable saved by ``save``; weights are read from safetensors only."""
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"no servable at {path}: the folder does not exist")
        config = read_json(path / MODEL_CONFIG)
        for key in ("encoders", "head"):
            if key not in config:
                raise ValueError(f"{path / MODEL_CONFIG}: missing field '{key}'")
        where = path / MODEL_CONFIG
        encoders = {
            name: import_class(ref, Encoder, where).load(path / "encoders" / name) for name, ref in config["encoders"]
        }
        head = import_class(config["head"], EncoderHead, where).load(path / "head")
        model = cls(encoders, head)
        model._fingerprint = config.get("fingerprint")
        return model.eval()


def _to_device(features: Any, device: torch.device) -> Any:
    if isinstance(features, Tensor):
        return features.to(device)
    if isinstance(features, Mapping):
        return {key: _to_device(value, device) for key, value in features.items()}
    return features


def _replace_dir(src: Path, dst: Path) -> None:
    """Move folder ``src`` to ``dst``, replacing an existing ``dst`` with one rename in the common case."""
    fsync_dir(src)
    if dst.exists():
        old = dst.parent / f".{dst.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)
    fsync_dir(dst.parent)
