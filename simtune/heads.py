"""Heads: small trainable layers on top of the encoders' concatenated embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from simtune.components import CONFIG_NAME, WEIGHTS_NAME, load_tensors, read_json, save_tensors, write_json


class EncoderHead(nn.Module):
    """Base class of heads: (n, input_embedding_size) -> (n, output_size).

    Args:
        input_embedding_size: Size of the encoders' concatenated output.
        dropout: Dropout applied to the head's input while training.
    """

    config_keys: tuple[str, ...] = ("input_embedding_size", "dropout")

    def __init__(self, input_embedding_size: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.input_embedding_size = int(input_embedding_size)
        self.dropout = float(dropout)
        self._dropout = nn.Dropout(self.dropout) if self.dropout > 0 else nn.Identity()

    @property
    def output_size(self) -> int:
        """Size of the head's output vectors."""
        raise NotImplementedError

    def transform(self, x: Tensor) -> Tensor:
        """(n, input_embedding_size) -> (n, output_size), after dropout."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return self.transform(self._dropout(x))

    def get_config_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.config_keys}

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_json(path / CONFIG_NAME, self.get_config_dict())
        save_tensors(self.state_dict(), path / WEIGHTS_NAME)

    @classmethod
    def load(cls, path: str | Path) -> EncoderHead:
        path = Path(path)
        head = cls(**read_json(path / CONFIG_NAME))
        state = load_tensors(path / WEIGHTS_NAME)
        try:
            head.load_state_dict(state)
        except RuntimeError as err:
            raise ValueError(f"{path / WEIGHTS_NAME} does not fit {cls.__name__}: {err}") from err
        return head


class EmptyHead(EncoderHead):
    """The identity: serving uses the encoders' embeddings as they are."""

    config_keys = ("input_embedding_size",)

    def __init__(self, input_embedding_size: int) -> None:
        super().__init__(input_embedding_size, dropout=0.0)

    @property
    def output_size(self) -> int:
        return self.input_embedding_size

    def transform(self, x: Tensor) -> Tensor:
        return x


class LinearHead(EncoderHead):
    """A linear layer: (n, input) -> (n, output_size)."""

    config_keys = ("input_embedding_size", "output_size", "dropout")

    def __init__(self, input_embedding_size: int, output_size: int, dropout: float = 0.0) -> None:
        super().__init__(input_embedding_size, dropout)
        self._output_size = int(output_size)
        self.fc = nn.Linear(self.input_embedding_size, self._output_size)

    @property
    def output_size(self) -> int:
        return self._output_size

    def transform(self, x: Tensor) -> Tensor:
        return self.fc(x)


class SkipConnectionHead(EncoderHead):
    """A gated residual layer: ``x + sigmoid(gates) * fc(x)``, shape-preserving.

    ``fc`` starts at zero, so before training the head is exactly the identity and a
    pre-trained encoder keeps its quality from the first step on.
    """

    def __init__(self, input_embedding_size: int, dropout: float = 0.0) -> None:
        super().__init__(input_embedding_size, dropout)
        self.gates = nn.Parameter(torch.zeros(self.input_embedding_size))
        self.fc = nn.Linear(self.input_embedding_size, self.input_embedding_size)
        nn.init.zeros_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    @property
    def output_size(self) -> int:
        return self.input_embedding_size

    def transform(self, x: Tensor) -> Tensor:
        return x + torch.sigmoid(self.gates) * self.fc(x)

    def forward(self, x: Tensor) -> Tensor:
        # Dropout only on the learned branch: the skip path carries the encoder's vector intact.
        return x + torch.sigmoid(self.gates) * self.fc(self._dropout(x))
