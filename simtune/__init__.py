"""simtune: similarity learning in Quaterion's vocabulary on PyTorch 2 and Lightning 2.

The servable side (``SimilarityModel``, encoders, heads) is importable without Lightning;
``TrainableModel`` lives in ``simtune.trainable`` and imports Lightning there.
"""

from simtune.cache import CacheConfig
from simtune.distances import Distance
from simtune.encoders import DEFAULT_MODEL, Encoder, LoraEncoder, TransformerEncoder
from simtune.fit import Quaterion, fit
from simtune.heads import EmptyHead, EncoderHead, LinearHead, SkipConnectionHead
from simtune.model import SimilarityModel
from simtune.samples import SimilarityGroupSample, SimilarityPairSample

__all__ = [
    "CacheConfig",
    "Quaterion",
    "fit",
    "DEFAULT_MODEL",
    "Distance",
    "EmptyHead",
    "Encoder",
    "EncoderHead",
    "LinearHead",
    "LoraEncoder",
    "SimilarityGroupSample",
    "SimilarityModel",
    "SimilarityPairSample",
    "SkipConnectionHead",
    "TransformerEncoder",
]
__version__ = "0.1.0"
