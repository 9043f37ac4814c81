"""Encoders: raw objects in, embeddings out."""

from simtune.encoders.base import Encoder
from simtune.encoders.lora import LoraEncoder
from simtune.encoders.resolve import DEFAULT_MODEL, resolve_model_path
from simtune.encoders.transformer import TextCollator, TransformerEncoder

__all__ = ["DEFAULT_MODEL", "Encoder", "LoraEncoder", "TextCollator", "TransformerEncoder", "resolve_model_path"]
