"""Writes the sentence-transformers module files so a servable folder also loads in
``SentenceTransformer(path)``, when the model is one transformer encoder with an empty head."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from simtune.components import write_json

if TYPE_CHECKING:
    from simtune.model import SimilarityModel


def write_sentence_transformers_modules(model: SimilarityModel, root: Path) -> bool:
    """Write modules.json (Transformer, Pooling, optional Normalize) under ``root``.

    Returns:
        Whether the folder is a sentence-transformers model (False for heads or several encoders).
    """
    from simtune.encoders.transformer import TransformerEncoder
    from simtune.heads import EmptyHead

    if len(model.encoders) != 1 or not isinstance(model.head, EmptyHead):
        return False
    ((name, encoder),) = model.encoders.items()
    if type(encoder) is not TransformerEncoder:
        return False
    modules = [
        {"idx": 0, "name": "0", "path": f"encoders/{name}", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "st_pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (root / "st_pooling").mkdir(parents=True, exist_ok=True)
    write_json(
        root / "st_pooling" / "config.json",
        {
            "word_embedding_dimension": encoder.embedding_size,
            "pooling_mode_cls_token": encoder.pooling == "cls",
            "pooling_mode_mean_tokens": encoder.pooling == "mean",
            "pooling_mode_max_tokens": encoder.pooling == "max",
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    if encoder.normalize:
        modules.append(
            {"idx": 2, "name": "2", "path": "st_normalize", "type": "sentence_transformers.models.Normalize"}
        )
        (root / "st_normalize").mkdir(exist_ok=True)
    (root / "modules.json").write_text(json.dumps(modules, indent=2) + "\n")
    st_config: dict = {"similarity_fn_name": "cosine"}
    if encoder.prefix:
        st_config["prompts"] = {"default": encoder.prefix}
        st_config["default_prompt_name"] = "default"
    write_json(root / "config_sentence_transformers.json", st_config)
    return True
