"""The ``Encoder`` base class: turns a batch of raw objects into embeddings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from simtune.components import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    load_tensors,
    read_json,
    save_tensors,
    write_json,
)


class Encoder(nn.Module):
    """Base class of encoders.

    A subclass sets ``config_keys`` (the constructor arguments that rebuild it) and implements
    ``embedding_size``, ``trainable``, ``get_collate_fn`` and ``forward``. The default ``save``
    and ``load`` write ``config.json`` and ``model.safetensors``.
    """

    config_keys: tuple[str, ...] = ()

    @property
    def trainable(self) -> bool:
        """Whether any of the encoder's weights learn."""
        raise NotImplementedError

    @property
    def embedding_size(self) -> int:
        """Size of the vectors ``forward`` returns."""
        raise NotImplementedError

    def get_collate_fn(self) -> Callable[[list[Any]], dict[str, Tensor]]:
        """A picklable function from a list of raw objects to this encoder's input tensors."""
        raise NotImplementedError

    def forward(self, features: dict[str, Tensor]) -> Tensor:
        """Input tensors of a batch of ``n`` objects -> embeddings (n, embedding_size)."""
        raise NotImplementedError

    def get_config_dict(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this encoder."""
        return {key: getattr(self, key) for key in self.config_keys}

    def save(self, path: str | Path) -> None:
        """Write the config and weights into the folder ``path`` (created if missing)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_json(path / CONFIG_NAME, self.get_config_dict())
        save_tensors(self.state_dict(), path / WEIGHTS_NAME)

    @classmethod
    def load(cls, path: str | Path) -> Encoder:
        """Rebuild an encoder saved by ``save``."""
        path = Path(path)
        encoder = cls(**read_json(path / CONFIG_NAME))
        encoder.load_state_dict(load_tensors(path / WEIGHTS_NAME))
        return encoder
