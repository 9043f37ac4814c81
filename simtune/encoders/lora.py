"""``LoraEncoder``: LoRA adapters (peft) on a frozen ``TransformerEncoder``."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import Tensor

from simtune.components import read_json, write_json
from simtune.encoders.base import Encoder
from simtune.encoders.transformer import ENCODER_CONFIG, TextCollator, TransformerEncoder


class LoraEncoder(Encoder):
    """A ``TransformerEncoder`` whose attention projections get trainable LoRA adapters.

    The base weights stay frozen (bit-identical after training); only the adapter tensors
    require gradients. ``save`` writes the adapters alone in peft's format, naming the base
    model; ``merged()`` folds them into a plain ``TransformerEncoder`` for serving.

    Args:
        base: The encoder to adapt. It is taken over (its transformer is wrapped in place).
        r: Adapter rank.
        alpha: LoRA scaling numerator (the update is scaled by alpha / r).
        dropout: Dropout on the adapter input.
        target_modules: Names of the linear layers to adapt (BERT: query, key, value, dense).
        bias: "none", "all" or "lora_only", as in peft.
    """

    def __init__(
        self,
        base: TransformerEncoder,
        r: int = 8,
        alpha: int = 16,
        dropout: float = 0.1,
        target_modules: Sequence[str] = ("query", "key", "value"),
        bias: str = "none",
    ) -> None:
        super().__init__()
        from peft import LoraConfig, get_peft_model

        if r <= 0:
            raise ValueError(f"LoRA rank r must be positive, got {r}")
        config = LoraConfig(
            r=r,
            lora_alpha=alpha,
            lora_dropout=dropout,
            target_modules=list(target_modules),
            bias=bias,
        )
        self.lora_config = dict(r=r, alpha=alpha, dropout=dropout, target_modules=list(target_modules), bias=bias)
        base.model = get_peft_model(base.model, config)
        # peft records the local folder; users and the adapter's model card want the hub id.
        base.model.peft_config["default"].base_model_name_or_path = base.model_name_or_path
        # peft has frozen the base and unfrozen the adapters; the wrapper must now train (dropout on).
        base._trainable = True
        base.train()
        self.base = base

    @property
    def trainable(self) -> bool:
        return True

    @property
    def embedding_size(self) -> int:
        return self.base.embedding_size

    def get_collate_fn(self) -> TextCollator:
        return self.base.get_collate_fn()

    def forward(self, features: dict[str, Tensor]) -> Tensor:
        """Tokenized batch -> (n, hidden) embeddings through base plus adapters."""
        return self.base(features)

    def merged(self) -> TransformerEncoder:
        """A plain ``TransformerEncoder`` with the adapters folded into its weights.

        This encoder is left as it was (a copy is merged), so training can go on.
        """
        clone = copy.deepcopy(self.base)
        clone.model = clone.model.merge_and_unload()
        clone._trainable = False
        clone._apply_trainable()
        return clone

    def get_config_dict(self) -> dict[str, Any]:
        config = self.base.get_config_dict()
        config.pop("trainable")
        return {"encoder": config, "lora": self.lora_config}

    def save(self, path: str | Path) -> None:
        """Write the adapters (peft's adapter_config.json + adapter_model.safetensors) and the
        encoder config; the base model is named, not copied."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.base.model.save_pretrained(path, safe_serialization=True)
        write_json(path / ENCODER_CONFIG, self.get_config_dict())

    @classmethod
    def load(cls, path: str | Path, base: TransformerEncoder | None = None) -> LoraEncoder:
        """Rebuild from adapters saved by ``save``, on ``base`` or on the base model they name."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        path = Path(path)
        config = read_json(path / ENCODER_CONFIG)
        weights = path / "adapter_model.safetensors"
        if not weights.is_file():
            raise FileNotFoundError(f"missing adapter weights {weights}")
        if base is None:
            base = TransformerEncoder(**config["encoder"], trainable=False)
        encoder = cls(base, **config["lora"])
        try:
            state = load_file(str(weights))
        except Exception as err:
            raise ValueError(f"corrupted adapter weights {weights}: {err}") from err
        result = set_peft_model_state_dict(encoder.base.model, state)
        missing = [k for k in getattr(result, "unexpected_keys", [])]
        if missing:
            raise ValueError(f"{weights}: adapter tensors {missing[:3]} do not fit the base model")
        return encoder
