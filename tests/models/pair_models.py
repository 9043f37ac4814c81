"""Trainable models used by the tests (importable, so DDP workers and saves can find them)."""

from __future__ import annotations

from simtune.encoders import LoraEncoder, TransformerEncoder
from simtune.losses import ClampedCosineLoss
from simtune.trainable import TrainableModel


class LoraPairModel(TrainableModel):
    """A LoRA encoder trained with the clamped-cosine loss."""

    def __init__(self, model_path: str, lr: float = 1e-3, r: int = 8) -> None:
        self.model_path = model_path
        self.r = r
        self.lr = lr
        super().__init__()

    def configure_encoders(self):
        return LoraEncoder(TransformerEncoder(self.model_path), r=self.r, alpha=16, dropout=0.0)

    def configure_loss(self):
        return ClampedCosineLoss()


PAIRS = [
    ("how much does aws lambda cost", "aws lambda pricing is per request and per gb-second", 1.0),
    ("where is my s3 bucket stored", "s3 buckets live in the region you choose", 1.0),
    ("can i resize a compute instance", "stop the instance and change its machine type", 1.0),
    ("what is cloud storage", "object storage for any amount of data", 1.0),
    ("red running shoes for women", "women's red running shoe size 8", 1.0),
    ("usb c charger for laptop", "65w usb-c laptop charger", 1.0),
    ("deep learning book", "deep learning by goodfellow, bengio and courville", 1.0),
    ("coffee mug", "ceramic coffee mug 12 oz", 1.0),
    ("kids toy car", "remote control toy car for kids", 1.0),
    ("black phone case", "black silicone phone case", 1.0),
    ("how much does aws lambda cost", "ceramic coffee mug 12 oz", 0.0),
    ("red running shoes for women", "65w usb-c laptop charger", 0.0),
    ("deep learning book", "black silicone phone case", 0.0),
    ("coffee mug", "s3 buckets live in the region you choose", 0.0),
    ("kids toy car", "aws lambda pricing is per request and per gb-second", 0.0),
    ("usb c charger for laptop", "women's red running shoe size 8", 0.0),
    ("what is cloud storage", "remote control toy car for kids", 0.0),
    ("black phone case", "deep learning by goodfellow, bengio and courville", 0.0),
    ("can i resize a compute instance", "ceramic coffee mug 12 oz", 0.0),
    ("where is my s3 bucket stored", "remote control toy car for kids", 0.0),
    ("water bottle for kids", "insulated kids water bottle, blue", 1.0),
    ("kitchen knife set", "8 piece kitchen knife set with block", 1.0),
    ("men's rain jacket large", "men's waterproof rain jacket, size l", 1.0),
    ("water bottle for kids", "8 piece kitchen knife set with block", 0.0),
    ("kitchen knife set", "men's waterproof rain jacket, size l", 0.0),
    ("men's rain jacket large", "insulated kids water bottle, blue", 0.0),
    ("azure vm backup", "azure backup protects virtual machines", 1.0),
    ("gcp network zone", "a zone is a deployment area within a region", 1.0),
    ("azure vm backup", "remote control toy car for kids", 0.0),
    ("gcp network zone", "ceramic coffee mug 12 oz", 0.0),
]
